"""One synthetic multi-person image and its per-instance labels.

Scene content, back to front:
1. a textured background (:func:`render.render_background`);
2. optionally a *crowd*: a cluster of small figures labelled as ONE ``iscrowd=1`` region;
3. optionally a few *tiny* far-away figures, labelled as persons with ``num_keypoints=0``;
4. 1..N labelled persons, smaller (farther) ones first, so nearer people occlude farther ones.

Labelling rules (documented here, tested in ``tests/test_datasets/test_synthetic.py``):
- **Outside the image** (x < 0, x >= W, y < 0 or y >= H): v = 0 and x = y = 0.
- **Occluded**: inside the image but the pixel under the keypoint (floor(x), floor(y)) belongs to another, later
  drawn figure in the final owner map, or a face point on the far side of the head: v = 1.
- **Visible**: otherwise v = 2 (the keypoint's own disc is drawn there).
- A labelled person with no v = 2 keypoint (hidden or truncated away) is demoted to ``num_keypoints = 0`` with all
  keypoints zeroed; its visible region still becomes a segmentation polygon, so the ignore mask covers it.
- Segmentation, bbox and area describe the person's *visible* pixels (owner map == person); a person (or crowd)
  with fewer than ``min_visible_area`` visible pixels gets no annotation at all.
- The crowd region is the crowd figures' visible pixels dilated into a blob, minus pixels of labelled persons
  that have keypoints (so the ignore mask never hides a labelled joint's own disc).
"""
import functools
from dataclasses import dataclass, field
from typing import List, Optional, Tuple

import cv2
import numpy as np

from .render import Appearance, draw_people, render_background
from .skeleton import (NUM_KEYPOINTS, BodyProportions, PoseBatch, Skeleton, SkeletonLayout, pose_extent, sample_poses,
                       sample_skeleton_poses, skeleton_layout)


@dataclass(frozen=True)
class SceneConfig:
    """Knobs of the generator. Fractions of a 'side' are fractions of min(width, height).

    Attributes:
        image_size: (width, height) in px.
        people_per_image: inclusive (min, max) number of labelled persons drawn.
        height_range: labelled person heights, sampled log-uniformly, as fractions of the side.
        truncation_prob: probability that a labelled person may hang far over the image border.
        truncation_margin: in that case, up to this fraction of the body box may lie outside (else 5 %).
        tiny_prob: probability that an image contains tiny far-away persons (labelled with num_keypoints=0).
        tiny_count: inclusive (min, max) number of tiny persons when present.
        tiny_height_range: their heights as fractions of the side.
        crowd_prob: probability that an image contains one crowd region (iscrowd=1).
        crowd_count: inclusive (min, max) number of figures in a crowd.
        crowd_height_range: crowd figure heights as fractions of the side.
        crowd_dilation: the crowd blob is the figures' pixels dilated by this fraction of their median height.
        lying_prob: probability that a person is rotated far from upright.
        clutter_count: inclusive (min, max) number of clutter shapes in the background (some look like limbs).
        min_visible_area: persons / crowds with fewer visible pixels are not annotated.
        decimals: keypoint coordinates are rounded to this many decimals (before drawing and labelling).
        proportions: body segment lengths (COCO body model).
        skeleton: the keypoint set drawn; ``None`` (or COCO-17 itself): the COCO body model, else stick figures of
            the skeleton's rest layout (:func:`~.skeleton.skeleton_layout`) with the same scene rules.
    """
    image_size: Tuple[int, int] = (256, 256)
    people_per_image: Tuple[int, int] = (1, 6)
    height_range: Tuple[float, float] = (0.15, 0.9)
    truncation_prob: float = 0.3
    truncation_margin: float = 0.5
    tiny_prob: float = 0.3
    tiny_count: Tuple[int, int] = (1, 3)
    tiny_height_range: Tuple[float, float] = (0.05, 0.1)
    crowd_prob: float = 0.2
    crowd_count: Tuple[int, int] = (6, 14)
    crowd_height_range: Tuple[float, float] = (0.08, 0.15)
    crowd_dilation: float = 0.25
    lying_prob: float = 0.08
    clutter_count: Tuple[int, int] = (2, 11)
    min_visible_area: int = 4
    decimals: int = 2
    proportions: BodyProportions = field(default_factory=BodyProportions)
    skeleton: Optional[Skeleton] = None

    def __post_init__(self):
        w, h = self.image_size
        if int(w) != w or int(h) != h or w < 16 or h < 16:
            raise ValueError(f'image_size must be two integers >= 16 (width, height), got {self.image_size}')
        for name in ('people_per_image', 'tiny_count', 'crowd_count', 'clutter_count'):
            lo, hi = getattr(self, name)
            if not (0 <= lo <= hi) or int(lo) != lo or int(hi) != hi:
                raise ValueError(f'{name} must be integers 0 <= min <= max, got {(lo, hi)}')
        if self.people_per_image[0] < 1:
            raise ValueError(f'people_per_image must draw at least one person, got {self.people_per_image}')
        for name in ('height_range', 'tiny_height_range', 'crowd_height_range'):
            lo, hi = getattr(self, name)
            if not 0 < lo <= hi <= 2:
                raise ValueError(f'{name} must satisfy 0 < min <= max <= 2 (fractions of the side), got {(lo, hi)}')
        for name in ('truncation_prob', 'tiny_prob', 'crowd_prob', 'lying_prob', 'truncation_margin'):
            if not 0 <= getattr(self, name) <= 1:
                raise ValueError(f'{name} must be in [0, 1], got {getattr(self, name)}')
        max_ids = self.people_per_image[1] + self.tiny_count[1] + 1
        if max_ids > 254:
            raise ValueError(f'at most 254 figures (persons + tiny + 1 crowd) per image, config allows {max_ids}')


