"""Per-level ignore masks for bottom-up training (``docs/reference_behaviour.md#which-people-and-which-pixels``).

The reference builds a *valid* mask at the original image size (1 = use, 0 = ignore: pixels covered by a crowd
region or by the polygon of a non-crowd person with ``num_keypoints == 0``), warps it as ``uint8 * 255`` with
``cv2.warpAffine`` (bilinear, constant border 0) straight into every output size, thresholds ``/255 > 0.5`` and
flips the level array when the sample is flipped. Pixels that come from outside the source image therefore end up
ignored, also for CrowdPose, whose mask is all-valid before the warp.

Why not MMPose's ``BottomupGetHeatmapMask``: it skips crowd RLE dicts altogether (it only rasterises list-type
segmentations), warps to the input size and bilinearly resizes a float mask to each level (different boundary
pixels), and flips at input size. None of that matches the reference, so the target transform owns the masks.
(It also calls ``xtcocotools.mask.decode``, which fails under NumPy 2 - ``np.NPY_OWNDATA`` is gone - as soon as an
image has a polygon to rasterise; we use ``pycocotools``, the library the reference uses.)
"""
from typing import Any, Dict, List, Optional, Sequence, Tuple

import cv2
import numpy as np
import pycocotools.mask as cocomask

MASK_SOURCES = ('auto', 'raw_ann_info', 'invalid_segs')


def select_ignore_segments(results: Dict[str, Any], source: str = 'auto') -> List[Any]:
    """COCO segmentations whose pixels must be ignored by the heatmap loss.

    Args:
        results: the pipeline dict.
        source: ``'raw_ann_info'`` applies the reference rule to the per-instance raw annotations (a bottom-up
            MMPose dataset stores them as a list of dicts): every ``iscrowd`` annotation, and every other one with
            ``num_keypoints == 0``. ``'invalid_segs'`` uses MMPose's ``results['invalid_segs']``, which holds the
            same annotations plus those with a degenerate (clipped) box or all-zero keypoints.
            ``'auto'``: ``raw_ann_info`` when present, else ``invalid_segs`` when present, else no segment.

    Returns:
        A list of segmentations (polygon lists or RLE dicts), possibly empty.
    """
    if source not in MASK_SOURCES:
        raise ValueError(f'mask source must be one of {MASK_SOURCES}, got {source!r}')
    raw = results.get('raw_ann_info')
    has_raw = isinstance(raw, (list, tuple)) and all(isinstance(ann, dict) for ann in raw)
    if source == 'raw_ann_info' or (source == 'auto' and has_raw):
        if not has_raw:
            raise ValueError("ignore-mask source 'raw_ann_info' needs results['raw_ann_info'] as a list of COCO "
                             f'annotation dicts, got {type(raw).__name__}')
        return [ann.get('segmentation') for ann in raw if _is_ignored_annotation(ann)]
    if source == 'invalid_segs' and 'invalid_segs' not in results:
        raise ValueError("ignore-mask source 'invalid_segs' needs results['invalid_segs'] (bottom-up datasets)")
    return list(results.get('invalid_segs', []))


def _is_ignored_annotation(ann: Dict[str, Any]) -> bool:
    """Reference rule: crowd annotations, and non-crowd annotations without labelled keypoints."""
    if ann.get('iscrowd', 0):
        return True
    num_keypoints = ann.get('num_keypoints')
    if num_keypoints is None:  # not stored: count labelled joints (v > 0) like COCO does
        num_keypoints = int(np.count_nonzero(np.asarray(ann.get('keypoints', []), dtype=np.float64)[2::3] > 0))
    return num_keypoints == 0


def rasterize_segments(segments: Sequence[Any], image_shape: Tuple[int, int]) -> np.ndarray:
    """Union of COCO segmentations as a (h, w) uint8 map (1 = covered).

    Accepts polygon lists (``[[x0, y0, x1, y1, ...], ...]``, or a single flat polygon), uncompressed RLE dicts
    (``counts`` a list, COCO crowd annotations) and compressed RLE dicts (``counts`` str/bytes). ``None``, empty
    entries and polygons with fewer than 3 vertices contribute nothing. Rasterisation is pycocotools', as in the
    reference.
    """
    height, width = image_shape
    rles = []
    for seg in segments:
        if seg is None or (isinstance(seg, (list, tuple)) and len(seg) == 0):
            continue
        if isinstance(seg, dict):
            if 'counts' not in seg or 'size' not in seg:
                raise ValueError(f"RLE segmentation needs 'counts' and 'size', got keys {sorted(seg)}")
            if tuple(seg['size']) != (height, width):
                raise ValueError(f"RLE segmentation size {tuple(seg['size'])} does not match the image shape "
                                 f'{(height, width)} (h, w)')
            counts = seg['counts']
            if isinstance(counts, (list, tuple)):
                rles.append(cocomask.frPyObjects(seg, height, width))
            else:
                counts = counts.encode('ascii') if isinstance(counts, str) else counts
                rles.append({'size': [height, width], 'counts': counts})
        elif isinstance(seg, (list, tuple)):
            # fewer than 3 vertices enclose no area (and pycocotools rejects them when first in the list)
            polygons = [seg] if np.isscalar(seg[0]) else list(seg)
            polygons = [p for p in polygons if len(p) >= 6]
            if polygons:
                rles.extend(cocomask.frPyObjects([list(map(float, p)) for p in polygons], height, width))
        else:
            raise ValueError(f'unsupported segmentation type {type(seg).__name__}; expected polygons or an RLE dict')
    if not rles:
        return np.zeros((height, width), dtype=np.uint8)
    return cocomask.decode(cocomask.merge(rles)).astype(np.uint8)


def warp_valid_mask(valid: np.ndarray,
                    matrix: np.ndarray,
                    output_size: Tuple[int, int],
                    ignore_outside_image: bool = True) -> np.ndarray:
    """Warp a source-image valid mask into one output level, the reference way.

    Args:
        valid: (h, w) bool/0-1 valid mask at the source image size (1 = use).
        matrix: (2, 3) source px -> level px affine.
        output_size: (W, H) of the level.
        ignore_outside_image: pixels mapping outside the source image become ignored (reference). If False they
            stay valid.

    Returns:
        (H, W) float32 mask in {0, 1}: the uint8 ``255 * valid`` bilinear warp thresholded at ``/255 > 0.5``.
    """
    source = np.asarray(valid, dtype=np.uint8) * np.uint8(255)
    warped = cv2.warpAffine(
        source,
        np.asarray(matrix, dtype=np.float64), (int(output_size[0]), int(output_size[1])),
        flags=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=0 if ignore_outside_image else 255)
    # x / 255 > 0.5  <=>  x >= 128 for uint8 x
    return (warped >= 128).astype(np.float32)


def affine_to_3x3(warp_mat: Optional[np.ndarray]) -> np.ndarray:
    """(3, 3) float64 version of a (2, 3) or affine (3, 3) matrix; identity for None. Rejects perspective ones."""
    if warp_mat is None:
        return np.eye(3)
    mat = np.asarray(warp_mat, dtype=np.float64)
    if mat.shape == (2, 3):
        return np.vstack([mat, [0.0, 0.0, 1.0]])
    if mat.shape == (3, 3):
        if not np.allclose(mat[2], [0.0, 0.0, 1.0]):
            raise ValueError('warp_mat is a perspective transform; only affine warps are supported for targets')
        return mat
    raise ValueError(f"results['warp_mat'] must be (2, 3) or (3, 3), got {mat.shape}")
