"""Run a SWAHR / HigherHRNet model on an image or a folder of images.

Backends:

* ``pytorch`` (default): MMPose's own ``MMPoseInferencer(pose2d=CONFIG, pose2d_weights=CHECKPOINT)``;
* ``onnxruntime``: ``CHECKPOINT`` is an ``.onnx`` file from ``tools/deploy/export_onnx.py``, run by
  ``swahr_mmpose.deploy.ONNXRuntimePoseEstimator`` (test resize, ONNX Runtime, our decoder, projection to image
  px; no MMEngine runner); the config only provides the visualizer and the dataset meta for drawing.

Writes, per image, ``OUT_DIR/visualizations/<image name>`` (skeletons drawn by the config's
``PoseLocalVisualizer``) and ``OUT_DIR/predictions/<stem>.json``: ``{"image": path, "instances": [{"keypoints":
[[x, y], ...] (original-image px), "keypoint_scores": [...], "score": person score}, ...]}``.

An image that cannot be read or processed is reported (file name and reason) and skipped; the demo goes on with
the others and exits with code 1 if any image failed.

Usage:
    python tools/demo.py CONFIG CHECKPOINT INPUT [--out-dir DIR] [--device cuda:0] [--backend pytorch]
        [--kpt-thr 0.3] [--aug-scales 0.5 2.0] [--cfg-options k=v ...]

``--aug-scales`` switches a single-scale config (with ``ReferenceBottomupResize``
in its test pipeline) to multi-scale test at [1.0, *aug_scales] (PyTorch backend only). A config
``visualizer`` of type ``PoseLocalVisualizer`` is replaced by
``NumpyCompatPoseLocalVisualizer`` (MMPose 1.3.2's cannot draw under NumPy 2.4).
"""
import argparse
import os
import os.path as osp
import sys
from typing import Dict, List, NamedTuple, Optional, Sequence, Tuple

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

import cv2  # noqa: E402
import mmengine  # noqa: E402
import numpy as np  # noqa: E402
from mmengine.config import Config, DictAction  # noqa: E402

IMAGE_SUFFIXES = ('.jpg', '.jpeg', '.png', '.bmp', '.tif', '.tiff', '.webp')


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Bottom-up pose estimation demo (MMPoseInferencer or ONNX Runtime).')
    parser.add_argument('config', help='model config file')
    parser.add_argument('checkpoint', help='checkpoint file (.pth), or the .onnx file with --backend onnxruntime')
    parser.add_argument('input', help='an image file or a folder of images')
    parser.add_argument(
        '--out-dir', default='demo_out', help='output folder')
    parser.add_argument(
        '--device', default=None,
        help='e.g. cpu or cuda:0; default: CUDA if available')
    parser.add_argument(
        '--backend', choices=('pytorch', 'onnxruntime'), default='pytorch',
        help='pytorch: MMPoseInferencer; onnxruntime: CHECKPOINT is an exported .onnx model')
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


class DemoReport(NamedTuple):
    """What a demo run did: the JSON files written and the images that failed, as (path, reason)."""
    written: List[str]
    failed: List[Tuple[str, str]]


def read_image(path: str) -> np.ndarray:
    """The (H, W, 3) BGR image at ``path``; ``OSError`` / ``ValueError`` saying why it cannot be read."""
    with open(path, 'rb') as f:  # OSError: missing, a folder, no permission
        data = f.read()
    img = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR) if data else None
    if img is None:
        raise ValueError(f'not a decodable image ({len(data)} bytes; OpenCV cannot read it)')
    return img


def build_config(args: argparse.Namespace) -> Config:
    cfg = Config.fromfile(args.config)
    cfg.merge_from_dict(args.cfg_options)
    if args.aug_scales:
        if args.backend != 'pytorch':
            raise ValueError('--aug-scales (multi-scale test) needs --backend pytorch; the exported model is '
                             'single-scale')
        enable_multiscale_test(cfg, args.aug_scales)
    # MMPose 1.3.2's PoseLocalVisualizer cannot draw keypoints under
    # NumPy >= 2.4 (see NumpyCompatPoseLocalVisualizer).
    if cfg.get('visualizer', {}).get('type') == 'PoseLocalVisualizer':
        cfg.visualizer.type = 'NumpyCompatPoseLocalVisualizer'
    return cfg


