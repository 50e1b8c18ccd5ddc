"""Test-time aggregation of the official code, step by step (``docs/reference_behaviour.md#aggregation``:
``get_multi_stage_outputs``, ``aggregate_results`` and the scale loop of ``dist_valid``), on network outputs in the
official channel layout.

Written independently of :meth:`swahr_mmpose.models.heads.SWAHRHead.predict`, which reaches the same numbers through
MMPose's ``tta`` helpers; the two are compared bit for bit in ``tests/test_models/test_predict_equals_reference.py``.
"""
from typing import List, Sequence, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor


def multi_stage_outputs(outputs: Sequence[Tensor], outputs_flip: Sequence[Tensor], num_joints: int,
                        flip_index: Sequence[int], size_projected: Tuple[int,
                                                                         int]) -> Tuple[List[Tensor], List[Tensor]]:
    """``get_multi_stage_outputs`` with the scale channels already stripped.

    Args:
        outputs: per level, level 0 = [heatmaps (K), tags (K)] at 1/4, level 1 = heatmaps (K) at 1/2.
        outputs_flip: the same for the flipped image (or empty without flip test).
        size_projected: (w, h) of the input canvas (PROJECT2IMAGE).

    Returns:
        heatmaps [plain average, flipped average] and tags [plain, flipped], all at the canvas size.
    """
    heatmaps, tags = [], []
    for outs, flipped in ((outputs, False), (outputs_flip, True)):
        if not outs:
            continue
        heatmaps_avg, num_heatmaps = 0, 0
        last = outs[-1]
        for i, output in enumerate(outs):
            if len(outs) > 1 and i != len(outs) - 1:
                output = F.interpolate(output, size=(last.size(2), last.size(3)), mode='bilinear', align_corners=False)
            if flipped:
                output = torch.flip(output, [3])
            level_heatmaps = output[:, :num_joints]
            heatmaps_avg += level_heatmaps[:, flip_index] if flipped else level_heatmaps
            num_heatmaps += 1
            if i == 0:  # WITH_AE = (True, False)
                level_tags = output[:, num_joints:]
                tags.append(level_tags[:, flip_index] if flipped else level_tags)
        heatmaps.append(heatmaps_avg / num_heatmaps)
    heatmaps = [
        F.interpolate(h, size=(size_projected[1], size_projected[0]), mode='bilinear', align_corners=False)
        for h in heatmaps
    ]
    tags = [
        F.interpolate(t, size=(size_projected[1], size_projected[0]), mode='bilinear', align_corners=False)
        for t in tags
    ]
    return heatmaps, tags


def reference_test_time_maps(per_scale_outputs: Sequence[Tuple[Sequence[Tensor], Sequence[Tensor]]],
                             scales: Sequence[float], num_joints: int, flip_index: Sequence[int],
                             canvas: Tuple[int, int]) -> Tuple[Tensor, Tensor]:
    """The scale loop and ``aggregate_results``: scales visited largest first, heatmaps summed then divided by the
    number of scales, tags (unsqueezed to (..., 1) and concatenated on dim 4) from scale 1 only.

    Returns:
        final heatmaps (B, K, H, W) and tags (B, K, H, W, L), the layout the official ``HeatmapParser`` reads.
    """
    final_heatmaps, tags_list = None, []
    for i in sorted(range(len(scales)), key=lambda i: -scales[i]):
        outputs, outputs_flip = per_scale_outputs[i]
        heatmaps, tags = multi_stage_outputs(outputs, outputs_flip, num_joints, flip_index, canvas)
        if scales[i] == 1 or len(scales) == 1:
            for tms in tags:
                tags_list.append(torch.unsqueeze(tms, dim=4))
        heatmaps_avg = (heatmaps[0] + heatmaps[1]) / 2.0 if len(heatmaps) == 2 else heatmaps[0]
        final_heatmaps = heatmaps_avg if final_heatmaps is None else final_heatmaps + heatmaps_avg
    final_heatmaps = final_heatmaps / float(len(scales))
    return final_heatmaps, torch.cat(tags_list, dim=4)
