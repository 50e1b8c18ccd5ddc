"""Test-only views of the refinement search (:mod:`swahr_mmpose.codecs.utils.refinement`): the refinement score in
torch and the search for tags in the reference layout, for the equality checks in ``test_ae_decoder.py``."""
from typing import Tuple

import torch

from swahr_mmpose.codecs.utils.refinement import search_refine_pixels


def _squared_distance(diff: torch.Tensor) -> torch.Tensor:
    """Sum over the last axis of ``diff * diff`` in index order (numpy's float32 order for fewer than 8 terms)."""
    squared = diff * diff
    total = squared[..., 0]
    for d in range(1, squared.shape[-1]):
        total = total + squared[..., d]
    return total


def refine_scores(heat: torch.Tensor, tag: torch.Tensor, person_tag: torch.Tensor) -> torch.Tensor:
    """``heat - round(||tag - person_tag||_2)`` in float32, bit-equal to the numpy reference formula (torch version;
    the search scores with numpy).

    Args:
        heat: (...) float32.
        tag: (..., D) float32.
        person_tag: float32 broadcastable to ``tag``.
    """
    distance = torch.sqrt(_squared_distance(tag - person_tag).double()).float()  # correctly rounded float32 sqrt
    return heat - torch.round(distance)


def best_refine_pixels(heatmaps: torch.Tensor,
                       tags: torch.Tensor,
                       joint: torch.Tensor,
                       person_tag: torch.Tensor,
                       block: int = 8,
                       coarse_factor: int = 4,
                       chunk_elements: int = 1 << 20) -> Tuple[torch.Tensor, torch.Tensor]:
    """:func:`search_refine_pixels` for tags in the reference layout.

    Args:
        heatmaps: (J, H, W); tags: (J, H, W, D); joint: (M,) int64; person_tag: (M, D); any device.

    Returns:
        x, y: (M,) int64 tensors on the maps' device.
    """
    planes = tags.detach().float().cpu().permute(3, 0, 1, 2).contiguous()
    x, y = search_refine_pixels(heatmaps.detach().float().cpu().contiguous(), planes,
                                joint.cpu().numpy(),
                                person_tag.detach().float().cpu().numpy(), block, coarse_factor, chunk_elements)
    return torch.from_numpy(x).to(heatmaps.device), torch.from_numpy(y).to(heatmaps.device)
