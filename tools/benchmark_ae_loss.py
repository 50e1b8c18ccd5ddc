"""Time the vectorised associative-embedding loss against the per-person loop baseline (forward + backward).

Default workload: 8 images x 20 people x 17 joints on 128x128 tag maps (the COCO W32-512 1/4 level). Both losses
run on the same tags and indices in the same process; their values and gradients are checked to be equal before
the times are reported. Times are medians over several repeats after warm-up.

    python tools/benchmark_ae_loss.py [--device cuda] [--repeats 30] [--min-speedup 50]

Importable: ``run_benchmark(...)`` returns the numbers as a dict; ``main(argv)`` prints them and returns an exit
code (1 when the speed-up is below ``--min-speedup``).
"""
import argparse
import statistics
import sys
import time
from typing import Callable, Dict, List, Optional, Sequence

import torch

from swahr_mmpose.models.losses import BatchedAssociativeEmbeddingLoss
from swahr_mmpose.testing.reference_losses import loop_ae_loss


def make_workload(batch_size: int, num_people: int, num_keypoints: int, size: int, device: torch.device,
                  dtype: torch.dtype, seed: int = 0, valid_fraction: float = 0.8):
    """Random tag maps (B, K, size, size) and padded keypoint indices (B, N, K, 2) = [y*size + x, valid]."""
    gen = torch.Generator().manual_seed(seed)
    tags = torch.randn(batch_size, num_keypoints, size, size, generator=gen, dtype=dtype)
    positions = torch.randint(0, size * size, (batch_size, num_people, num_keypoints), generator=gen)
    valid = (torch.rand(batch_size, num_people, num_keypoints, generator=gen) < valid_fraction).long()
    positions = positions * valid  # unused entries are [0, 0], as the target generator pads them
    indices = torch.stack([positions, valid], dim=-1)
    return tags.to(device), indices.to(device)


def _time_forward_backward(loss_fn: Callable, tags: torch.Tensor, indices: torch.Tensor, warmup: int,
                           repeats: int) -> List[float]:
    """Seconds per forward + backward, one entry per repeat."""
    times = []
    for i in range(warmup + repeats):
        leaf = tags.detach().requires_grad_(True)
        if tags.is_cuda:
            torch.cuda.synchronize(tags.device)
        start = time.perf_counter()
        pull, push = loss_fn(leaf, indices)
        (pull + push).backward()
        if tags.is_cuda:
            torch.cuda.synchronize(tags.device)
        if i >= warmup:
            times.append(time.perf_counter() - start)
    return times


def run_benchmark(batch_size: int = 8,
                  num_people: int = 20,
                  num_keypoints: int = 17,
                  size: int = 128,
                  repeats: int = 30,
                  baseline_repeats: int = 5,
                  warmup: int = 3,
                  device: Optional[str] = None,
                  dtype: torch.dtype = torch.float32,
                  seed: int = 0,
                  threads: Optional[int] = None) -> Dict[str, float]:
    """Check equality, then time both implementations. Returns medians in milliseconds and the speed-up.

    ``threads`` sets ``torch.set_num_threads`` for the run (restored afterwards); ``None`` keeps the current value.
    """
    previous_threads = torch.get_num_threads()
    if threads is not None:
        torch.set_num_threads(threads)
    try:
        return _run(batch_size, num_people, num_keypoints, size, repeats, baseline_repeats, warmup, device, dtype,
                    seed)
    finally:
        torch.set_num_threads(previous_threads)


def _run(batch_size: int, num_people: int, num_keypoints: int, size: int, repeats: int, baseline_repeats: int,
         warmup: int, device: Optional[str], dtype: torch.dtype, seed: int) -> Dict[str, float]:
    device = torch.device(device or ('cuda' if torch.cuda.is_available() else 'cpu'))
    tags, indices = make_workload(batch_size, num_people, num_keypoints, size, device, dtype, seed)
    vectorised = BatchedAssociativeEmbeddingLoss()

    # Equal values and gradients first: a fast wrong loss is worth nothing.
    tags_a, tags_b = tags.clone().requires_grad_(True), tags.clone().requires_grad_(True)
    pull, push = vectorised(tags_a, indices)
    ref_pull, ref_push = loop_ae_loss(tags_b, indices)
    (pull + push).backward()
    (ref_pull + ref_push).backward()
    pull, push = pull.detach(), push.detach()
    rtol = 1e-4 if dtype == torch.float32 else 1e-10
    torch.testing.assert_close(pull, ref_pull, rtol=rtol, atol=0)
    torch.testing.assert_close(push, ref_push, rtol=rtol, atol=0)
    torch.testing.assert_close(tags_a.grad, tags_b.grad, rtol=rtol, atol=1e-9)

    fast = _time_forward_backward(vectorised, tags, indices, warmup, repeats)
    slow = _time_forward_backward(loop_ae_loss, tags, indices, min(warmup, 1), baseline_repeats)
    fast_ms, slow_ms = statistics.median(fast) * 1e3, statistics.median(slow) * 1e3
    return dict(batch_size=batch_size, num_people=num_people, num_keypoints=num_keypoints, size=size,
                device=str(device), dtype=str(dtype).replace('torch.', ''), threads=torch.get_num_threads(),
                pull=pull.item(), push=push.item(), vectorised_ms=fast_ms, loop_baseline_ms=slow_ms,
                speedup=slow_ms / fast_ms, repeats=repeats, baseline_repeats=baseline_repeats)


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--batch-size', type=int, default=8)
    parser.add_argument('--num-people', type=int, default=20)
    parser.add_argument('--num-keypoints', type=int, default=17)
    parser.add_argument('--size', type=int, default=128, help='tag map side (1/4-resolution px)')
    parser.add_argument('--repeats', type=int, default=30)
    parser.add_argument('--baseline-repeats', type=int, default=5)
    parser.add_argument('--warmup', type=int, default=3)
    parser.add_argument('--device', default=None, help='default: cuda if available, else cpu')
    parser.add_argument('--float64', action='store_true')
    parser.add_argument('--threads', type=int, default=None, help='torch CPU threads (default: torch default)')
    parser.add_argument('--min-speedup', type=float, default=50.0)
    args = parser.parse_args(argv)

    r = run_benchmark(args.batch_size, args.num_people, args.num_keypoints, args.size, args.repeats,
                      args.baseline_repeats, args.warmup, args.device,
                      torch.float64 if args.float64 else torch.float32, threads=args.threads)
    print(f"AE loss forward+backward, {r['batch_size']} images x {r['num_people']} people x "
          f"{r['num_keypoints']} joints, {r['size']}x{r['size']} tags, {r['device']} {r['dtype']}, "
          f"{r['threads']} threads (median of {r['repeats']} / {r['baseline_repeats']} runs)")
    print(f"  values equal: pull={r['pull']:.6g} push={r['push']:.6g} (gradients equal too)")
    print(f"  per-person loop baseline (swahr_mmpose.testing.reference_losses.loop_ae_loss): "
          f"{r['loop_baseline_ms']:9.3f} ms")
    print(f"  BatchedAssociativeEmbeddingLoss (vectorised):                             "
          f"{r['vectorised_ms']:9.3f} ms")
    print(f"  speed-up: {r['speedup']:.1f}x (required >= {args.min_speedup:g}x)")
    return 0 if r['speedup'] >= args.min_speedup else 1


if __name__ == '__main__':
    sys.exit(main())
