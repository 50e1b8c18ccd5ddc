"""Synthetic associative-embedding outputs (heatmaps + tag maps) with known people, for tests and benchmarks.

The maps imitate what the SWAHR test pipeline hands to the decoder: maps predicted at a coarse resolution (1/``stride``
of the input) and bilinearly resized (``align_corners=False``) to the input-pixel canvas.

Coordinate convention (the decoder's): a continuous position ``x`` in input px has pixel centres at ``i + 0.5``,
so a peak placed at ``x`` sits on pixel index ``floor(x)``. At the coarse level that position is ``x / stride - 0.5``
in pixel-index units.
"""
from dataclasses import dataclass
from typing import Tuple, Union

import numpy as np
import torch
import torch.nn.functional as F

# Rough COCO-17 body layout, in units of the person height, relative to the person centre (x right, y down).
_COCO17_LAYOUT = np.array([[0.0, -0.42], [-0.03, -0.45], [0.03, -0.45], [-0.06, -0.43], [0.06, -0.43], [-0.12, -0.30],
                           [0.12, -0.30], [-0.16, -0.12], [0.16, -0.12], [-0.18, 0.02], [0.18, 0.02], [-0.08, 0.02],
                           [0.08, 0.02], [-0.08, 0.25], [0.08, 0.25], [-0.08, 0.47], [0.08, 0.47]],
                          dtype=np.float64)


@dataclass
class SyntheticAEMaps:
    """One image's synthetic decoder input and the people that made it.

    Attributes:
        heatmaps: (J, H, W) float32 tensor, input-px canvas.
        tags: (D*J, H, W) float32 tensor, same canvas, channel ``d*J + j`` (MMPose's channels-first layout; D = 2
            as with flip test).
        keypoints: (N, J, 2) float64, where each person's peaks were placed (x, y), decoder convention, input px.
        peak_values: (N, J) float64, height of each placed peak; 0 where the joint is absent from the maps.
        person_tags: (N, D) float64, the tag vector painted around each person.
    """

    heatmaps: torch.Tensor
    tags: torch.Tensor
    keypoints: np.ndarray
    peak_values: np.ndarray
    person_tags: np.ndarray


def _upsample(maps: torch.Tensor, size_hw: Tuple[int, int]) -> torch.Tensor:
    """(C, h, w) -> (C, H, W), bilinear, ``align_corners=False`` (as the SWAHR test pipeline resizes)."""
    return F.interpolate(maps[None], size=size_hw, mode='bilinear', align_corners=False)[0]


