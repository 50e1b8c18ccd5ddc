"""``HigherHRNetRandomAffine``: the HigherHRNet / SWAHR training affine (``docs/reference_behaviour.md#random-affine``).

Why not MMPose's ``BottomupRandomAffine(distribution='uniform', scale_type='short', ...)``: its translation is a
continuous ``U[-1, 1] * shift_factor * (img_w, img_h)`` (per axis, proportional to the ORIGINAL image sides), while
the reference draws an integer shift ``randint(int(-40 * s), int(40 * s))`` with ``s = a * min(h, w) / 200``, i.e.
proportional to the crop side and the same bound for x and y. It also draws its random numbers in another order.
Scale (a ~ U[0.75, 1.5] of the short side) and rotation (U[-30, 30] deg) would match, the translation cannot.
"""
from typing import Any, Dict, Optional, Sequence, Tuple, Union

import cv2
import numpy as np
from mmcv.transforms import BaseTransform
from mmcv.transforms.utils import cache_randomness
from mmpose.registry import TRANSFORMS
from mmpose.structures.bbox import bbox_xyxy2corner

from swahr_mmpose.codecs.utils.gaussian_targets import as_size_pair

SCALE_TYPES = ('short', 'long')


def reference_affine_matrix(center: Sequence[float], crop_side: float, rotation_deg: float,
                            output_size: Tuple[int, int]) -> np.ndarray:
    """(2, 3) float64 affine: original px -> output px.

    The square of side ``crop_side`` around ``center`` is scaled to the short side of ``output_size`` and rotated
    by ``-rotation_deg`` about the output centre: ``x_out = R(-r) * (x - c) * min(W, H) / crop_side + (W/2, H/2)``.
    For a square output this is the reference's matrix; it is linear in the output size, so the matrix of any
    level is the input matrix scaled by ``S / I``.
    """
    out_w, out_h = output_size
    zoom = min(out_w, out_h) / float(crop_side)
    theta = np.deg2rad(-float(rotation_deg))
    cos, sin = np.cos(theta), np.sin(theta)
    linear = zoom * np.array([[cos, -sin], [sin, cos]])
    shift = np.array([out_w / 2.0, out_h / 2.0]) - linear @ np.asarray(center, dtype=np.float64)
    return np.hstack([linear, shift[:, None]])


