"""Export a SWAHR / HigherHRNet model to ONNX with dynamic height and width (logic in
:mod:`swahr_mmpose.deploy.onnx_export`), check it with ``onnx.checker`` and optionally compare its poses with
PyTorch's.

Usage::

    python tools/deploy/export_onnx.py CONFIG CHECKPOINT --out model.onnx [--flip-test] [--opset 17] [--raw]
        [--device cpu] [--verify N] [--verify-images DIR] [--cfg-options k=v ...]

The graph takes the ``ReferenceBottomupResize`` canvas as (B, 3, H, W) float32 BGR 0..255 and returns decoder-ready
``heatmaps`` (B, K, H, W) and ``tags`` (B, L*K, H, W) on that canvas (``--flip-test`` puts the flipped pass inside);
run it with ``swahr_mmpose.deploy.ONNXRuntimePoseEstimator`` or ``tools/demo.py --backend onnxruntime``.
``--verify N`` runs PyTorch (``inference_bottomup``) and ONNX Runtime on N synthetic images (``--verify-images``:
on the images of a folder) and prints how many give the same people; the exit code is 1 when fewer than
``--min-agreement`` of them do.
"""
import argparse
import os
import os.path as osp
import sys
from typing import List, Optional, Sequence, Tuple

import numpy as np
from mmengine.config import DictAction

from swahr_mmpose.deploy.onnx_export import DEFAULT_OPSET, export_onnx, format_export_report

IMAGE_SUFFIXES = ('.jpg', '.jpeg', '.png', '.bmp')


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Export a SWAHR / HigherHRNet model to ONNX (dynamic H and W).')
    parser.add_argument('config', help='model config file')
    parser.add_argument('checkpoint', help='MMPose checkpoint (e.g. from tools/convert_swahr_checkpoint.py)')
    parser.add_argument('--out', required=True, help='output .onnx file')
    parser.add_argument('--flip-test', action='store_true', help='put the flipped pass into the graph')
    parser.add_argument('--opset', type=int, default=DEFAULT_OPSET, help=f'ONNX opset (default {DEFAULT_OPSET})')
    parser.add_argument(
        '--raw',
        action='store_true',
        help="export the head's raw outputs (1/4 and 1/2 res) instead of decoder-ready maps")
    parser.add_argument('--device', default='cpu', help='device to trace on (cpu, cuda:0, ...)')
    parser.add_argument(
        '--verify', type=int, default=0, metavar='N', help='compare with PyTorch on N synthetic '
        'images')
    parser.add_argument('--verify-images', help='compare with PyTorch on the images of this folder')
    parser.add_argument(
        '--image-size',
        type=int,
        nargs=2,
        default=(640, 480),
        metavar=('W', 'H'),
        help='size of the synthetic --verify images')
    parser.add_argument(
        '--min-agreement',
        type=float,
        default=0.9,
        help='least fraction of verified images that must agree (exit code 1 otherwise)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, default={}, help='override config entries')
    return parser.parse_args(argv)


def verification_images(args: argparse.Namespace) -> Tuple[List[np.ndarray], List[str]]:
    import cv2

    from swahr_mmpose.testing.images import make_images

    images, names = [], []
    if args.verify_images:
        for name in sorted(os.listdir(args.verify_images)):
            if name.lower().endswith(IMAGE_SUFFIXES):
                img = cv2.imread(osp.join(args.verify_images, name), cv2.IMREAD_COLOR)
                if img is not None:
                    images.append(img)
                    names.append(name)
    if args.verify:
        images += make_images(args.verify, tuple(args.image_size), 'scene')
        names += [f'synthetic_{i}' for i in range(args.verify)]
    return images, names


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = parse_args(argv)
    from swahr_mmpose.utils.checkpoint_match import init_model_strict

    model = init_model_strict(args.config, args.checkpoint, device=args.device, cfg_options=args.cfg_options or None)
    info = export_onnx(
        model.cfg,
        None,
        args.out,
        flip_test=args.flip_test,
        opset=args.opset,
        outputs='raw' if args.raw else 'aggregated',
        device=args.device,
        model=model)
    print('\n'.join(format_export_report(info)))
    if not (args.verify or args.verify_images):
        return 0
    if args.raw:
        print('--verify needs the decoder-ready graph (no --raw)', file=sys.stderr)
        return 2
    from swahr_mmpose.deploy.compare import agreement_over_images, format_agreement
    from swahr_mmpose.deploy.onnx_runtime import ONNXRuntimePoseEstimator

    images, names = verification_images(args)
    model.test_cfg = dict(model.test_cfg, flip_test=args.flip_test)
    result = agreement_over_images(model, ONNXRuntimePoseEstimator(args.out), images, names=names)
    print(format_agreement(result))
    for row in result['rows']:
        if not row['agree']:
            print(f'  differs on {row["image"]}: people {row["people"]} (PyTorch, ONNX Runtime), largest keypoint '
                  f'difference {row["max_keypoint_diff"]:.3g} px, score difference {row["max_score_diff"]:.3g}')
    return 0 if result['rate'] >= args.min_agreement else 1


if __name__ == '__main__':
    sys.exit(main())
