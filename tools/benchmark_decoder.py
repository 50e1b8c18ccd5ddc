"""Time AEDecoder against MMPose 1.3.2's AssociativeEmbedding decoder on the same maps (see
:mod:`swahr_mmpose.benchmark.decoder` for the workload).

    python tools/benchmark_decoder.py [--people 1 10 30] [--repeats 7] [--device cpu] [--min-speedup 8]

Exit code 1 when ours is less than ``--min-speedup`` times faster than MMPose's config (cap 30) on any workload.
"""
import os

# Before torch loads OpenMP: waiting threads sleep instead of spinning (on a shared CPU spinning made training steps
# 4-8x slower, docs/cpu_threads.md); a value set by the user is kept.
os.environ.setdefault('OMP_WAIT_POLICY', 'PASSIVE')

import argparse  # noqa: E402
import sys  # noqa: E402
from typing import Optional, Sequence  # noqa: E402

import torch  # noqa: E402

from swahr_mmpose.benchmark.decoder import format_decoder_benchmark, run_decoder_benchmark  # noqa: E402


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--people', type=int, nargs='+', default=[1, 10, 30])
    parser.add_argument('--canvas', type=int, default=512, help='side of the decoding canvas (input px)')
    parser.add_argument('--repeats', type=int, default=7)
    parser.add_argument('--mmpose-repeats', type=int, default=5)
    parser.add_argument('--warmup', type=int, default=1)
    parser.add_argument('--device', default='cpu', help='device of the maps (all decoders run there)')
    parser.add_argument('--threads', type=int, default=None, help='torch CPU threads (default: torch default)')
    parser.add_argument(
        '--clock',
        choices=('wall', 'cpu'),
        default='wall',
        help='wall time, or process CPU time (steadier on a shared machine)')
    parser.add_argument(
        '--min-speedup',
        type=float,
        default=8.0,
        help='required speed-up over MMPose as configured (decode_max_instances=30)')
    args = parser.parse_args(argv)
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    rows = run_decoder_benchmark(
        args.people, args.canvas, args.repeats, args.mmpose_repeats, args.warmup, args.device, clock=args.clock)
    print('\n'.join(
        format_decoder_benchmark(rows, args.canvas, args.device, args.clock, args.repeats, args.mmpose_repeats)))
    ok = all(r['speedup_vs_cap30'] >= args.min_speedup for r in rows)
    print(f"speed-up over MMPose (cap 30) >= {args.min_speedup:g}x on every workload: {'PASS' if ok else 'FAIL'}")
    return 0 if ok else 1


if __name__ == '__main__':
    sys.exit(main())
