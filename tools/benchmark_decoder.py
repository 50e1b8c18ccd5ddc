"""Time AEDecoder against MMPose 1.3.2's AssociativeEmbedding.batch_decode and the plain reference loop.

Workload: synthetic SWAHR-like decoder inputs (``swahr_mmpose.testing.synthetic_ae_maps``): J=17 heatmaps and D=2
tags (original + flipped, as with flip test) painted at 1/4 resolution and resized to a 512x512 input canvas, with
1, 10 and 30 people. All three decoders get the same maps, on the maps' device:

1. ours: ``AEDecoder()`` (reference defaults; no cap on the number of people, like the reference);
2. MMPose: ``AssociativeEmbedding`` configured like MMPose's AE config (reference joint order, top-k 30, NMS 5, centre
   shift 0.5, sigma 2, heatmap size = input size because maps are restored to the input first), with no instance
   cap, so that it decodes every person as ours does; the speed-up requirement applies to this one;
3. MMPose cap 30: the same with ``decode_max_instances=30`` as in MMPose's config file (it drops people beyond 30
   before refining them, so it does less work on crowded maps), shown for reference;
4. loop: ``swahr_mmpose.testing.reference_grouping.reference_decode``, the plain implementation of the reference.

Ours must return exactly the loop implementation's poses (checked before timing). MMPose's decoder is not the
reference (it fills every missing joint, refines differently), so only its person count is printed. Times are
medians over repeats after warm-up; ``--clock cpu`` measures process CPU time instead of wall time (steadier on a
shared machine; use it with ``--threads 1``).

    python tools/benchmark_decoder.py [--people 1 10 30] [--repeats 7] [--device cpu] [--min-speedup 5]

Importable: ``run_benchmark(...)`` returns the numbers; ``main(argv)`` prints them and returns an exit code (1 when
ours is less than ``--min-speedup`` times faster than MMPose's on any workload).
"""
import argparse
import statistics
import sys
import time
from typing import Callable, Dict, List, Optional, Sequence

import numpy as np
import torch
from mmpose.codecs import AssociativeEmbedding

from swahr_mmpose.codecs import REFERENCE_KEYPOINT_ORDER, AEDecoder
from swahr_mmpose.testing.reference_grouping import reference_decode
from swahr_mmpose.testing.synthetic_ae_maps import make_synthetic_ae_maps, to_mmpose_tag_layout


def _median_seconds(fn: Callable[[], object], device: torch.device, warmup: int, repeats: int,
                    clock: Callable[[], float] = time.perf_counter) -> float:
    times: List[float] = []
    for i in range(warmup + repeats):
        if device.type == 'cuda':
            torch.cuda.synchronize(device)
        start = clock()
        fn()
        if device.type == 'cuda':
            torch.cuda.synchronize(device)
        if i >= warmup:
            times.append(clock() - start)
    return statistics.median(times)


