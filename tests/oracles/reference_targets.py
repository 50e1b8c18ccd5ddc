"""Straightforward loop implementations of the reference's training-data rules
(``docs/reference_behaviour.md#2-training-targets``, ``#3-masks-and-augmentation``).

They follow the spec's wording one step at a time (per person, per joint, per level) and are deliberately naive:
tests use them as oracles for the vectorised transforms in :mod:`swahr_mmpose.datasets.transforms`, and
``tools/benchmark_targets.py`` uses :func:`loop_generate_targets` as the baseline.

Coordinates: ``joints`` arrays are (N, K, 3) = (x, y, v) in the px of the level they are used at, as in the
reference, which warps the original joints into every output size with its own affine matrix.
"""
from typing import Dict, List, Optional, Sequence, Tuple

import cv2
import numpy as np
import pycocotools.mask as cocomask


def _size_pair(size) -> Tuple[int, int]:
    return (int(size), int(size)) if np.isscalar(size) else (int(size[0]), int(size[1]))


def reference_kernel(sigma: float = 2) -> np.ndarray:
    """The reference Gaussian patch: side ``6*sigma + 3``, centre ``3*sigma + 1``, peak 1 (float64)."""
    side = 6 * sigma + 3
    grid = np.arange(0, side, 1, dtype=np.float64)
    centre = 3 * sigma + 1
    return np.exp(-((grid[None, :] - centre)**2 + (grid[:, None] - centre)**2) / (2 * sigma**2))


def reference_heatmaps(joints: np.ndarray, heatmap_size, sigma: float = 2) -> np.ndarray:
    """HeatmapGenerator rule, one joint at a time. Returns (K, H, W) float32.

    For every person and joint with v > 0: centre = (int(x), int(y)) (truncation toward zero); skip it if the centre
    is outside the map; paste the kernel into the window [x - 3s - 1, x + 3s + 2) x [y - 3s - 1, y + 3s + 2),
    clipped at the borders; combine with max.
    """
    width, height = _size_pair(heatmap_size)
    kernel = reference_kernel(sigma)
    num_keypoints = joints.shape[1]
    heatmaps = np.zeros((num_keypoints, height, width), dtype=np.float32)
    for person in joints:
        for k in range(num_keypoints):
            x_f, y_f, v = person[k]
            if not v > 0:
                continue
            x, y = int(x_f), int(y_f)
            if x < 0 or y < 0 or x >= width or y >= height:
                continue
            left, top = int(np.round(x - 3 * sigma - 1)), int(np.round(y - 3 * sigma - 1))
            right, bottom = int(np.round(x + 3 * sigma + 2)), int(np.round(y + 3 * sigma + 2))
            map_x0, map_x1 = max(0, left), min(right, width)
            map_y0, map_y1 = max(0, top), min(bottom, height)
            ker_x0, ker_y0 = map_x0 - left, map_y0 - top
            patch = kernel[ker_y0:ker_y0 + (map_y1 - map_y0), ker_x0:ker_x0 + (map_x1 - map_x0)]
            region = heatmaps[k, map_y0:map_y1, map_x0:map_x1]
            heatmaps[k, map_y0:map_y1, map_x0:map_x1] = np.maximum(region, patch)
    return heatmaps


def reference_joint_indices(joints: np.ndarray, heatmap_size, max_num_people: int = 30) -> np.ndarray:
    """JointsGenerator rule: (max_num_people, K, 2) int, visible in-map joints packed to the front of each row.

    Row i is annotation i; each kept joint k writes ``(k*H*W + y*W + x, 1)`` into the next free slot. Like the
    reference, a person beyond the capacity that has a kept joint raises an IndexError.
    """
    width, height = _size_pair(heatmap_size)
    num_keypoints = joints.shape[1]
    packed = np.zeros((max_num_people, num_keypoints, 2), dtype=np.int64)
    for i, person in enumerate(joints):
        slot = 0
        for k in range(num_keypoints):
            x_f, y_f, v = person[k]
            x, y = int(x_f), int(y_f)
            if v > 0 and 0 <= x < width and 0 <= y < height:
                if i >= max_num_people:
                    raise IndexError(f'person {i} exceeds the reference capacity of {max_num_people}')
                packed[i, slot] = (k * height * width + y * width + x, 1)
                slot += 1
    return packed


