"""COCO keypoint annotation building: masks -> polygons / RLE / bbox / area, and deterministic JSON writing.

Pixel convention (COCO masks): pixel (i, j) covers [i, i+1) x [j, j+1); bboxes are ``[x, y, w, h]`` in that
convention, so a bbox computed from a mask contains every point that lies in one of the mask's pixels.
"""
import json
from typing import Dict, List, Optional, Sequence

import cv2
import numpy as np

from .skeleton import COCO_KEYPOINT_NAMES, COCO_SKELETON, NUM_KEYPOINTS

PERSON_CATEGORY_ID = 1


def coco_person_category() -> Dict:
    """The COCO 'person' category with its 17 keypoint names and 1-based skeleton."""
    return dict(
        supercategory='person',
        id=PERSON_CATEGORY_ID,
        name='person',
        keypoints=list(COCO_KEYPOINT_NAMES),
        skeleton=[list(pair) for pair in COCO_SKELETON])


def _check_mask(mask: np.ndarray) -> np.ndarray:
    mask = np.asarray(mask)
    if mask.ndim != 2:
        raise ValueError(f'mask must be a 2-D (H, W) array, got shape {mask.shape}')
    return mask.astype(bool)


def mask_to_bbox(mask: np.ndarray) -> List[float]:
    """Tight ``[x, y, w, h]`` (COCO px) of a non-empty boolean (H, W) mask."""
    mask = _check_mask(mask)
    cols, rows = np.flatnonzero(mask.any(axis=0)), np.flatnonzero(mask.any(axis=1))
    if len(cols) == 0:
        raise ValueError('mask_to_bbox got an empty mask')
    return [float(cols[0]), float(rows[0]), float(cols[-1] + 1 - cols[0]), float(rows[-1] + 1 - rows[0])]


def mask_to_rle(mask: np.ndarray) -> Dict:
    """Uncompressed COCO RLE of a boolean (H, W) mask, as stored for ``iscrowd=1`` in COCO's own files.

    ``counts`` alternates run lengths of 0s and 1s over the column-major (Fortran) flattening, starting with 0s.
    """
    mask = _check_mask(mask)
    flat = mask.flatten(order='F').astype(np.int8)
    change = np.flatnonzero(np.diff(flat)) + 1  # indices where a new run starts
    bounds = np.concatenate([[0], change, [flat.size]])
    counts = np.diff(bounds).tolist()
    if flat.size and flat[0] == 1:
        counts = [0] + counts  # RLE must start with a (possibly empty) 0-run
    return dict(counts=[int(c) for c in counts], size=[int(mask.shape[0]), int(mask.shape[1])])


def rle_to_mask(rle: Dict) -> np.ndarray:
    """Inverse of :func:`mask_to_rle` (uncompressed RLE only): uint8 (H, W)."""
    h, w = rle['size']
    counts = np.asarray(rle['counts'], dtype=np.int64)
    if counts.sum() != h * w:
        raise ValueError(f"RLE counts sum to {counts.sum()}, expected size {h}x{w}={h * w}")
    values = np.arange(len(counts)) % 2
    return np.repeat(values, counts).astype(np.uint8).reshape((w, h)).T


def mask_to_polygons(mask: np.ndarray, min_points: int = 3) -> List[List[float]]:
    """COCO polygons (``[[x1, y1, x2, y2, ...], ...]``, COCO px) of the outer contours of a boolean mask.

    Vertices are the centres of the boundary pixels; contours with fewer than ``min_points`` vertices are dropped.
    If none survive (a sliver mask), the mask's bbox rectangle is returned so the region is never lost.
    """
    mask = _check_mask(mask)
    contours, _ = cv2.findContours(mask.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    polygons = [(c.reshape(-1, 2) + 0.5).ravel().tolist() for c in contours if len(c) >= min_points]
    if not polygons:
        x, y, w, h = mask_to_bbox(mask)
        polygons = [[x, y, x + w, y, x + w, y + h, x, y + h]]
    return [[float(v) for v in poly] for poly in polygons]


def build_annotation(ann_id: int,
                     image_id: int,
                     keypoints: np.ndarray,
                     mask: np.ndarray,
                     iscrowd: bool,
                     decimals: int = 2,
                     num_keypoints: int = NUM_KEYPOINTS) -> Dict:
    """One COCO person (or animal) annotation.

    Args:
        ann_id: annotation id (unique within the file).
        image_id: id of the image entry.
        keypoints: (K, 3) array of (x, y, v) in COCO px; v in {0, 1, 2} and x = y = 0 where v == 0.
        mask: boolean (H, W) visible region of the person (or of the whole crowd).
        iscrowd: crowd region (segmentation stored as uncompressed RLE) instead of one person (polygons).
        decimals: keypoint coordinates are rounded to this many decimals.
        num_keypoints: K of the keypoint set (COCO: 17).

    Returns:
        Dict with id, image_id, category_id, keypoints (3K numbers), num_keypoints, bbox, area, iscrowd,
        segmentation.
    """
    keypoints = np.asarray(keypoints, dtype=np.float64)
    if keypoints.shape != (num_keypoints, 3):
        raise ValueError(f'keypoints must have shape ({num_keypoints}, 3), got {keypoints.shape}')
    vis = keypoints[:, 2]
    if not np.isin(vis, (0, 1, 2)).all():
        raise ValueError(f'keypoint visibility must be 0, 1 or 2, got {np.unique(vis).tolist()}')
    if np.any(keypoints[vis == 0, :2] != 0):
        raise ValueError('keypoints with v=0 must have x=y=0')
    if iscrowd and np.any(vis > 0):
        raise ValueError('a crowd annotation must not have labelled keypoints')
    mask = _check_mask(mask)
    flat: List[float] = []
    for x, y, v in keypoints:
        flat += [round(float(x), decimals), round(float(y), decimals), int(v)]
    return dict(
        id=int(ann_id),
        image_id=int(image_id),
        category_id=PERSON_CATEGORY_ID,
        keypoints=flat,
        num_keypoints=int(np.count_nonzero(vis)),
        bbox=mask_to_bbox(mask),
        area=float(mask.sum()),
        iscrowd=int(bool(iscrowd)),
        segmentation=mask_to_rle(mask) if iscrowd else mask_to_polygons(mask))


def write_coco_json(path: str,
                    images: Sequence[Dict],
                    annotations: Sequence[Dict],
                    description: str,
                    category: Optional[Dict] = None) -> None:
    """Write a COCO keypoint file; the output is byte-identical for identical inputs (fixed key order).

    ``category``: the one category entry (keypoint names, 1-based skeleton); default COCO's person.
    """
    data = dict(
        info=dict(
            description=description,
            version='1.0',
            year=2021,
            contributor='swahr_mmpose synthetic',
            date_created='1970-01-01'),
        licenses=[dict(id=1, name='synthetic', url='')],
        images=list(images),
        annotations=list(annotations),
        categories=[category if category is not None else coco_person_category()])
    with open(path, 'w', encoding='utf-8') as f:
        json.dump(data, f, separators=(',', ':'))
