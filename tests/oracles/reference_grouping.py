"""Plain loop implementation of the reference associative-embedding parser (``docs/reference_behaviour.md#7-grouping``).

The oracle for :class:`swahr_mmpose.codecs.AEDecoder` in tests and its baseline in ``tools/benchmark_decoder.py``.
It follows the reference step by step, with the reference's data types (float32 maps and tag means, float64 costs)
and always solves assignments with ``munkres.Munkres``; it is slow on purpose (clarity over speed).

Same two determinisations as the decoder: equal heatmap values are ranked by pixel index (the reference's
``torch.topk`` leaves their order unspecified), and a tag read position outside the map is clamped (the reference
would wrap around or fail).
"""
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
from munkres import Munkres
from numpy.lib.stride_tricks import sliding_window_view

REFERENCE_KEYPOINT_ORDER = (0, 1, 2, 3, 4, 5, 6, 11, 12, 7, 8, 9, 10, 13, 14, 15, 16)
PAD_COST = 1e10


def reference_nms(heatmaps: np.ndarray, kernel: int) -> np.ndarray:
    """Zero every pixel that is not the maximum of its ``kernel x kernel`` window (``-inf`` outside the map).

    heatmaps: (J, H, W) float32 -> same shape.
    """
    half = kernel // 2
    padded = np.pad(heatmaps, ((0, 0), (half, half), (half, half)), constant_values=-np.inf)
    window_max = sliding_window_view(padded, (kernel, kernel), axis=(1, 2)).max(axis=(-2, -1))
    return heatmaps * (heatmaps == window_max).astype(np.float32)


def reference_top_k(peaks: np.ndarray, tags: np.ndarray, k: int) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per joint, the ``k`` highest NMS values (ties: lower pixel index first).

    Args:
        peaks: (J, H, W) NMS output.
        tags: (J, H, W, D).

    Returns:
        values (J, k) float32, pixels (J, k, 2) int64 as (x, y), tag vectors (J, k, D) float32.
    """
    num_joints, height, width = peaks.shape
    k = min(k, height * width)
    values, pixels, tag_k = [], [], []
    for j in range(num_joints):
        flat = peaks[j].reshape(-1)
        best = np.argsort(-flat, kind='stable')[:k]
        values.append(flat[best])
        pixels.append(np.stack([best % width, best // width], axis=1))
        tag_k.append(tags[j].reshape(height * width, -1)[best])
    return np.stack(values), np.stack(pixels), np.stack(tag_k)


class _Person:
    """One grouped person: per joint (x, y, value) and the tags assigned so far."""

    def __init__(self, num_joints: int) -> None:
        self.joints = np.zeros((num_joints, 3), dtype=np.float64)
        self.tags: List[np.ndarray] = []


def reference_match_by_tag(values: np.ndarray, pixels: np.ndarray, tag_k: np.ndarray, keypoint_order: Sequence[int],
                           keypoint_thr: float, tag_thr: float, max_match_groups: Optional[int],
                           skip_joint_if_groups_full: bool, use_detection_val: bool,
                           key_persons_by_first_tag: bool) -> np.ndarray:
    """Greedy joint-by-joint matching. Returns (P, J, 3) float32 rows (x, y, value), zeros for missing joints."""
    num_joints = values.shape[0]
    people: Dict[object, _Person] = {}  # insertion order = creation order

    def start_person(key: object, joint: int, row: int) -> None:
        person = people.setdefault(key, _Person(num_joints))
        person.joints[joint] = (pixels[joint, row, 0], pixels[joint, row, 1], values[joint, row])
        person.tags = [tag_k[joint, row]]

    new_key_counter = 0

    def key_of(joint: int, row: int) -> object:
        nonlocal new_key_counter
        if key_persons_by_first_tag:
            return tag_k[joint, row, 0]
        new_key_counter += 1
        return ('person', new_key_counter)

    for joint in keypoint_order:
        rows = [r for r in range(values.shape[1]) if float(values[joint, r]) > keypoint_thr]
        if not rows:
            continue
        if not people:
            for r in rows:
                start_person(key_of(joint, r), joint, r)
            continue
        keys = list(people)
        if max_match_groups is not None:
            keys = keys[:max_match_groups]
            if skip_joint_if_groups_full and len(keys) == max_match_groups:
                continue
        group_tags = np.array([np.mean(people[key].tags, axis=0) for key in keys])
        cand_tags = np.array([tag_k[joint, r] for r in rows]).astype(np.float64)
        cand_values = np.array([values[joint, r] for r in rows]).astype(np.float64)
        distance = np.linalg.norm(cand_tags[:, None, :] - group_tags[None, :, :], ord=2, axis=2)
        cost = np.round(distance) * 100 - cand_values[:, None] if use_detection_val else distance.copy()
        num_cand, num_groups = distance.shape
        if num_cand > num_groups:
            cost = np.concatenate([cost, np.full((num_cand, num_cand - num_groups), PAD_COST)], axis=1)
        for i, col in Munkres().compute(cost):
            row = rows[i]
            if col < num_groups and distance[i, col] < tag_thr:
                person = people[keys[col]]
                person.joints[joint] = (pixels[joint, row, 0], pixels[joint, row, 1], values[joint, row])
                person.tags.append(tag_k[joint, row])
            else:
                start_person(key_of(joint, row), joint, row)
    if not people:
        return np.zeros((0, num_joints, 3), dtype=np.float32)
    return np.array([p.joints for p in people.values()]).astype(np.float32)


def _step_towards_higher(heat: np.ndarray, x: int, y: int) -> Tuple[float, float]:
    """(+1/-1, +1/-1): towards the higher horizontal / vertical neighbour, -1 on equality; borders clamped."""
    height, width = heat.shape
    sx = 1.0 if heat[y, min(x + 1, width - 1)] > heat[y, max(x - 1, 0)] else -1.0
    sy = 1.0 if heat[min(y + 1, height - 1), x] > heat[max(y - 1, 0), x] else -1.0
    return sx, sy


def reference_adjust(people: np.ndarray, heatmaps: np.ndarray, quarter_offset: float,
                     center_shift: float) -> np.ndarray:
    """Quarter-pixel step towards the higher neighbour plus ``center_shift``, for every detected joint (in place)."""
    for person in people:
        for joint in range(person.shape[0]):
            if person[joint, 2] > 0:
                x, y = int(person[joint, 0]), int(person[joint, 1])
                sx, sy = _step_towards_higher(heatmaps[joint], x, y)
                person[joint, 0] = x + quarter_offset * sx + center_shift
                person[joint, 1] = y + quarter_offset * sy + center_shift
    return people


def reference_refine(person: np.ndarray, heatmaps: np.ndarray, tags: np.ndarray, quarter_offset: float,
                     center_shift: float) -> np.ndarray:
    """Fill the person's missing joints from the whole map (in place). person: (J, 3) float32."""
    num_joints, height, width = heatmaps.shape
    read = []
    for joint in range(num_joints):
        if person[joint, 2] > 0:
            x = min(max(int(person[joint, 0]), 0), width - 1)
            y = min(max(int(person[joint, 1]), 0), height - 1)
            read.append(tags[joint, y, x])
    person_tag = np.mean(read, axis=0)
    for joint in range(num_joints):
        heat = heatmaps[joint]
        distance = ((tags[joint] - person_tag[None, None, :])**2).sum(axis=2)**0.5
        y, x = np.unravel_index(np.argmax(heat - np.round(distance)), heat.shape)
        value = heat[y, x]
        if value > 0 and person[joint, 2] == 0:
            sx, sy = _step_towards_higher(heat, int(x), int(y))
            person[joint] = (x + center_shift + quarter_offset * sx, y + center_shift + quarter_offset * sy, value)
    return person


