"""Benchmark: vectorised training-target generation vs the naive per-person / per-joint loop.

Both sides produce the same outputs from the same (N, K, 2) input-px keypoints: heatmaps at every level
(sigma 2, truncated centres, max over people) and the slot-aligned tag indices / weights at level 0.
  * ours:     ``ScaleAdaptiveGenerateTarget.encode_keypoints`` (NumPy, vectorised over people x joints x window)
  * baseline: ``swahr_mmpose.testing.reference_targets.loop_generate_targets`` (Python loops, reference rules)
The outputs are asserted equal (``np.array_equal``) before timing. For information it also times the whole
transform (heatmaps + tag indices + per-level ignore masks from one crowd polygon).

Usage:
    python tools/benchmark_targets.py [--people 20] [--joints 17] [--input-size 512] [--levels 128 256]
                                      [--repeats 30] [--seed 0]
"""
import argparse
import time
from typing import Callable, Dict, List, Optional, Sequence

import numpy as np

from swahr_mmpose.datasets.transforms import ScaleAdaptiveGenerateTarget
from swahr_mmpose.testing.reference_targets import loop_generate_targets


def _median_time(fn: Callable[[], object], repeats: int) -> float:
    """Median wall time of ``fn`` in seconds over ``repeats`` runs (after one warm-up run)."""
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def make_keypoints(num_people: int, num_joints: int, input_size: int, seed: int = 0):
    """Random people: joints spread around a per-person centre, ~20% unlabelled, some outside the input."""
    rng = np.random.default_rng(seed)
    centres = rng.uniform(-0.05, 1.05, size=(num_people, 1, 2)) * input_size
    spread = rng.uniform(10, 120, size=(num_people, 1, 1))
    keypoints = centres + rng.normal(size=(num_people, num_joints, 2)) * spread
    visible = rng.choice([0.0, 1.0, 2.0], p=[0.2, 0.3, 0.5], size=(num_people, num_joints))
    return keypoints, visible


def run_benchmark(num_people: int = 20,
                  num_joints: int = 17,
                  input_size: int = 512,
                  level_sizes: Sequence[int] = (128, 256),
                  repeats: int = 30,
                  seed: int = 0) -> Dict[str, float]:
    """Time both implementations on one random sample; returns the timings (seconds) and the speed-up.

    Raises AssertionError if the two implementations disagree.
    """
    keypoints, visible = make_keypoints(num_people, num_joints, input_size, seed)
    generator = ScaleAdaptiveGenerateTarget(
        input_size=input_size, heatmap_sizes=list(level_sizes), max_num_people=None)

    ours = generator.encode_keypoints(keypoints, visible)
    baseline = loop_generate_targets(keypoints, visible, input_size, list(level_sizes))
    for level, (a, b) in enumerate(zip(ours['heatmaps'], baseline['heatmaps'])):
        assert np.array_equal(a, b), f'heatmaps differ at level {level}'
    assert np.array_equal(ours['keypoint_indices'], baseline['keypoint_indices']), 'keypoint_indices differ'
    assert np.array_equal(ours['keypoint_weights'], baseline['keypoint_weights']), 'keypoint_weights differ'

    t_ours = _median_time(lambda: generator.encode_keypoints(keypoints, visible), repeats)
    t_loop = _median_time(lambda: loop_generate_targets(keypoints, visible, input_size, list(level_sizes)), repeats)

    # whole transform, masks included (one non-crowd no-keypoint polygon + the out-of-image border)
    side = input_size
    results = dict(
        keypoints=keypoints, keypoints_visible=visible, ori_shape=(side, side), input_size=(side, side),
        invalid_segs=[[[10.0, 10.0, side / 3, 20.0, side / 4, side / 3]]],
        warp_mat=np.array([[0.9, 0.1, 12.0], [-0.1, 0.9, 30.0]]))
    t_full = _median_time(lambda: generator.transform(dict(results)), repeats)

    return dict(
        num_people=num_people,
        num_joints=num_joints,
        ours_s=t_ours,
        loop_s=t_loop,
        speedup=t_loop / t_ours,
        full_transform_s=t_full)


def main(argv: Optional[List[str]] = None) -> Dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--people', type=int, default=20)
    parser.add_argument('--joints', type=int, default=17)
    parser.add_argument('--input-size', type=int, default=512)
    parser.add_argument('--levels', type=int, nargs='+', default=[128, 256])
    parser.add_argument('--repeats', type=int, default=30)
    parser.add_argument('--seed', type=int, default=0)
    args = parser.parse_args(argv)

    stats = run_benchmark(args.people, args.joints, args.input_size, args.levels, args.repeats, args.seed)
    print(f'target generation, {args.people} people x {args.joints} joints, input {args.input_size}, '
          f'levels {args.levels} (median of {args.repeats}; outputs asserted identical)')
    print(f'  naive loop baseline (reference rules) : {stats["loop_s"] * 1e3:8.3f} ms')
    print(f'  vectorised (encode_keypoints)         : {stats["ours_s"] * 1e3:8.3f} ms')
    print(f'  speed-up                              : {stats["speedup"]:8.1f} x')
    print(f'  full transform incl. ignore masks     : {stats["full_transform_s"] * 1e3:8.3f} ms')
    return stats


if __name__ == '__main__':
    main()