class PyTorchBackend:
    """MMPoseInferencer: draws into ``vis_dir`` itself; returns the PoseDataSample."""

    def __init__(self, cfg: Config, args: argparse.Namespace, vis_dir: str) -> None:
        from mmpose.apis import MMPoseInferencer

        from swahr_mmpose.utils.checkpoint_match import check_checkpoint_file

        self.inferencer = MMPoseInferencer(pose2d=cfg, pose2d_weights=args.checkpoint, device=args.device)
        # MMEngine loaded it with strict=False: a checkpoint of another model must fail, not draw noise
        check_checkpoint_file(self.inferencer.inferencer.model, args.checkpoint)
        self.args, self.vis_dir = args, vis_dir

    def __call__(self, image_path: str, img: np.ndarray):
        results = list(self.inferencer(
            image_path, return_datasamples=True, vis_out_dir=self.vis_dir, kpt_thr=self.args.kpt_thr,
            radius=self.args.radius, thickness=self.args.thickness))
        (sample, ) = results[0]['predictions']
        return sample


class ONNXRuntimeBackend:
    """``ONNXRuntimePoseEstimator`` + the config's visualizer; returns a PoseDataSample as the PyTorch backend."""

    def __init__(self, cfg: Config, args: argparse.Namespace, vis_dir: str) -> None:
        import time

        from mmpose.apis.inference import dataset_meta_from_config
        from mmpose.registry import VISUALIZERS

        from swahr_mmpose.deploy.onnx_runtime import ONNXRuntimePoseEstimator, providers_for_device

        providers = providers_for_device(args.device or 'auto')
        self.estimator = ONNXRuntimePoseEstimator(args.checkpoint, providers=providers)
        self.visualizer = VISUALIZERS.build(dict(cfg.visualizer, name=f'swahr_demo_{time.time()}'))
        meta = dataset_meta_from_config(cfg, dataset_mode='train') or self.estimator.dataset_meta
        self.visualizer.set_dataset_meta(meta)
        self.visualizer.radius, self.visualizer.line_width = args.radius, args.thickness
        self.args, self.vis_dir = args, vis_dir

    def __call__(self, image_path: str, img: np.ndarray):
        from swahr_mmpose.deploy.onnx_runtime import to_pose_data_sample

        sample = to_pose_data_sample(self.estimator(img), img.shape[:2], image_path)
        mmengine.mkdir_or_exist(self.vis_dir)
        self.visualizer.add_datasample(
            osp.basename(image_path), img[..., ::-1].copy(), sample, draw_gt=False, draw_bbox=False,
            kpt_thr=self.args.kpt_thr, show=False, out_file=osp.join(self.vis_dir, osp.basename(image_path)))
        return sample


def run_demo(args: argparse.Namespace) -> DemoReport:
    """Run the demo on every image of ``args.input``; failures are collected, not raised."""
    import swahr_mmpose  # noqa: F401  (registers our components)
    import swahr_mmpose.visualization  # noqa: F401  (the visualizer fix)

    cfg = build_config(args)
    images = list_images(args.input)
    vis_dir = osp.join(args.out_dir, 'visualizations')
    pred_dir = osp.join(args.out_dir, 'predictions')
    mmengine.mkdir_or_exist(pred_dir)
    backend = (ONNXRuntimeBackend if args.backend == 'onnxruntime' else PyTorchBackend)(cfg, args, vis_dir)
    written, failed = [], []
    for image_path in images:
        try:
            sample = backend(image_path, read_image(image_path))
        except Exception as err:  # report, skip, go on with the other images
            reason = f'{type(err).__name__}: {err}'
            failed.append((image_path, reason))
            print(f'{image_path}: FAILED, skipped ({reason})', file=sys.stderr)
            continue
        stem = osp.splitext(osp.basename(image_path))[0]
        out_file = osp.join(pred_dir, f'{stem}.json')
        mmengine.dump(sample_to_json(sample, image_path), out_file, indent=2)
        written.append(out_file)
        print(f'{image_path}: {len(sample.pred_instances)} people -> '
              f'{out_file}, {osp.join(vis_dir, osp.basename(image_path))}')
    if failed:
        print(f'{len(failed)} of {len(images)} images failed: {", ".join(osp.basename(p) for p, _ in failed)}',
              file=sys.stderr)
    return DemoReport(written, failed)


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run the demo; exit code 1 if any image failed."""
    report = run_demo(parse_args(argv))
    return 1 if report.failed else 0


if __name__ == '__main__':
    sys.exit(main())
