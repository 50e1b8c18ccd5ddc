"""OpenMP wait policy x torch threads for a CPU training step, with and without competing CPU load, side by side in
one run (see :mod:`swahr_mmpose.benchmark.threads`).

Usage: python tools/benchmark_threads.py [--config configs/swahr_hrnet_w32_synthetic.py] [--burners 0 1] [--steps 8]
"""
import argparse
import os.path as osp
import sys
from typing import List, Optional

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

from swahr_mmpose.benchmark.threads import compare_thread_settings  # noqa: E402


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--config', default='configs/swahr_hrnet_w32_synthetic.py')
    parser.add_argument(
        '--burners',
        type=int,
        nargs='+',
        default=[0, 1],
        help='extra single-thread busy loops running during each pass')
    parser.add_argument('--steps', type=int, default=8, help='timed training steps per setting (median)')
    parser.add_argument('--rounds', type=int, default=1, help='repeats of every setting (median of medians)')
    parser.add_argument('--batch-size', type=int, default=None, help="default: the config's train batch size")
    args = parser.parse_args(argv)
    rows = compare_thread_settings(
        args.config, burners=args.burners, steps=args.steps, rounds=args.rounds, batch_size=args.batch_size)
    print(f"{'extra load':>12s} {'OMP_WAIT_POLICY':>16s} {'threads':>8s} {'s / step':>9s}")
    for row in rows:
        print(f"{row['burners']:>10d}x1 {row['wait_policy']:>16s} {row['threads']:>8d} {row['seconds']:9.3f}")
    for extra in sorted({row['burners'] for row in rows}):
        print(f"machine before the pass with {extra} burner(s): "
              f"{next(r['machine'] for r in rows if r['burners'] == extra)}")
    return 0


if __name__ == '__main__':
    sys.exit(main())
