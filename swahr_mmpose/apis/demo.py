"""Run a SWAHR / HigherHRNet model on images and save drawings and JSON (the logic of ``tools/demo.py``).

Backends:

* ``'pytorch'``: MMPose's own ``MMPoseInferencer(pose2d=config, pose2d_weights=checkpoint)``;
* ``'onnxruntime'``: ``checkpoint`` is an ``.onnx`` file from ``tools/deploy/export_onnx.py``, run by
  :class:`swahr_mmpose.deploy.ONNXRuntimePoseEstimator` (test resize, ONNX Runtime, our decoder, projection to image
  px; no MMEngine runner); the config only provides the visualizer and the dataset meta for drawing.

Writes, per image, ``out_dir/visualizations/<image name>`` (skeletons drawn by the config's ``PoseLocalVisualizer``)
and ``out_dir/predictions/<stem>.json``: ``{"image": path, "instances": [{"keypoints": [[x, y], ...]
(original-image px), "keypoint_scores": [...], "score": person score}, ...]}``. An image that cannot be read or
processed is reported (file name and reason) and skipped.
"""
import logging
import os
import os.path as osp
import sys
from contextlib import contextmanager
from typing import Dict, Iterator, List, NamedTuple, Optional, Sequence, Tuple

import cv2
import mmengine
import numpy as np
from mmengine.config import Config
from mmengine.logging import MMLogger

from swahr_mmpose.utils.checkpoint_match import check_checkpoint_file

IMAGE_SUFFIXES = ('.jpg', '.jpeg', '.png', '.bmp', '.tif', '.tiff', '.webp')
BACKENDS = ('pytorch', 'onnxruntime')


class DemoReport(NamedTuple):
    """What a demo run did: the JSON files written and the images that failed, as (path, reason)."""
    written: List[str]
    failed: List[Tuple[str, str]]


def enable_multiscale_test(cfg: Config, aug_scales: Sequence[float]) -> None:
    """Switch ``cfg`` (in place) to multi-scale test at [1.0, *aug_scales].

    Sets ``aug_scales`` of the test pipeline's ``ReferenceBottomupResize``, packs with ``PackMultiScalePoseInputs``
    and uses the estimator and preprocessor that accept an image pyramid.
    """
    pipeline = cfg.test_dataloader.dataset.pipeline
    resize = [t for t in pipeline if t['type'] == 'ReferenceBottomupResize']
    if len(resize) != 1:
        raise ValueError('multi-scale test (aug_scales) needs exactly one ReferenceBottomupResize in '
                         f'test_dataloader.dataset.pipeline, found {len(resize)}')
    resize[0]['aug_scales'] = list(aug_scales)
    for t in pipeline:
        if t['type'] == 'PackPoseInputs':
            t['type'] = 'PackMultiScalePoseInputs'
    cfg.model.type = 'MultiScaleBottomupPoseEstimator'
    cfg.model.data_preprocessor.type = 'MultiScalePoseDataPreprocessor'
    cfg.model.setdefault('test_cfg', {})['multiscale_test'] = True


def build_demo_config(config: str,
                      cfg_options: Optional[dict] = None,
                      aug_scales: Optional[Sequence[float]] = None,
                      backend: str = 'pytorch') -> Config:
    """The config to run: ``config`` with ``cfg_options`` merged, multi-scale test with ``aug_scales`` (PyTorch only),
    and MMPose 1.3.2's ``PoseLocalVisualizer`` replaced by ``NumpyCompatPoseLocalVisualizer`` (the original cannot
    draw keypoints under NumPy >= 2.4)."""
    if backend not in BACKENDS:
        raise ValueError(f'backend must be one of {BACKENDS}, got {backend!r}')
    cfg = Config.fromfile(config)
    cfg.merge_from_dict(cfg_options or {})
    if aug_scales:
        if backend != 'pytorch':
            raise ValueError('multi-scale test (--aug-scales) needs --backend pytorch; the exported model is '
                             'single-scale')
        enable_multiscale_test(cfg, aug_scales)
    if cfg.get('visualizer', {}).get('type') == 'PoseLocalVisualizer':
        cfg.visualizer.type = 'NumpyCompatPoseLocalVisualizer'
    return cfg


