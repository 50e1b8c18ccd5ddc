"""Vectorised helpers for bottom-up training targets (the codec's encode side): level coordinates, integer centres,
Gaussians, tag indices.

Conventions used throughout (see ``docs/reference_behaviour.md#2-training-targets`` and ``#flip``):

* *input px*: pixels of the network input (after the random affine), pixel centres at integer coordinates (cv2).
* *level px*: pixels of one output level of size ``(W_l, H_l)``; ``x_level = x_input * W_l / W_in`` (likewise y),
  which is what the reference gets by warping the original joints with a per-level affine matrix (the same
  number mathematically; numerically equal up to float64 rounding of the matrix products).
* A joint is *placed* at an integer centre (``center_mode='truncate'``: ``int(x)`` toward zero, the reference;
  ``'round'``: ``floor(x + 0.5)``, the nearest pixel). It is dropped when the integer centre is outside
  ``[0, W_l) x [0, H_l)`` or its visibility is not ``> 0``.

Everything is vectorised over people x joints x window pixels; there is no Python loop over people or joints.
"""
from typing import Optional, Sequence, Tuple, Union

import numpy as np

CENTER_MODES = ('truncate', 'round')
FLIP_CONVENTIONS = ('reference', 'consistent')

# Degenerate per-person sigmas (zero-size boxes) are floored here, in level px: the Gaussian then degenerates to a
# single-pixel peak of value 1 instead of producing 0/0 = NaN.
MIN_SIGMA = 1e-2


def gaussian_radius(sigma: float) -> int:
    """Half-width (level px) of the square window a Gaussian of std ``sigma`` is drawn in.

    The reference kernel is ``6*sigma + 3`` wide with its centre at ``3*sigma + 1`` (15 px, radius 7 for sigma 2);
    for non-integer sigma we keep a symmetric window of radius ``ceil(3*sigma + 1)``.
    """
    return int(np.ceil(3.0 * float(sigma) + 1.0))


def gaussian_kernel(sigma: float) -> np.ndarray:
    """The reference's unnormalised Gaussian kernel, ``(2r+1, 2r+1)`` float32 with peak 1 at ``[r, r]``.

    Values are ``exp(-(du**2 + dv**2) / (2 sigma**2))`` computed in float64 on integer offsets and then cast to
    float32, which is bit-identical to what the reference writes into its float32 heatmaps.
    """
    radius = gaussian_radius(sigma)
    offsets = np.arange(-radius, radius + 1, dtype=np.float64)
    sq_dist = offsets[None, :]**2 + offsets[:, None]**2
    return np.exp(-sq_dist / (2.0 * float(sigma)**2)).astype(np.float32)


def to_level_coordinates(keypoints: np.ndarray,
                         input_size: Tuple[int, int],
                         heatmap_size: Tuple[int, int],
                         flipped: bool = False,
                         flip_convention: str = 'reference') -> np.ndarray:
    """Map keypoints from input px to the px of one output level.

    Args:
        keypoints: (N, K, 2) keypoints in input px (already flipped if the sample was flipped, as
            ``x' = W_in - 1 - x``, i.e. the flip of the image pixel array).
        input_size: (W_in, H_in) of the network input.
        heatmap_size: (W_l, H_l) of the level.
        flipped: whether the sample was horizontally flipped.
        flip_convention: ``'reference'`` reproduces the reference, which flips joints at each level as
            ``x' = W_l - 1 - x_level``; from input-px-flipped keypoints that is ``x_level += W_l/W_in - 1``
            (-0.75 px at 1/4, -0.5 px at 1/2). ``'consistent'`` keeps the flip consistent with the image
            (``x' = W_l - W_l/W_in - x_level``), i.e. no correction.

    Returns:
        (N, K, 2) float64 keypoints in level px.
    """
    if flip_convention not in FLIP_CONVENTIONS:
        raise ValueError(f'flip_convention must be one of {FLIP_CONVENTIONS}, got {flip_convention!r}')
    ratio = np.array([heatmap_size[0] / input_size[0], heatmap_size[1] / input_size[1]], dtype=np.float64)
    coords = np.asarray(keypoints, dtype=np.float64) * ratio
    if flipped and flip_convention == 'reference':
        coords[..., 0] += ratio[0] - 1.0
    return coords