def packed_to_slot_aligned(packed: np.ndarray, num_people: int, heatmap_size) -> np.ndarray:
    """Convert reference packed rows to MMPose's slot-aligned (N, K, 2) ``[y*W + x, valid]`` layout."""
    width, height = _size_pair(heatmap_size)
    num_keypoints = packed.shape[1]
    aligned = np.zeros((num_people, num_keypoints, 2), dtype=np.int64)
    for i in range(min(num_people, len(packed))):
        for slot in range(num_keypoints):
            index, valid = packed[i, slot]
            if valid:
                k, pixel = divmod(int(index), height * width)
                aligned[i, k] = (pixel, 1)
    return aligned


def loop_generate_targets(keypoints: np.ndarray,
                          keypoints_visible: np.ndarray,
                          input_size,
                          heatmap_sizes: Sequence,
                          sigma: float = 2,
                          tag_level: int = 0,
                          max_num_people: Optional[int] = None) -> Dict[str, object]:
    """Naive baseline producing the same outputs as ``ScaleAdaptiveGenerateTarget.encode_keypoints`` (no flip).

    Per level the (N, K, 2) input-px keypoints are scaled to level px one joint at a time and drawn with
    :func:`reference_heatmaps`; the tag level gets slot-aligned ``[y*W + x, valid]`` indices with the capacity
    rule (people with >= 1 kept joint are admitted in annotation order, up to ``max_num_people``).
    """
    in_w, in_h = _size_pair(input_size)
    num_people, num_keypoints = keypoints.shape[:2]
    heatmaps: List[np.ndarray] = []
    indices = np.zeros((num_people, num_keypoints, 2), dtype=np.int64)
    for level, size in enumerate(heatmap_sizes):
        width, height = _size_pair(size)
        joints = np.zeros((num_people, num_keypoints, 3))
        for n in range(num_people):
            for k in range(num_keypoints):
                joints[n, k] = (keypoints[n, k, 0] * (width / in_w), keypoints[n, k, 1] * (height / in_h),
                                keypoints_visible[n, k])
        heatmaps.append(reference_heatmaps(joints, (width, height), sigma))
        if level == tag_level:
            admitted = 0
            for n in range(num_people):
                row = []
                for k in range(num_keypoints):
                    x, y = int(joints[n, k, 0]), int(joints[n, k, 1])
                    if joints[n, k, 2] > 0 and 0 <= x < width and 0 <= y < height:
                        row.append((k, y * width + x))
                if not row:
                    continue
                admitted += 1
                if max_num_people is not None and admitted > max_num_people:
                    continue
                for k, pixel in row:
                    indices[n, k] = (pixel, 1)
    return dict(heatmaps=heatmaps, keypoint_indices=indices, keypoint_weights=indices[..., 1].astype(np.float32))


# ---------------------------------------------------------------------------------------------------- augmentation
def reference_draw_affine_params(img_h: int,
                                 img_w: int,
                                 min_scale: float = 0.75,
                                 max_scale: float = 1.5,
                                 max_rotation: float = 30,
                                 max_translate: float = 40,
                                 scale_type: str = 'short') -> Dict[str, object]:
    """Draw the reference's random affine parameters from ``np.random``, in the reference's order.

    Returns ``center`` (original px), ``scale`` (crop side / 200), ``aug_scale`` and ``rotation`` (degrees).
    """
    center = np.array((img_w / 2, img_h / 2))
    scale = (min(img_h, img_w) if scale_type == 'short' else max(img_h, img_w)) / 200
    aug_scale = np.random.random() * (max_scale - min_scale) + min_scale
    scale *= aug_scale
    rotation = (np.random.random() * 2 - 1) * max_rotation
    if max_translate > 0:
        center[0] += np.random.randint(-max_translate * scale, max_translate * scale)
        center[1] += np.random.randint(-max_translate * scale, max_translate * scale)
    return dict(center=center, scale=scale, aug_scale=aug_scale, rotation=rotation)