@TRANSFORMS.register_module()
class HigherHRNetRandomAffine(BaseTransform):
    """Random scale / rotation / integer shift of the whole image, as in HigherHRNet and SWAHR training.

    Per sample, with the original image of size (h, w), drawn in the reference's order from ``np.random``:

    1. ``a = U[scale_factor[0], scale_factor[1])``; ``s = min(h, w) / 200 * a`` (``'long'``: ``max``). The crop side
       is ``200 * s`` original px (a > 1 zooms out).
    2. ``r = U[-rotate_factor, rotate_factor)`` degrees.
    3. If ``max_translate > 0``: ``dx, dy = randint(int(-max_translate * s), int(max_translate * s))`` original px
       (integers in ``[-40 s, 40 s)`` truncated toward zero, exactly numpy's treatment of the reference's float
       bounds). If the bound truncates to 0 (tiny images) the shift is 0 and nothing is drawn (the reference
       would raise).
    4. Centre ``(w/2 + dx, h/2 + dy)``; the image is warped to ``input_size`` with cv2 bilinear interpolation and a
       constant ``pad_val`` border (reference: black).

    Required keys: ``img``; optional ``keypoints`` (N, K, 2), ``bbox`` (N, 4) xyxy or (N, 4, 2) corners, ``area``.

    Modified keys:
        - ``img``: (H_in, W_in, C) warped image.
        - ``keypoints``: (N, K, 2) float64 input px (kept in float64 so that the per-level truncation of the targets
          does not see float32 rounding). ``keypoints_visible`` is unchanged, like in the reference: joints that
          leave the image are dropped later by the target generator.
        - ``bbox``: (N, 4, 2) box corners in input px (MMPose's ``BottomupRandomAffine`` convention).
        - ``area``: scaled by the affine's determinant.

    Added keys: ``input_size`` (W_in, H_in); ``warp_mat`` (2, 3) float64 original px -> input px (per-level matrices
    are this one scaled by ``S_l / I``); ``aug_scale`` (float, the drawn ``a``; the original -> input px scale is
    ``min(W_in, H_in) / (a * min(h, w))`` = ``sqrt(|det warp_mat[:, :2]|)``); ``aug_rotation`` (degrees) and
    ``aug_translation`` ((dx, dy) original px). ``img_shape`` is left at the original size, as MMPose's bottom-up
    affine does (``BottomupGetHeatmapMask`` relies on that).

    Args:
        input_size: (W_in, H_in) of the network input; an int means square (reference: 512 or 640). For non-square
            sizes the crop side maps to ``min(W_in, H_in)``.
        scale_factor: range of ``a`` (reference: (0.75, 1.5)).
        scale_type: ``'short'`` (reference) or ``'long'`` image side.
        rotate_factor: max rotation in degrees (reference: 30).
        max_translate: max shift in original px per 200 px of crop side (reference: 40).
        pad_val: border value of the warped image.
    """

    def __init__(self,
                 input_size: Union[int, Sequence[int]],
                 scale_factor: Tuple[float, float] = (0.75, 1.5),
                 scale_type: str = 'short',
                 rotate_factor: float = 30.0,
                 max_translate: float = 40.0,
                 pad_val: Union[float, Sequence[float]] = 0) -> None:
        super().__init__()
        self.input_size = as_size_pair(input_size, 'input_size')
        if len(scale_factor) != 2 or not 0 < scale_factor[0] <= scale_factor[1]:
            raise ValueError(f'scale_factor must be (min, max) with 0 < min <= max, got {scale_factor!r}')
        if scale_type not in SCALE_TYPES:
            raise ValueError(f'scale_type must be one of {SCALE_TYPES}, got {scale_type!r}')
        if rotate_factor < 0 or max_translate < 0:
            raise ValueError('rotate_factor and max_translate must be >= 0, got '
                             f'{rotate_factor!r} and {max_translate!r}')
        self.scale_factor = (float(scale_factor[0]), float(scale_factor[1]))
        self.scale_type = scale_type
        self.rotate_factor = float(rotate_factor)
        self.max_translate = float(max_translate)
        self.pad_val = tuple(pad_val) if isinstance(pad_val, (list, tuple)) else (pad_val, ) * 3

    @cache_randomness
    def _sample_params(self, img_h: int, img_w: int) -> Tuple[float, float, float, Tuple[int, int]]:
        """Draw (a, s, r, (dx, dy)) in the reference's order."""
        side = min(img_h, img_w) if self.scale_type == 'short' else max(img_h, img_w)
        low, high = self.scale_factor
        aug_scale = np.random.random() * (high - low) + low
        scale = side / 200.0 * aug_scale
        rotation = (np.random.random() * 2.0 - 1.0) * self.rotate_factor
        shift = (0, 0)
        bound = int(self.max_translate * scale)  # numpy truncates the reference's float bounds toward zero
        if self.max_translate > 0 and bound > 0:
            shift = (int(np.random.randint(-bound, bound)), int(np.random.randint(-bound, bound)))
        return aug_scale, scale, rotation, shift

    def transform(self, results: Dict[str, Any]) -> Optional[Dict[str, Any]]:
        img = results['img']
        img_h, img_w = img.shape[:2]
        aug_scale, scale, rotation, (dx, dy) = self._sample_params(img_h, img_w)
        center = (img_w / 2.0 + dx, img_h / 2.0 + dy)
        warp_mat = reference_affine_matrix(center, 200.0 * scale, rotation, self.input_size)

        results['img'] = cv2.warpAffine(
            img,
            warp_mat,
            self.input_size,
            flags=cv2.INTER_LINEAR,
            borderMode=cv2.BORDER_CONSTANT,
            borderValue=self.pad_val)

        if results.get('keypoints') is not None:
            keypoints = np.asarray(results['keypoints'], dtype=np.float64)
            if keypoints.shape[-1] != 2:
                raise ValueError(f"results['keypoints'] must be (N, K, 2), got {keypoints.shape}")
            results['keypoints'] = keypoints @ warp_mat[:, :2].T + warp_mat[:, 2]

        if results.get('bbox') is not None:
            bbox = np.asarray(results['bbox'], dtype=np.float64)
            if bbox.ndim == 2 and bbox.shape[1] == 4:
                bbox = bbox_xyxy2corner(bbox)
            elif not (bbox.ndim == 3 and bbox.shape[1:] == (4, 2)):
                raise ValueError(f"results['bbox'] must be (N, 4) xyxy or (N, 4, 2) corners, got {bbox.shape}")
            results['bbox'] = (bbox @ warp_mat[:, :2].T + warp_mat[:, 2]).astype(np.float32)

        if results.get('area') is not None:
            results['area'] = results['area'] * np.linalg.det(warp_mat[:, :2])

        results['input_size'] = self.input_size
        results['warp_mat'] = warp_mat
        results['aug_scale'] = float(aug_scale)
        results['aug_rotation'] = float(rotation)
        results['aug_translation'] = (dx, dy)
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(input_size={self.input_size}, scale_factor={self.scale_factor}, '
                f'scale_type={self.scale_type!r}, rotate_factor={self.rotate_factor}, '
                f'max_translate={self.max_translate}, pad_val={self.pad_val})')