def integer_centers(coords: np.ndarray, center_mode: str = 'truncate') -> np.ndarray:
    """Integer Gaussian centres (still float64, to compare with the map bounds before any int cast).

    ``'truncate'``: ``trunc(x)`` toward zero, like the reference's ``int(x)`` (so x in (-1, 0) -> 0 and is kept).
    ``'round'``: ``floor(x + 0.5)``, the nearest pixel centre.
    """
    if center_mode == 'truncate':
        return np.trunc(coords)
    if center_mode == 'round':
        return np.floor(coords + 0.5)
    raise ValueError(f'center_mode must be one of {CENTER_MODES}, got {center_mode!r}')


def placed_joints_mask(centers: np.ndarray, visible: np.ndarray, heatmap_size: Tuple[int, int]) -> np.ndarray:
    """(N, K) bool: visibility ``> 0`` and integer centre inside ``[0, W) x [0, H)``.

    Args:
        centers: (N, K, 2) integer centres from :func:`integer_centers` (level px).
        visible: (N, K) visibility (reference: v=1 and v=2 both count, v=0 does not).
        heatmap_size: (W, H) of the level.
    """
    width, height = heatmap_size
    cx, cy = centers[..., 0], centers[..., 1]
    # NaN compares False everywhere, so a NaN coordinate is never placed (callers validate finiteness first).
    return (visible > 0) & (cx >= 0) & (cx < width) & (cy >= 0) & (cy < height)


def render_gaussian_heatmaps(heatmap_size: Tuple[int, int], num_keypoints: int, joint_ids: np.ndarray,
                             centers: np.ndarray, sigma: Union[float, np.ndarray]) -> np.ndarray:
    """Draw unnormalised Gaussians (peak 1) and combine overlapping ones with ``max``.

    Args:
        heatmap_size: (W, H) of the level.
        num_keypoints: K, the number of heatmap channels.
        joint_ids: (M,) int keypoint channel of each placed joint.
        centers: (M, 2) int64 integer centres (x, y) in level px, all inside the map.
        sigma: a float (same sigma for all, the reference) or (M,) per-joint sigmas, in level px.

    Returns:
        (K, H, W) float32 heatmaps. With a scalar sigma every window is the reference's clipped
        ``(6 sigma + 3)``-wide kernel, so the output is bit-identical to the reference ``HeatmapGenerator``.
    """
    width, height = heatmap_size
    heatmaps = np.zeros((num_keypoints, height, width), dtype=np.float32)
    num_placed = len(joint_ids)
    if num_placed == 0:
        return heatmaps

    per_joint_sigma = np.ndim(sigma) > 0
    if per_joint_sigma:
        sigmas = np.maximum(np.asarray(sigma, dtype=np.float64).reshape(num_placed), MIN_SIGMA)
        radius = gaussian_radius(sigmas.max())
    else:
        radius = gaussian_radius(sigma)
    offsets = np.arange(-radius, radius + 1)

    cx = centers[:, 0].astype(np.int64)
    cy = centers[:, 1].astype(np.int64)
    xs = cx[:, None] + offsets  # (M, D)
    ys = cy[:, None] + offsets  # (M, D)
    inside = ((ys >= 0) & (ys < height))[:, :, None] & ((xs >= 0) & (xs < width))[:, None, :]  # (M, D, D)

    if per_joint_sigma:
        radius_per_joint = np.ceil(3.0 * sigmas + 1.0)  # same rule as gaussian_radius, per joint
        in_window = np.abs(offsets)[None, :] <= radius_per_joint[:, None]  # (M, D)
        inside &= in_window[:, :, None] & in_window[:, None, :]
        sq_dist = (offsets[None, :]**2 + offsets[:, None]**2).astype(np.float64)  # (D, D)
        values = np.exp(-sq_dist[None] / (2.0 * sigmas[:, None, None]**2)).astype(np.float32)
    else:
        values = np.broadcast_to(gaussian_kernel(sigma), inside.shape)

    channel_base = joint_ids.astype(np.int64) * (height * width)
    flat_index = channel_base[:, None, None] + ys[:, :, None] * width + xs[:, None, :]
    np.maximum.at(heatmaps.reshape(-1), flat_index[inside], values[inside])
    return heatmaps