def reference_affine_matrix_3x3(center: Sequence[float], scale: float, output_side: int, rotation: float) -> np.ndarray:
    """The reference's crop matrix built step by step (3x3, original px -> square output of side S).

    Scale the 200*scale crop around ``center`` to S (centre -> S/2), then rotate by -rotation about (S/2, S/2).
    """
    crop = 200 * scale
    crop_mat = np.zeros((3, 3))
    crop_mat[0, 0] = output_side / crop
    crop_mat[1, 1] = output_side / crop
    crop_mat[0, 2] = output_side * (-center[0] / crop + 0.5)
    crop_mat[1, 2] = output_side * (-center[1] / crop + 0.5)
    crop_mat[2, 2] = 1
    if rotation == 0:
        return crop_mat
    angle = np.deg2rad(-rotation)
    rot_mat = np.array([[np.cos(angle), -np.sin(angle), 0], [np.sin(angle), np.cos(angle), 0], [0, 0, 1]])
    to_origin = np.eye(3)
    to_origin[:2, 2] = -output_side / 2
    back = np.eye(3)
    back[:2, 2] = output_side / 2
    return back @ rot_mat @ to_origin @ crop_mat


def reference_valid_mask(annotations: Sequence[dict], img_h: int, img_w: int) -> np.ndarray:
    """COCO ``get_mask``: (h, w) bool, False on crowd regions and on no-keypoint person polygons."""
    covered = np.zeros((img_h, img_w))
    for ann in annotations:
        if ann['iscrowd']:
            covered += cocomask.decode(cocomask.frPyObjects(ann['segmentation'], img_h, img_w))
        elif ann['num_keypoints'] == 0:
            for rle in cocomask.frPyObjects(ann['segmentation'], img_h, img_w):
                covered += cocomask.decode(rle)
    return covered < 0.5


def reference_sample(img: np.ndarray,
                     joints: np.ndarray,
                     valid_mask: np.ndarray,
                     params: Dict[str, object],
                     input_side: int,
                     output_sides: Sequence[int],
                     flip: bool,
                     flip_index: Sequence[int],
                     sigma: float = 2) -> Dict[str, list]:
    """One training sample the reference way: per-level affine of joints and mask, array flip, targets.

    Args:
        img: (h, w, C) original image.
        joints: (N, K, 3) original px (x, y, v).
        valid_mask: (h, w) bool valid mask at the original size.
        params: from :func:`reference_draw_affine_params`.
        input_side / output_sides: square sizes (I and the S of every level).
        flip: whether to apply the horizontal flip.
        flip_index: joint permutation of the flip.

    Returns:
        dict with ``img`` (I, I, C), and per level ``joints`` (N, K, 3), ``masks`` (S, S) float32, ``heatmaps``
        (K, S, S) float32 and ``packed_indices`` (30, K, 2) (from the level's JointsGenerator).
    """
    out = dict(joints=[], masks=[], heatmaps=[], packed_indices=[])
    for side in output_sides:
        mat = reference_affine_matrix_3x3(params['center'], params['scale'], side, params['rotation'])[:2]
        mask = cv2.warpAffine((valid_mask * 255).astype(np.uint8), mat, (side, side)) / 255
        mask = (mask > 0.5).astype(np.float32)
        level_joints = joints.astype(np.float64).copy()
        flat = level_joints[:, :, :2].reshape(-1, 2)
        level_joints[:, :, :2] = (np.hstack([flat, np.ones(
            (len(flat), 1))]) @ mat.T).reshape(joints.shape[0], joints.shape[1], 2)
        if flip:
            mask = mask[:, ::-1].copy()
            level_joints = level_joints[:, list(flip_index)]
            level_joints[:, :, 0] = side - level_joints[:, :, 0] - 1
        out['masks'].append(mask)
        out['joints'].append(level_joints)
        out['heatmaps'].append(reference_heatmaps(level_joints, side, sigma))
        out['packed_indices'].append(reference_joint_indices(level_joints, side))
    mat_in = reference_affine_matrix_3x3(params['center'], params['scale'], input_side, params['rotation'])[:2]
    image = cv2.warpAffine(img, mat_in, (input_side, input_side))
    if flip:
        image = image[:, ::-1].copy()
    out['img'] = image
    return out
