"""Run a SWAHR / HigherHRNet model on an image or a folder of images (logic in :mod:`swahr_mmpose.apis.demo`).

Backends: ``pytorch`` (default, MMPose's ``MMPoseInferencer``) or ``onnxruntime`` (CHECKPOINT is an ``.onnx`` file
from ``tools/deploy/export_onnx.py``; the config provides the visualizer and the dataset meta for drawing).

Writes, per image, ``OUT_DIR/visualizations/<image name>`` and ``OUT_DIR/predictions/<stem>.json`` (keypoints in
original-image px, keypoint scores, person score). An image that cannot be read is reported and skipped; the exit
code is 1 if any image failed.

Usage:
    python tools/demo.py CONFIG CHECKPOINT INPUT [--out-dir DIR] [--device cuda:0] [--backend pytorch]
        [--kpt-thr 0.3] [--aug-scales 0.5 2.0] [--cfg-options k=v ...]

``--aug-scales`` switches a single-scale config (with ``ReferenceBottomupResize`` in its test pipeline) to
multi-scale test at [1.0, *aug_scales] (PyTorch backend only).
"""
import argparse
import os.path as osp
import sys
from typing import Optional, Sequence

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

from mmengine.config import DictAction  # noqa: E402

from swahr_mmpose.apis.demo import BACKENDS, run_demo  # noqa: E402


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Bottom-up pose estimation demo (MMPoseInferencer or ONNX Runtime).')
    parser.add_argument('config', help='model config file')
    parser.add_argument('checkpoint', help='checkpoint file (.pth), or the .onnx file with --backend onnxruntime')
    parser.add_argument('input', help='an image file or a folder of images')
    parser.add_argument('--out-dir', default='demo_out', help='output folder')
    parser.add_argument('--device', default=None, help='e.g. cpu or cuda:0; default: CUDA if available')
    parser.add_argument(
        '--backend',
        choices=BACKENDS,
        default='pytorch',
        help='pytorch: MMPoseInferencer; onnxruntime: CHECKPOINT is an exported .onnx model')
    parser.add_argument('--kpt-thr', type=float, default=0.3, help='draw keypoints whose score exceeds this')
    parser.add_argument('--radius', type=int, default=3)
    parser.add_argument('--thickness', type=int, default=1)
    parser.add_argument(
        '--aug-scales',
        type=float,
        nargs='+',
        default=None,
        help='multi-scale test: extra scales besides 1.0 (e.g. 0.5 2.0)')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        default={},
        help='override config entries, e.g. model.test_cfg.flip_test=False')
    return parser.parse_args(argv)


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run the demo; exit code 1 if any image failed."""
    args = parse_args(argv)
    report = run_demo(
        args.config,
        args.checkpoint,
        args.input,
        out_dir=args.out_dir,
        device=args.device,
        backend=args.backend,
        kpt_thr=args.kpt_thr,
        radius=args.radius,
        thickness=args.thickness,
        aug_scales=args.aug_scales,
        cfg_options=args.cfg_options)
    return 1 if report.failed else 0


if __name__ == '__main__':
    sys.exit(main())
