"""AE decoding speed: :class:`~swahr_mmpose.codecs.AEDecoder` vs MMPose 1.3.2's ``AssociativeEmbedding``.

Workload: synthetic SWAHR-like decoder inputs (:func:`swahr_mmpose.testing.make_synthetic_ae_maps`): K=17 heatmaps
and L=2 tag maps per joint (original + flipped, as with flip test), painted at 1/4 resolution and resized to the
input canvas, with 1, 10 and 30 people. Every decoder gets the same maps on the same device:

1. ours: ``AEDecoder()`` with the reference defaults (no cap on the number of people, like the reference), and
   beside it ``AEDecoder(subpixel='dark')`` (DARK sub-pixel offsets instead of the quarter offset; its cost);
2. MMPose: ``AssociativeEmbedding`` configured as MMPose's AE config (reference joint order, top-k 30, NMS 5, centre
   shift 0.5, heatmap size = canvas since maps are restored to the input first) with ``decode_max_instances=30`` as
   in that config file: it stops refining people beyond 30, so it does less work on crowded maps;
3. MMPose uncapped: the same without the cap, decoding every person as ours does.

MMPose's decoder does not follow the reference rules (it fills every missing joint, refines differently), so only
its person count is shown; equality of ours with a loop implementation of the reference is what the tests check.
"""
from typing import Dict, List, Optional, Sequence

import torch
from mmpose.codecs import AssociativeEmbedding

from swahr_mmpose.codecs import REFERENCE_KEYPOINT_ORDER, AEDecoder
from swahr_mmpose.testing import make_synthetic_ae_maps
from .timing import median_seconds


def mmpose_ae_codec(canvas: int, max_instances: Optional[int]) -> AssociativeEmbedding:
    """MMPose's AE codec as its ``ae_hrnet-w32_8xb24-300e_coco-512x512`` config decodes (maps at the canvas size)."""
    return AssociativeEmbedding(
        input_size=(canvas, canvas),
        heatmap_size=(canvas, canvas),
        sigma=2,
        decode_keypoint_order=list(REFERENCE_KEYPOINT_ORDER),
        decode_nms_kernel=5,
        decode_topk=30,
        decode_center_shift=0.5,
        decode_max_instances=max_instances)


def run_decoder_benchmark(people: Sequence[int] = (1, 10, 30),
                          canvas: int = 512,
                          repeats: int = 7,
                          mmpose_repeats: int = 5,
                          warmup: int = 1,
                          device: Optional[str] = None,
                          seed: int = 0,
                          clock: str = 'wall') -> List[Dict[str, float]]:
    """Seconds per image of each decoder, one row per people count (median over repeats)."""
    device = torch.device(device or 'cpu')
    ours, ours_dark = AEDecoder(), AEDecoder(subpixel='dark')
    mmpose_cap30, mmpose = mmpose_ae_codec(canvas, 30), mmpose_ae_codec(canvas, None)
    rows = []
    for num_people in people:
        sample = make_synthetic_ae_maps(num_people, canvas_size=(canvas, canvas), seed=seed + num_people)
        heatmaps, tags = sample.heatmaps[None].to(device), sample.tags[None].to(device)
        decoded = ours.batch_decode(heatmaps, tags)[0][0].shape[0]
        munkres_before = ours.munkres_calls
        ours.batch_decode(heatmaps, tags)

        def time_it(decoder, runs):
            return median_seconds(lambda: decoder.batch_decode(heatmaps, tags), runs, warmup, device, clock)

        row = dict(
            people=num_people,
            decoded_people=decoded,
            munkres_calls=ours.munkres_calls - munkres_before,
            mmpose_people=int(mmpose.batch_decode(heatmaps, tags)[0][0].shape[0]),
            ours_s=time_it(ours, repeats),
            ours_dark_s=time_it(ours_dark, repeats),
            mmpose_cap30_s=time_it(mmpose_cap30, mmpose_repeats),
            mmpose_s=time_it(mmpose, mmpose_repeats))
        row['speedup_vs_cap30'] = row['mmpose_cap30_s'] / row['ours_s']
        row['speedup_vs_uncapped'] = row['mmpose_s'] / row['ours_s']
        rows.append(row)
    return rows


def format_decoder_benchmark(rows: List[Dict[str, float]], canvas: int, device: str, clock: str, repeats: int,
                             mmpose_repeats: int) -> List[str]:
    """The table ``tools/benchmark_decoder.py`` prints."""
    lines = [
        f'AE decoding of one {canvas}x{canvas} image, K=17, L=2 tag maps per joint, device {device}, '
        f'{torch.get_num_threads()} threads, {clock} clock; median of {repeats} (ours) / {mmpose_repeats} (MMPose) '
        'runs',
        f"{'people':>6} {'found':>5} {'MMPose':>6} {'ours ms':>8} {'DARK ms':>8} {'MMPose cap30 ms':>15} "
        f"{'uncapped ms':>11} {'vs cap30':>8} {'vs uncapped':>11}",
    ]
    for r in rows:
        lines.append(f"{r['people']:>6} {r['decoded_people']:>5} {r['mmpose_people']:>6} {r['ours_s'] * 1e3:>8.1f} "
                     f"{r['ours_dark_s'] * 1e3:>8.1f} {r['mmpose_cap30_s'] * 1e3:>15.1f} {r['mmpose_s'] * 1e3:>11.1f} "
                     f"{r['speedup_vs_cap30']:>7.1f}x {r['speedup_vs_uncapped']:>10.1f}x")
    lines.append('found / MMPose: people returned by AEDecoder (the reference rules, no cap) / by MMPose uncapped; '
                 "DARK: AEDecoder(subpixel='dark'); cap30: MMPose with decode_max_instances=30 as in its AE config")
    return lines