def list_images(path: str) -> List[str]:
    """One image file, or the images of a folder sorted by name."""
    if osp.isdir(path):
        images = sorted(osp.join(path, f) for f in os.listdir(path) if f.lower().endswith(IMAGE_SUFFIXES))
        if not images:
            raise FileNotFoundError(f'no images ({IMAGE_SUFFIXES}) in {path}')
        return images
    if not osp.isfile(path):
        raise FileNotFoundError(f'input not found: {path}')
    return [path]


def read_image(path: str) -> np.ndarray:
    """The (H, W, 3) BGR image at ``path``; ``OSError`` / ``ValueError`` saying why it cannot be read."""
    with open(path, 'rb') as f:  # OSError: missing, a folder, no permission
        data = f.read()
    img = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR) if data else None
    if img is None:
        raise ValueError(f'not a decodable image ({len(data)} bytes; OpenCV cannot read it)')
    return img


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
            for kpts, kpt_scores, score in zip(pred.keypoints, pred.keypoint_scores, scores)
        ])


def below_threshold_note(sample, kpt_thr: float) -> Optional[str]:
    """A line for the user when people were found but none of their keypoints will be drawn, else ``None``."""
    scores = np.asarray(sample.pred_instances.keypoint_scores) if len(sample.pred_instances) else np.zeros(0)
    if scores.size == 0 or (scores > kpt_thr).any():
        return None
    highest = float(scores.max())
    suggestion = np.floor(highest * 100) / 100
    suggestion = suggestion - 0.01 if suggestion >= highest else suggestion
    return (f'{len(sample.pred_instances)} people found, but no keypoint scores above --kpt-thr {kpt_thr:g} '
            f'(highest {highest:.3f}), so nothing is drawn; pass a lower --kpt-thr (e.g. {suggestion:.2f}) to draw '
            'them')


# mmengine's BaseInferencer looks the collate function up in its "function" registry under the "mmpose" scope; MMPose
# has no such registry, so mmengine warns and falls back to its own, which holds pseudo_collate, the right function.
COLLATE_SCOPE_WARNING = 'Failed to search registry with scope "mmpose" in the "function" registry tree'


class _DropMessages(logging.Filter):

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text

    def filter(self, record: logging.LogRecord) -> bool:
        return self.text not in record.getMessage()


@contextmanager
def without_collate_scope_warning() -> Iterator[None]:
    """Drop :data:`COLLATE_SCOPE_WARNING` (harmless, but users take it for an error) while the inferencer is built;
    every other message gets through."""
    logger = MMLogger.get_current_instance()
    drop = _DropMessages(COLLATE_SCOPE_WARNING)
    logger.addFilter(drop)
    try:
        yield
    finally:
        logger.removeFilter(drop)


class PyTorchBackend:
    """``MMPoseInferencer``: draws into ``vis_dir`` itself; returns the PoseDataSample."""

    def __init__(self, cfg: Config, checkpoint: str, device: Optional[str], vis_dir: str, draw: dict) -> None:
        from mmpose.apis import MMPoseInferencer

        with without_collate_scope_warning():
            self.inferencer = MMPoseInferencer(pose2d=cfg, pose2d_weights=checkpoint, device=device)
        if checkpoint:  # MMEngine loaded it with strict=False: a checkpoint of another model must fail, not draw noise
            check_checkpoint_file(self.inferencer.inferencer.model, checkpoint)
        self.vis_dir, self.draw = vis_dir, draw

    def __call__(self, image_path: str, img: np.ndarray):
        results = list(self.inferencer(image_path, return_datasamples=True, vis_out_dir=self.vis_dir, **self.draw))
        (sample, ) = results[0]['predictions']
        return sample