def tag_indices(centers: np.ndarray, placed: np.ndarray, heatmap_width: int) -> np.ndarray:
    """MMPose's slot-aligned associative-embedding indices ``[y * W + x, valid]``.

    Args:
        centers: (N, K, 2) integer centres in px of the tag level.
        placed: (N, K) bool, whether joint k of person n got a Gaussian at the tag level (and is within capacity).
        heatmap_width: W of the tag level.

    Returns:
        (N, K, 2) int64. Rows of joints that are not placed hold ``[0, 0]``, so the index is always a safe gather
        position even where the loss ignores it.
    """
    indices = np.zeros(placed.shape + (2, ), dtype=np.int64)
    flat = centers[..., 1] * heatmap_width + centers[..., 0]
    indices[..., 0] = np.where(placed, flat, 0).astype(np.int64)
    indices[..., 1] = placed
    return indices


def capacity_mask(placed: np.ndarray, max_num_people: Optional[int]) -> np.ndarray:
    """(N,) bool: which people keep their tag rows under a capacity of ``max_num_people``.

    Only people with at least one placed joint count; they are admitted in annotation order. ``None`` means no limit.
    """
    has_joint = placed.any(axis=1)
    if max_num_people is None:
        return np.ones(len(placed), dtype=bool)
    rank = np.cumsum(has_joint) - 1  # rank among people with joints, in annotation order
    return ~has_joint | (rank < max_num_people)


def person_sizes_in_input_px(bbox: np.ndarray, warp_mat: Optional[np.ndarray]) -> np.ndarray:
    """``max(box width, box height)`` per person, in input px.

    Args:
        bbox: either (N, 4, 2) box corners already mapped to input px (what ``BottomupRandomAffine`` and
            ``HigherHRNetRandomAffine`` produce: corners (x1,y1), (x1,y2), (x2,y1), (x2,y2) of the original box), or
            (N, 4) xyxy boxes in ORIGINAL image px, converted with the isotropic scale ``sqrt(|det A|)`` of the
            affine ``warp_mat = [A | t]`` (identity when ``warp_mat`` is None).
        warp_mat: (2, 3) or (3, 3) original px -> input px affine, or None.

    Returns:
        (N,) float64 sizes in input px. For a similarity transform (rotation + isotropic scale + shift) the corner
        edge lengths are exactly the original width/height times the scale.
    """
    bbox = np.asarray(bbox, dtype=np.float64)
    if bbox.ndim == 3 and bbox.shape[1:] == (4, 2):
        height = np.linalg.norm(bbox[:, 1] - bbox[:, 0], axis=-1)
        width = np.linalg.norm(bbox[:, 2] - bbox[:, 0], axis=-1)
        return np.maximum(width, height)
    if bbox.ndim == 2 and bbox.shape[1] == 4:
        size = np.maximum(bbox[:, 2] - bbox[:, 0], bbox[:, 3] - bbox[:, 1])
        scale = 1.0 if warp_mat is None else float(np.sqrt(abs(np.linalg.det(np.asarray(warp_mat)[:2, :2]))))
        return size * scale
    raise ValueError("results['bbox'] must be (N, 4) xyxy in original px or (N, 4, 2) corners in input px, "
                     f'got shape {bbox.shape}')


def as_size_pair(size: Union[int, Sequence[int]], name: str) -> Tuple[int, int]:
    """Normalise an int or (w, h) pair to a tuple of two positive ints; clear error otherwise."""
    if isinstance(size, (int, np.integer)):
        size = (int(size), int(size))
    try:
        width, height = (int(v) for v in size)
    except (TypeError, ValueError):
        raise ValueError(f'{name} must be an int or a (w, h) pair of ints, got {size!r}') from None
    if width <= 0 or height <= 0 or (width, height) != tuple(size):
        raise ValueError(f'{name} must be positive integers (w, h), got {size!r}')
    return width, height