def run_benchmark(people: Sequence[int] = (1, 10, 30),
                  canvas: int = 512,
                  repeats: int = 7,
                  mmpose_repeats: int = 5,
                  loop_repeats: int = 1,
                  warmup: int = 1,
                  device: Optional[str] = None,
                  seed: int = 0,
                  clock: str = 'wall') -> List[Dict[str, float]]:
    """For each people count: check ours == loop, then time ours, MMPose's (uncapped and capped) and the loop.
    Seconds per image."""
    device = torch.device(device or 'cpu')
    timer = dict(wall=time.perf_counter, cpu=time.process_time)[clock]
    ours = AEDecoder()

    def mmpose_codec(max_instances: Optional[int]) -> AssociativeEmbedding:
        return AssociativeEmbedding(
            input_size=(canvas, canvas),
            heatmap_size=(canvas, canvas),
            sigma=2,
            decode_keypoint_order=list(REFERENCE_KEYPOINT_ORDER),
            decode_nms_kernel=5,
            decode_topk=30,
            decode_center_shift=0.5,
            decode_max_instances=max_instances)

    mmpose, mmpose_cap30 = mmpose_codec(None), mmpose_codec(30)
    rows = []
    for num_people in people:
        sample = make_synthetic_ae_maps(num_people, canvas_size=(canvas, canvas), seed=seed + num_people)
        heatmaps, tags = sample.heatmaps[None].to(device), sample.tags[None].to(device)
        mmpose_tags = to_mmpose_tag_layout(tags)
        heat_np, tags_np = sample.heatmaps.numpy(), sample.tags.numpy()

        fast = ours.batch_decode(heatmaps, tags)
        loop = reference_decode(heat_np, tags_np)
        for name, a, b in zip(('keypoints', 'keypoint_scores', 'instance_scores'), (f[0] for f in fast), loop):
            if a.shape != b.shape or not np.array_equal(a, b):
                raise AssertionError(f'{num_people} people: AEDecoder {name} differ from the loop implementation')
        munkres_before = ours.munkres_calls
        ours.batch_decode(heatmaps, tags)
        munkres_calls = ours.munkres_calls - munkres_before
        mmpose_people = mmpose.batch_decode(heatmaps, mmpose_tags)[0][0].shape[0]

        ours_s = _median_seconds(lambda: ours.batch_decode(heatmaps, tags), device, warmup, repeats, timer)
        mmpose_s = _median_seconds(lambda: mmpose.batch_decode(heatmaps, mmpose_tags), device, warmup,
                                   mmpose_repeats, timer)
        cap30_s = _median_seconds(lambda: mmpose_cap30.batch_decode(heatmaps, mmpose_tags), device, warmup,
                                  mmpose_repeats, timer)
        loop_s = _median_seconds(lambda: reference_decode(heat_np, tags_np), torch.device('cpu'), 0, loop_repeats,
                                 timer)
        rows.append(
            dict(people=num_people, decoded_people=int(fast[0][0].shape[0]), mmpose_people=int(mmpose_people),
                 munkres_calls=munkres_calls, ours_s=ours_s, mmpose_s=mmpose_s, mmpose_cap30_s=cap30_s,
                 loop_s=loop_s, speedup_vs_mmpose=mmpose_s / ours_s, speedup_vs_mmpose_cap30=cap30_s / ours_s,
                 speedup_vs_loop=loop_s / ours_s))
    return rows


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--people', type=int, nargs='+', default=[1, 10, 30])
    parser.add_argument('--canvas', type=int, default=512, help='side of the decoding canvas (input px)')
    parser.add_argument('--repeats', type=int, default=7)
    parser.add_argument('--mmpose-repeats', type=int, default=5)
    parser.add_argument('--loop-repeats', type=int, default=1)
    parser.add_argument('--warmup', type=int, default=1)
    parser.add_argument('--device', default='cpu', help='device of the maps (all decoders run there)')
    parser.add_argument('--threads', type=int, default=None, help='torch CPU threads (default: torch default)')
    parser.add_argument('--clock', choices=('wall', 'cpu'), default='wall',
                        help='wall time, or process CPU time (steadier on a shared machine)')
    parser.add_argument('--min-speedup', type=float, default=5.0, help='required speed-up over MMPose (uncapped)')
    args = parser.parse_args(argv)
    if args.threads is not None:
        torch.set_num_threads(args.threads)

    rows = run_benchmark(args.people, args.canvas, args.repeats, args.mmpose_repeats, args.loop_repeats,
                         args.warmup, args.device, clock=args.clock)
    print(f'AE decoding of one {args.canvas}x{args.canvas} image, J=17, D=2 tags, device {args.device}, '
          f'{torch.get_num_threads()} threads, {args.clock} clock; median of {args.repeats} (ours) / '
          f'{args.mmpose_repeats} (MMPose) / {args.loop_repeats} (loop) runs')
    print(f"{'people':>6} {'found':>5} {'mmpose':>6} {'ours ms':>8} {'MMPose ms':>10} {'cap30 ms':>9} "
          f"{'loop ms':>9} {'vs MMPose':>9} {'vs cap30':>8} {'vs loop':>8}  same poses as loop")
    ok = True
    for r in rows:
        ok &= r['speedup_vs_mmpose'] >= args.min_speedup
        print(f"{r['people']:>6} {r['decoded_people']:>5} {r['mmpose_people']:>6} {r['ours_s'] * 1e3:>8.1f} "
              f"{r['mmpose_s'] * 1e3:>10.1f} {r['mmpose_cap30_s'] * 1e3:>9.1f} {r['loop_s'] * 1e3:>9.1f} "
              f"{r['speedup_vs_mmpose']:>8.1f}x {r['speedup_vs_mmpose_cap30']:>7.1f}x {r['speedup_vs_loop']:>7.1f}x"
              f"  yes (exact)")
    print('found / mmpose: people returned by AEDecoder / by MMPose (MMPose does not follow the reference rules); '
          'cap30: MMPose with decode_max_instances=30 as in its config file')
    print(f"speed-up over MMPose (uncapped) >= {args.min_speedup:g}x on every workload: {'PASS' if ok else 'FAIL'}")
    return 0 if ok else 1


if __name__ == '__main__':
    sys.exit(main())
