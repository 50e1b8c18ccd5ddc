"""Training-side benchmarks: target generation and the AE loss, ours vs MMPose 1.3.2's implementations, measured in
the same run (see :mod:`swahr_mmpose.benchmark.training`).

Usage: python tools/benchmark_training.py [--threads N] [--device cpu]
"""
import os

# Before torch loads OpenMP: waiting threads sleep instead of spinning (on a shared CPU spinning made training steps
# 4-8x slower, docs/cpu_threads.md); a value set by the user is kept.
os.environ.setdefault('OMP_WAIT_POLICY', 'PASSIVE')

import argparse  # noqa: E402
import sys  # noqa: E402
from typing import List, Optional  # noqa: E402

import torch  # noqa: E402

from swahr_mmpose.benchmark.training import benchmark_ae_loss, benchmark_targets  # noqa: E402


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--threads', type=int, default=None, help='torch CPU threads (default: torch default)')
    parser.add_argument('--device', default='cpu', help='device of the AE-loss tensors')
    args = parser.parse_args(argv)
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    targets = benchmark_targets()
    ae = benchmark_ae_loss(device=args.device)
    rows = [
        ('target generation (20 people, 17 joints, 128 + 256 maps)', targets),
        (f"AE loss fwd+bwd ({ae['batch_size']} imgs x {ae['num_people']} people, {ae['device']})", ae),
    ]
    print(f"{'benchmark':62s} {'MMPose 1.3.2':>13s} {'ours':>10s} {'speed-up':>9s}")
    for name, r in rows:
        print(f"{name:62s} {r['mmpose_s'] * 1e3:10.2f} ms {r['ours_s'] * 1e3:7.2f} ms {r['speedup']:8.1f}x")
    return 0


if __name__ == '__main__':
    sys.exit(main())