@dataclass
class Instance:
    """One annotation-to-be: keypoints (K, 3) (x, y, v) in COCO px, visible mask (H, W) bool, crowd flag."""
    keypoints: np.ndarray
    mask: np.ndarray
    iscrowd: bool


def _log_uniform(rng: np.random.Generator, lo: float, hi: float, n: int) -> np.ndarray:
    return np.exp(rng.uniform(np.log(lo), np.log(hi), n))


@functools.lru_cache(maxsize=8)
def _layout(skeleton: Skeleton) -> SkeletonLayout:
    return skeleton_layout(skeleton)


def _figure_model(cfg: SceneConfig) -> Optional[Tuple[Skeleton, SkeletonLayout]]:
    """``None`` for the COCO body model, else the skeleton and its rest layout."""
    if cfg.skeleton is None or cfg.skeleton.is_coco:
        return None
    return cfg.skeleton, _layout(cfg.skeleton)


def _num_keypoints(cfg: SceneConfig) -> int:
    return NUM_KEYPOINTS if cfg.skeleton is None else cfg.skeleton.num_keypoints


def _extent(cfg: SceneConfig) -> Tuple[float, float]:
    """(above, below) the pelvis / root of an upright figure, in heights."""
    figure = _figure_model(cfg)
    return pose_extent(cfg.proportions) if figure is None else (figure[1].above, figure[1].below)


def _place(rng: np.random.Generator, heights: np.ndarray, width: int, height: int, margin: np.ndarray,
           extent: Tuple[float, float]) -> np.ndarray:
    """Pelvis positions (N, 2) such that each upright body box lies inside the image up to ``margin`` (N,) of it."""
    above, below = extent
    box_w, box_h = 0.5 * heights, (above + below) * heights
    x0 = rng.uniform(-margin * box_w, np.maximum(-margin * box_w, width - (1 - margin) * box_w))
    y0 = rng.uniform(-margin * box_h, np.maximum(-margin * box_h, height - (1 - margin) * box_h))
    return np.stack([x0 + box_w / 2, y0 + above * heights], axis=-1)


def keypoint_visibility(poses: PoseBatch, owner: np.ndarray, owner_ids: np.ndarray) -> np.ndarray:
    """COCO keypoints with v from the labelling rules in the module docstring (vectorised over persons).

    Args:
        poses: N poses; ``keypoints`` (N, K, 2) and ``self_occluded`` (N, K) are used.
        owner: uint8 (H, W) owner map after ALL figures are drawn.
        owner_ids: (N,) the id each person was drawn with.

    Returns:
        float64 (N, K, 3): (x, y, v) in COCO px, v in {0, 1, 2}, x = y = 0 where v = 0.
    """
    owner_ids = np.asarray(owner_ids)
    if owner.ndim != 2 or owner_ids.shape != (len(poses), ):
        raise ValueError(f'owner must be (H, W) and owner_ids ({len(poses)},), got {owner.shape}, {owner_ids.shape}')
    h, w = owner.shape
    kpts = poses.keypoints
    inside = (kpts[..., 0] >= 0) & (kpts[..., 0] < w) & (kpts[..., 1] >= 0) & (kpts[..., 1] < h)
    px = np.clip(np.floor(kpts[..., 0]).astype(np.int64), 0, w - 1)
    py = np.clip(np.floor(kpts[..., 1]).astype(np.int64), 0, h - 1)
    on_top = (owner[py, px] == owner_ids[:, None]) & ~poses.self_occluded
    vis = np.where(inside, np.where(on_top, 2, 1), 0)
    xy = np.where(inside[..., None], kpts, 0.0)
    return np.concatenate([xy, vis[..., None].astype(np.float64)], axis=-1)


def _sample_rounded(rng: np.random.Generator, heights: np.ndarray, pelvis: np.ndarray, cfg: SceneConfig,
                    lying_prob: float) -> PoseBatch:
    """Sample poses and round keypoints to the precision written to JSON *before* drawing and labelling, so that
    the stored coordinates are exactly the ones the visibility rules saw."""
    figure = _figure_model(cfg)
    if figure is None:
        poses = sample_poses(rng, heights, pelvis, cfg.proportions, lying_prob)
    else:
        poses = sample_skeleton_poses(rng, figure[1], heights, pelvis, lying_prob)
    decimals = cfg.decimals
    poses.keypoints = np.round(poses.keypoints, decimals)
    return poses


