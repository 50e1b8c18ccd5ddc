"""Run a SWAHR / HigherHRNet model on an image or a folder of images.

Uses MMPose's own ``MMPoseInferencer(pose2d=CONFIG, pose2d_weights=CHECKPOINT)``
and writes, per image, ``OUT_DIR/visualizations/<image name>`` (skeletons drawn
by the config's ``PoseLocalVisualizer``) and ``OUT_DIR/predictions/<stem>.json``:
``{"image": path, "instances": [{"keypoints": [[x, y], ...] (original-image
px), "keypoint_scores": [...], "score": person score}, ...]}``.

Usage:
    python tools/demo.py CONFIG CHECKPOINT INPUT [--out-dir DIR] [--device cuda:0]
        [--kpt-thr 0.3] [--aug-scales 0.5 2.0] [--cfg-options k=v ...]

``--aug-scales`` switches a single-scale config (with ``ReferenceBottomupResize``
in its test pipeline) to multi-scale test at [1.0, *aug_scales]. A config
``visualizer`` of type ``PoseLocalVisualizer`` is replaced by
``NumpyCompatPoseLocalVisualizer`` (MMPose 1.3.2's cannot draw under NumPy 2.4).
"""
import argparse
import os
import os.path as osp
import sys
from typing import Dict, List, Optional, Sequence

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

import mmengine  # noqa: E402
from mmengine.config import Config, DictAction  # noqa: E402

IMAGE_SUFFIXES = ('.jpg', '.jpeg', '.png', '.bmp', '.tif', '.tiff', '.webp')


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Bottom-up pose estimation demo (MMPoseInferencer).')
    parser.add_argument('config', help='model config file')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('input', help='an image file or a folder of images')
    parser.add_argument(
        '--out-dir', default='demo_out', help='output folder')
    parser.add_argument(
        '--device', default=None,
        help='e.g. cpu or cuda:0; default: CUDA if available')
    parser.add_argument(
        '--kpt-thr', type=float, default=0.3,
        help='draw keypoints whose score exceeds this')
    parser.add_argument('--radius', type=int, default=3)
    parser.add_argument('--thickness', type=int, default=1)
    parser.add_argument(
        '--aug-scales', type=float, nargs='+', default=None,
        help='multi-scale test: extra scales besides 1.0 (e.g. 0.5 2.0)')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction, default={},
        help='override config entries, e.g. model.test_cfg.flip_test=False')
    return parser.parse_args(argv)


def enable_multiscale_test(cfg: Config, aug_scales: Sequence[float]) -> None:
    """Switch ``cfg`` (in place) to multi-scale test at [1.0, *aug_scales].

    Sets ``aug_scales`` of the test pipeline's ``ReferenceBottomupResize``,
    packs with ``PackMultiScalePoseInputs`` and uses the estimator and
    preprocessor that accept an image pyramid.
    """
    pipeline = cfg.test_dataloader.dataset.pipeline
    resize = [t for t in pipeline if t['type'] == 'ReferenceBottomupResize']
    if len(resize) != 1:
        raise ValueError(
            '--aug-scales needs exactly one ReferenceBottomupResize in '
            f'test_dataloader.dataset.pipeline, found {len(resize)}')
    resize[0]['aug_scales'] = list(aug_scales)
    for t in pipeline:
        if t['type'] == 'PackPoseInputs':
            t['type'] = 'PackMultiScalePoseInputs'
    cfg.model.type = 'MultiScaleBottomupPoseEstimator'
    cfg.model.data_preprocessor.type = 'MultiScalePoseDataPreprocessor'
    cfg.model.setdefault('test_cfg', {})['multiscale_test'] = True


def list_images(path: str) -> List[str]:
    """One image file, or the images of a folder sorted by name."""
    if osp.isdir(path):
        images = sorted(
            osp.join(path, f) for f in os.listdir(path)
            if f.lower().endswith(IMAGE_SUFFIXES))
        if not images:
            raise FileNotFoundError(f'no images ({IMAGE_SUFFIXES}) in {path}')
        return images
    if not osp.isfile(path):
        raise FileNotFoundError(f'input not found: {path}')
    return [path]


def sample_to_json(sample, image_path: str) -> Dict:
    """Keypoints (N, K, 2) in image px, their scores and the person scores."""
    pred = sample.pred_instances
    scores = pred.bbox_scores if 'bbox_scores' in pred else [None] * len(pred)
    return dict(
        image=image_path,
        instances=[
            dict(
                keypoints=kpts.tolist(),
                keypoint_scores=kpt_scores.tolist(),
                score=None if score is None else float(score))
            for kpts, kpt_scores, score in zip(pred.keypoints,
                                               pred.keypoint_scores, scores)
        ])


def main(argv: Optional[Sequence[str]] = None) -> List[str]:
    """Run the demo; returns the paths of the JSON files written."""
    args = parse_args(argv)
    from mmpose.apis import MMPoseInferencer

    import swahr_mmpose  # noqa: F401  (registers our components)
    import swahr_mmpose.visualization  # noqa: F401  (the visualizer fix)

    cfg = Config.fromfile(args.config)
    cfg.merge_from_dict(args.cfg_options)
    if args.aug_scales:
        enable_multiscale_test(cfg, args.aug_scales)
    # MMPose 1.3.2's PoseLocalVisualizer cannot draw keypoints under
    # NumPy >= 2.4 (see NumpyCompatPoseLocalVisualizer).
    if cfg.get('visualizer', {}).get('type') == 'PoseLocalVisualizer':
        cfg.visualizer.type = 'NumpyCompatPoseLocalVisualizer'
    inferencer = MMPoseInferencer(
        pose2d=cfg, pose2d_weights=args.checkpoint, device=args.device)

    images = list_images(args.input)
    vis_dir = osp.join(args.out_dir, 'visualizations')
    pred_dir = osp.join(args.out_dir, 'predictions')
    mmengine.mkdir_or_exist(pred_dir)
    written = []
    results = inferencer(
        images,
        return_datasamples=True,
        vis_out_dir=vis_dir,
        kpt_thr=args.kpt_thr,
        radius=args.radius,
        thickness=args.thickness)
    for image_path, result in zip(images, results):
        (sample, ) = result['predictions']
        stem = osp.splitext(osp.basename(image_path))[0]
        out_file = osp.join(pred_dir, f'{stem}.json')
        mmengine.dump(sample_to_json(sample, image_path), out_file, indent=2)
        written.append(out_file)
        print(f'{image_path}: {len(sample.pred_instances)} people -> '
              f'{out_file}, {osp.join(vis_dir, osp.basename(image_path))}')
    return written


if __name__ == '__main__':
    main()