def reference_decode(heatmaps: np.ndarray,
                     tags: np.ndarray,
                     keypoint_order: Optional[Sequence[int]] = None,
                     nms_kernel: int = 5,
                     topk: int = 30,
                     keypoint_thr: float = 0.1,
                     tag_thr: float = 1.0,
                     max_instances: Optional[int] = None,
                     max_match_groups: Optional[int] = 30,
                     skip_joint_if_groups_full: bool = False,
                     use_detection_val: bool = True,
                     key_persons_by_first_tag: bool = True,
                     adjust: bool = True,
                     refine: bool = True,
                     center_shift: float = 0.5,
                     quarter_offset: float = 0.25) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The whole reference parse of one image, in :class:`AEDecoder`'s output format.

    Args:
        heatmaps: (J, H, W), tags: (J, H, W, D), numpy (cast to float32). Other args as in ``AEDecoder``.

    Returns:
        keypoints (N, J, 2) float32, keypoint_scores (N, J) float32, instance_scores (N,) float32.
    """
    heatmaps = np.asarray(heatmaps, dtype=np.float32)
    tags = np.asarray(tags, dtype=np.float32)
    num_joints = heatmaps.shape[0]
    if keypoint_order is None:
        keypoint_order = REFERENCE_KEYPOINT_ORDER[:num_joints]
    values, pixels, tag_k = reference_top_k(reference_nms(heatmaps, nms_kernel), tags, topk)
    people = reference_match_by_tag(values, pixels, tag_k, keypoint_order, keypoint_thr, tag_thr, max_match_groups,
                                    skip_joint_if_groups_full, use_detection_val, key_persons_by_first_tag)
    if max_instances is not None:
        people = people[:max_instances]
    if adjust:
        people = reference_adjust(people, heatmaps, quarter_offset, center_shift)
    instance_scores = np.array([person[:, 2].mean() for person in people], dtype=np.float32)
    if refine:
        for person in people:
            reference_refine(person, heatmaps, tags, quarter_offset, center_shift)
    return people[..., :2].copy(), people[..., 2].copy(), instance_scores