def render_scene(rng: np.random.Generator, cfg: SceneConfig) -> Tuple[np.ndarray, List[Instance]]:
    """Draw one image and derive its instances.

    Args:
        rng: the image's own generator (all randomness of the image comes from it).
        cfg: generator knobs.

    Returns:
        (image uint8 (H, W, 3) BGR, instances in drawing order: crowd first, then tiny, then labelled persons).
    """
    width, height = (int(v) for v in cfg.image_size)
    side = min(width, height)
    img = render_background(rng, width, height, cfg.clutter_count)
    owner = np.zeros((height, width), dtype=np.uint8)
    instances: List[Instance] = []
    figure = _figure_model(cfg)
    extent = _extent(cfg)
    num_keypoints = _num_keypoints(cfg)

    # Far-away content first: an optional crowd cluster and optional tiny people.
    crowd_id = 0
    if rng.random() < cfg.crowd_prob:
        n = int(rng.integers(cfg.crowd_count[0], cfg.crowd_count[1] + 1))
        heights = _log_uniform(rng, *cfg.crowd_height_range, n) * side
        region_w, region_h = rng.uniform(0.25, 0.6) * width, rng.uniform(0.1, 0.25) * height
        rx, ry = rng.uniform(0, width - region_w), rng.uniform(0.1 * height, height - region_h)
        pelvis = np.stack([rx + rng.uniform(0, region_w, n), ry + rng.uniform(0, region_h, n)], -1)
        order = np.argsort(pelvis[:, 1], kind='stable')  # higher up = farther away = drawn first
        poses = _sample_rounded(rng, heights[order], pelvis[order], cfg, 0.0)
        crowd_id = 255
        draw_people(img, owner, poses, Appearance.sample(rng, n), [crowd_id] * n, figure)
        crowd_height = float(np.median(heights))

    tiny_ids: List[int] = []
    if rng.random() < cfg.tiny_prob:
        n = int(rng.integers(cfg.tiny_count[0], cfg.tiny_count[1] + 1))
        heights = _log_uniform(rng, *cfg.tiny_height_range, n) * side
        poses = _sample_rounded(rng, heights, _place(rng, heights, width, height, np.zeros(n), extent), cfg,
                                cfg.lying_prob)
        tiny_ids = list(range(cfg.people_per_image[1] + 1, cfg.people_per_image[1] + 1 + n))
        draw_people(img, owner, poses, Appearance.sample(rng, n), tiny_ids, figure)

    # Labelled people, farther (smaller, with some jitter) first.
    n = int(rng.integers(cfg.people_per_image[0], cfg.people_per_image[1] + 1))
    heights = _log_uniform(rng, *cfg.height_range, n) * side
    heights = heights[np.argsort(heights * rng.uniform(0.7, 1.3, n), kind='stable')]
    margin = np.where(rng.random(n) < cfg.truncation_prob, cfg.truncation_margin, 0.05)
    poses = _sample_rounded(rng, heights, _place(rng, heights, width, height, margin, extent), cfg, cfg.lying_prob)
    person_ids = np.arange(1, n + 1)
    draw_people(img, owner, poses, Appearance.sample(rng, n), person_ids.tolist(), figure)
    keypoints = keypoint_visibility(poses, owner, person_ids)

    # Labels, from the final owner map.
    labelled_with_keypoints = np.zeros_like(owner, dtype=bool)
    person_instances: List[Instance] = []
    for pid, kpts in zip(person_ids, keypoints):
        mask = owner == pid
        if mask.sum() < cfg.min_visible_area:
            continue
        if not np.any(kpts[:, 2] == 2):
            kpts = np.zeros((num_keypoints, 3))  # nothing of it is visible to locate: demote to num_keypoints=0
        else:
            labelled_with_keypoints |= mask
        person_instances.append(Instance(keypoints=kpts, mask=mask, iscrowd=False))

    if crowd_id:
        k = max(3, 2 * int(round(cfg.crowd_dilation * crowd_height / 2)) + 1)
        blob = cv2.dilate((owner == crowd_id).astype(np.uint8), cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k)))
        crowd_mask = blob.astype(bool) & ~labelled_with_keypoints
        if crowd_mask.sum() >= cfg.min_visible_area:
            instances.append(Instance(keypoints=np.zeros((num_keypoints, 3)), mask=crowd_mask, iscrowd=True))
    for tid in tiny_ids:
        mask = owner == tid
        if mask.sum() >= cfg.min_visible_area:
            instances.append(Instance(keypoints=np.zeros((num_keypoints, 3)), mask=mask, iscrowd=False))
    instances.extend(person_instances)
    return img, instances
