"""Images/s of whole-image inference, PyTorch vs ONNX Runtime, with and without flip test, measured side by side in
one run (see :mod:`swahr_mmpose.benchmark.inference` for what is timed).

Usage::

    python tools/benchmark_inference.py CONFIG [--checkpoint CKPT] [--num-images 10] [--warmup 2]
        [--backends pytorch onnxruntime] [--flip both|on|off] [--device auto] [--image-size 640 480]
        [--images scene|noise] [--threads N] [--onnx-dir DIR] [--json OUT]

Example (the README's table): ``python tools/benchmark_inference.py configs/swahr_hrnet_w32_coco.py``.
"""
import os

# Before torch loads OpenMP: waiting threads sleep instead of spinning (on a shared CPU spinning made training steps
# 4-8x slower, docs/cpu_threads.md); a value set by the user is kept.
os.environ.setdefault('OMP_WAIT_POLICY', 'PASSIVE')

import argparse  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
from typing import Optional, Sequence  # noqa: E402

import torch  # noqa: E402

from swahr_mmpose.benchmark.inference import BACKENDS, format_inference_benchmark, run_inference_benchmark  # noqa: E402

FLIPS = dict(both=(False, True), on=(True, ), off=(False, ))


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Images/s of PyTorch vs ONNX Runtime inference, flip on / off.')
    parser.add_argument('config', help='model config file')
    parser.add_argument('--checkpoint', help='MMPose checkpoint (default: init_model weights)')
    parser.add_argument('--num-images', type=int, default=10, help='timed images per variant')
    parser.add_argument('--warmup', type=int, default=2, help='untimed images per variant first')
    parser.add_argument('--backends', nargs='+', choices=BACKENDS, default=list(BACKENDS))
    parser.add_argument('--flip', choices=sorted(FLIPS), default='both', help='flip test variants to time')
    parser.add_argument(
        '--device',
        default='auto',
        help="PyTorch device: 'auto' (cuda if available), 'cpu', "
        "'cuda:0', ...; ONNX Runtime uses CUDA on a CUDA device when its build has it")
    parser.add_argument(
        '--image-size',
        type=int,
        nargs=2,
        default=(640, 480),
        metavar=('W', 'H'),
        help='synthetic image size (default 640 480, i.e. a 704x512 canvas at input 512)')
    parser.add_argument('--images', choices=('scene', 'noise'), default='scene')
    parser.add_argument('--threads', type=int, help='torch and ONNX Runtime CPU threads (default: their choice)')
    parser.add_argument('--onnx-dir', help='keep the exported models here (default: a temporary folder)')
    parser.add_argument('--opset', type=int, default=17)
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--json', help='also write the result to this file')
    return parser.parse_args(argv)


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    result = run_inference_benchmark(args.config, args.checkpoint, args.num_images, args.warmup, args.device,
                                     tuple(args.image_size), args.images, args.backends, FLIPS[args.flip],
                                     args.onnx_dir, args.opset, args.threads, args.seed)
    print(format_inference_benchmark(result))
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(
                {
                    **result, 'agreement': {str(k): v
                                            for k, v in result['agreement'].items()},
                    'export_seconds': {str(k): v
                                       for k, v in result['export_seconds'].items()}
                },
                f,
                indent=2)
    return 0


if __name__ == '__main__':
    sys.exit(main())