def make_synthetic_ae_maps(num_people: int,
                           num_keypoints: int = 17,
                           canvas_size: Tuple[int, int] = (512, 512),
                           tag_dim: int = 2,
                           stride: int = 4,
                           sigma: float = 2.0,
                           person_height: Tuple[float, float] = (60.0, 200.0),
                           weak_ratio: float = 0.1,
                           absent_ratio: float = 0.05,
                           heatmap_noise: float = 0.005,
                           tag_noise: float = 0.03,
                           tag_spacing: float = 1.5,
                           min_separation: float = 0.0,
                           border_margin: float = 8.0,
                           seed: Union[int, np.random.Generator] = 0,
                           device: Union[str, torch.device] = 'cpu') -> SyntheticAEMaps:
    """Draw ``num_people`` people and paint their heatmaps and tags.

    Args:
        num_people: N, number of people (0 gives noise-only maps).
        num_keypoints: J. For J=17 a COCO-like body layout is used, otherwise random offsets.
        canvas_size: (W, H) of the returned maps, input px.
        tag_dim: D, tag channels (2 for flip test: original and flipped tag).
        stride: ratio between the canvas and the level the maps are painted at.
        sigma: Gaussian sigma at the painted level (SWAHR: 2).
        person_height: range of person heights, input px.
        weak_ratio: fraction of joints painted with a peak in [0.02, 0.09] (below usual detection thresholds, so
            only refinement can recover them).
        absent_ratio: fraction of joints not painted at all.
        heatmap_noise: std of Gaussian noise added to the painted heatmaps (0 = clean).
        tag_noise: std of noise added to the painted tags (0 = every pixel of a person's region has its exact tag).
        tag_spacing: distance between consecutive people's tags (people are separable when this is > 1).
        min_separation: reject person centres closer than this (input px) to an earlier one.
        border_margin: joints are clipped to this distance from the canvas border (input px). Within about
            ``stride`` px of the border the resize repeats edge values, which creates equal-valued twin peaks.
        seed: integer seed or a numpy Generator.
        device: device of the returned tensors.

    Returns:
        SyntheticAEMaps with the maps and the ground truth.
    """
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    width, height = canvas_size
    low_w, low_h = -(-width // stride), -(-height // stride)
    if num_keypoints == 17:
        layout = _COCO17_LAYOUT
    else:
        layout = rng.uniform(-0.45, 0.45, size=(num_keypoints, 2))

    centres = []
    attempts = 0
    while len(centres) < num_people:
        attempts += 1
        c = rng.uniform([0.1 * width, 0.1 * height], [0.9 * width, 0.9 * height])
        if attempts < 1000 and any(np.hypot(*(c - o)) < min_separation for o in centres):
            continue
        centres.append(c)
    centres = np.array(centres, dtype=np.float64).reshape(num_people, 2)
    heights = rng.uniform(*person_height, size=num_people) * (min(width, height) / 512.0)
    keypoints = centres[:, None, :] + heights[:, None, None] * (
        layout[None] + rng.normal(0.0, 0.02, size=(num_people, num_keypoints, 2)))
    keypoints = np.clip(keypoints, border_margin, [width - border_margin, height - border_margin])

    peak_values = rng.uniform(0.4, 1.0, size=(num_people, num_keypoints))
    kind = rng.uniform(size=(num_people, num_keypoints))
    weak = kind < weak_ratio
    peak_values[weak] = rng.uniform(0.02, 0.09, size=int(weak.sum()))
    peak_values[(kind >= weak_ratio) & (kind < weak_ratio + absent_ratio)] = 0.0

    base_tags = tag_spacing * rng.permutation(num_people).astype(np.float64) + rng.uniform(-0.2, 0.2, num_people)
    person_tags = base_tags[:, None] + rng.normal(0.0, 0.05, size=(num_people, tag_dim))
    person_tags[:, 0] = base_tags

    # Painted level: pixel-index grid and each peak's position there. Heatmaps: per joint, the max over people.
    # Tags: in joint j's map every pixel takes the tag of the person whose joint j is nearest (what a trained network
    # approximates: the person's tag around the person's joints). Pure noise tags when there is nobody.
    gy, gx = np.meshgrid(np.arange(low_h, dtype=np.float64), np.arange(low_w, dtype=np.float64), indexing='ij')
    low_kpts = keypoints / stride - 0.5
    heat_low = np.zeros((num_keypoints, low_h, low_w), dtype=np.float64)
    tags_low = rng.normal(0.0, 3.0, size=(num_keypoints, low_h, low_w, tag_dim))
    for j in range(num_people and num_keypoints):  # vectorised over people and pixels
        d2 = (gx[None] - low_kpts[:, j, 0, None, None])**2 + (gy[None] - low_kpts[:, j, 1, None, None])**2
        heat_low[j] = (peak_values[:, j, None, None] * np.exp(-d2 / (2 * sigma**2))).max(axis=0)
        tags_low[j] = person_tags[d2.argmin(axis=0)]
    if heatmap_noise > 0:
        heat_low += rng.normal(0.0, heatmap_noise, size=heat_low.shape)
    if tag_noise > 0:
        tags_low += rng.normal(0.0, tag_noise, size=tags_low.shape)

    heat = torch.from_numpy(heat_low.astype(np.float32))
    tags = torch.from_numpy(tags_low.astype(np.float32)).permute(0, 3, 1, 2).reshape(-1, low_h, low_w)
    heat = _upsample(heat, (low_h * stride, low_w * stride))[:, :height, :width]
    tags = _upsample(tags, (low_h * stride, low_w * stride))[:, :height, :width]
    tags = tags.reshape(num_keypoints, tag_dim, height, width).transpose(0, 1).reshape(-1, height, width)
    return SyntheticAEMaps(
        heatmaps=heat.contiguous().to(device),
        tags=tags.to(device),
        keypoints=keypoints,
        peak_values=peak_values,
        person_tags=person_tags)


def make_clean_ae_maps(num_people: int, **kwargs) -> SyntheticAEMaps:
    """:func:`make_synthetic_ae_maps` without noise, weak or missing joints: every joint a clean painted peak
    (``kwargs`` as there; the four clean settings may not be overridden)."""
    return make_synthetic_ae_maps(
        num_people, weak_ratio=0.0, absent_ratio=0.0, heatmap_noise=0.0, tag_noise=0.0, **kwargs)