class ONNXRuntimeBackend:
    """``ONNXRuntimePoseEstimator`` + the config's visualizer; returns a PoseDataSample as the PyTorch backend."""

    def __init__(self, cfg: Config, checkpoint: str, device: Optional[str], vis_dir: str, draw: dict) -> None:
        import time

        from mmpose.apis.inference import dataset_meta_from_config
        from mmpose.registry import VISUALIZERS

        from swahr_mmpose.deploy.onnx_runtime import ONNXRuntimePoseEstimator, providers_for_device

        self.estimator = ONNXRuntimePoseEstimator(checkpoint, providers=providers_for_device(device or 'auto'))
        self.visualizer = VISUALIZERS.build(dict(cfg.visualizer, name=f'swahr_demo_{time.time()}'))
        meta = dataset_meta_from_config(cfg, dataset_mode='train') or self.estimator.dataset_meta
        self.visualizer.set_dataset_meta(meta)
        self.visualizer.radius, self.visualizer.line_width = draw['radius'], draw['thickness']
        self.vis_dir, self.kpt_thr = vis_dir, draw['kpt_thr']

    def __call__(self, image_path: str, img: np.ndarray):
        from swahr_mmpose.deploy.onnx_runtime import to_pose_data_sample

        sample = to_pose_data_sample(self.estimator(img), img.shape[:2], image_path)
        mmengine.mkdir_or_exist(self.vis_dir)
        self.visualizer.add_datasample(
            osp.basename(image_path),
            img[..., ::-1].copy(),
            sample,
            draw_gt=False,
            draw_bbox=False,
            kpt_thr=self.kpt_thr,
            show=False,
            out_file=osp.join(self.vis_dir, osp.basename(image_path)))
        return sample


def run_demo(config: str,
             checkpoint: str,
             inputs: str,
             out_dir: str = 'demo_out',
             device: Optional[str] = None,
             backend: str = 'pytorch',
             kpt_thr: float = 0.3,
             radius: int = 3,
             thickness: int = 1,
             aug_scales: Optional[Sequence[float]] = None,
             cfg_options: Optional[dict] = None) -> DemoReport:
    """Run the demo on every image of ``inputs`` (a file or a folder); failures are collected and reported, not
    raised. Progress goes to stdout, failures and notes to stderr.

    Args:
        config: model config file; checkpoint: ``.pth`` (or ``.onnx`` with ``backend='onnxruntime'``).
        device: e.g. ``'cpu'`` or ``'cuda:0'``; ``None``: CUDA if available.
        kpt_thr: draw keypoints whose score exceeds this; radius, thickness: drawing sizes (px).
        aug_scales: multi-scale test at [1.0, *aug_scales] (PyTorch backend only).
        cfg_options: config overrides (``--cfg-options``).
    """
    import swahr_mmpose  # noqa: F401  (registers our components and the visualizer fix)

    cfg = build_demo_config(config, cfg_options, aug_scales, backend)
    images = list_images(inputs)
    vis_dir, pred_dir = osp.join(out_dir, 'visualizations'), osp.join(out_dir, 'predictions')
    mmengine.mkdir_or_exist(pred_dir)
    draw = dict(kpt_thr=kpt_thr, radius=radius, thickness=thickness)
    runner = (ONNXRuntimeBackend if backend == 'onnxruntime' else PyTorchBackend)(cfg, checkpoint, device, vis_dir,
                                                                                  draw)
    written, failed = [], []
    for image_path in images:
        try:
            sample = runner(image_path, read_image(image_path))
        except Exception as err:  # report, skip, go on with the other images
            reason = f'{type(err).__name__}: {err}'
            failed.append((image_path, reason))
            print(f'{image_path}: FAILED, skipped ({reason})', file=sys.stderr)
            continue
        out_file = osp.join(pred_dir, f'{osp.splitext(osp.basename(image_path))[0]}.json')
        mmengine.dump(sample_to_json(sample, image_path), out_file, indent=2)
        written.append(out_file)
        print(f'{image_path}: {len(sample.pred_instances)} people -> {out_file}, '
              f'{osp.join(vis_dir, osp.basename(image_path))}')
        note = below_threshold_note(sample, kpt_thr)
        if note:
            print(f'{image_path}: {note}', file=sys.stderr)
    if failed:
        print(
            f'{len(failed)} of {len(images)} images failed: {", ".join(osp.basename(p) for p, _ in failed)}',
            file=sys.stderr)
    return DemoReport(written, failed)
