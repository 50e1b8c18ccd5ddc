"""Sub-pixel adjustment and the person tags used by refinement (reference ``adjust`` and ``refine``), torch.

Positions are integer pixels of the decoding canvas (input px in SWAHR); the reference rules:

* quarter offset: ``x += q`` if ``heat[y, min(x+1, W-1)] > heat[y, max(x-1, 0)]`` else ``x -= q`` (same for y),
  then ``+ center_shift`` (reference: ``q = 0.25``, ``center_shift = 0.5``);
* refinement of a person's missing joint j: the first pixel (row-major) maximising
  ``heat_j(p) - round(||tag_j(p) - person_tag||)`` over the WHOLE map (see :mod:`.ae_refine_search`), with
  ``person_tag`` the float32 mean of the tags read at the person's detected joints; the joint is filled when
  ``heat_j(p) > 0``.
"""
from typing import Tuple

import numpy as np
import torch

from .ae_grouping import mean_of_lists


def quarter_offset_signs(heatmaps: torch.Tensor, joint: torch.Tensor, x: torch.Tensor,
                         y: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
    """+1/-1 per keypoint: towards the higher horizontal / vertical neighbour (-1 on equality, as the reference).

    Args:
        heatmaps: (J, H, W).
        joint, x, y: (M,) int64 on the same device.

    Returns:
        sign_x, sign_y: (M,) float64 tensors of +1 / -1.
    """
    height, width = heatmaps.shape[-2:]
    right = heatmaps[joint, y, (x + 1).clamp(max=width - 1)]
    left = heatmaps[joint, y, (x - 1).clamp(min=0)]
    below = heatmaps[joint, (y + 1).clamp(max=height - 1), x]
    above = heatmaps[joint, (y - 1).clamp(min=0), x]
    one = torch.ones_like(right, dtype=torch.float64)
    return torch.where(right > left, one, -one), torch.where(below > above, one, -one)


def person_tags_at_joints(tags: torch.Tensor, x: np.ndarray, y: np.ndarray, detected: np.ndarray) -> np.ndarray:
    """Mean tag over each person's detected joints, bit-equal to the reference's float32 ``np.mean``.

    Args:
        tags: (J, H, W, D).
        x, y: (P, J) int64 pixel to read each joint's tag at.
        detected: (P, J) bool.

    Returns:
        (P, D) float32 numpy (rows of people with no detected joint are NaN).
    """
    num_people, num_joints = detected.shape
    joint_index = np.broadcast_to(np.arange(num_joints), (num_people, num_joints))
    device = tags.device
    read = tags[torch.from_numpy(joint_index.copy()).to(device), torch.from_numpy(y).to(device),
                torch.from_numpy(x).to(device)].cpu().numpy()  # (P, J, D)
    # detected joints first, in joint order (a stable sort keeps the order)
    order = np.argsort(~detected, axis=1, kind='stable')
    packed = np.take_along_axis(read, order[:, :, None], axis=1)
    counts = detected.sum(axis=1)
    means = np.full((num_people, read.shape[2]), np.nan, dtype=np.float32)
    has_any = counts > 0
    if has_any.any():
        means[has_any] = mean_of_lists(packed[has_any], counts[has_any])
    return means
