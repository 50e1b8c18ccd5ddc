"""Training-side benchmarks: target generation and the AE loss vs naive loops.

Runs ``tools/benchmark_targets.py`` (vectorised ``ScaleAdaptiveGenerateTarget``
vs a per-person, per-joint Python loop, 20 people at two levels) and
``tools/benchmark_ae_loss.py`` (vectorised ``BatchedAssociativeEmbeddingLoss``
vs a per-image, per-person loop, 8 images x 20 people), each asserting equal
outputs before timing, and prints both side by side.

Usage: python tools/benchmark_training.py [--threads N]
"""
import argparse
import os
import sys
from typing import List, Optional

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import benchmark_ae_loss  # noqa: E402
import benchmark_targets  # noqa: E402


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--threads', type=int, default=None,
                        help='torch CPU threads for the AE loss (default: torch default)')
    parser.add_argument('--min-target-speedup', type=float, default=5.0)
    parser.add_argument('--min-ae-speedup', type=float, default=50.0)
    args = parser.parse_args(argv)

    targets = benchmark_targets.run_benchmark()
    ae = benchmark_ae_loss.run_benchmark(threads=args.threads)
    rows = [
        ('target generation (20 people, 17 joints, 128+256 maps)',
         targets['loop_s'] * 1e3, targets['ours_s'] * 1e3, targets['speedup'],
         args.min_target_speedup),
        (f"AE loss fwd+bwd ({ae['batch_size']} imgs x {ae['num_people']} people, "
         f"{ae['device']})", ae['loop_baseline_ms'], ae['vectorised_ms'],
         ae['speedup'], args.min_ae_speedup),
    ]
    print(f"{'benchmark':60s} {'naive loop':>12s} {'ours':>10s} {'speed-up':>9s} {'target':>7s}")
    ok = True
    for name, loop_ms, ours_ms, speedup, required in rows:
        ok &= speedup >= required
        print(f'{name:60s} {loop_ms:9.3f} ms {ours_ms:7.3f} ms {speedup:8.1f}x {required:6.0f}x')
    print('outputs of ours and the loops were asserted equal before timing')
    return 0 if ok else 1


if __name__ == '__main__':
    sys.exit(main())
