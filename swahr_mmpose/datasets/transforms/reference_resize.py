"""Test-time resize of the official HigherHRNet / SWAHR code (``ReferenceBottomupResize``).

The reference (``resize_align_multi_scale`` / ``get_multi_scale_size`` /
``get_affine_transform`` / ``get_final_preds``) resizes the short side of the
image to the input size I and rounds the long side up to a multiple of 64; under
multi-scale test the base canvas is built at the smallest scale ``ms`` (multiples
of 64 there, i.e. of 64/ms at scale 1) so that every pyramid level has the same
aspect ratio. The image is centred on the canvas and the border is black.

Why not MMPose's ``BottomupResize(size_factor=64, resize_mode='expand')``? For
one scale and even image sizes it gives the same pixels and the same mapping
back (tested), but it differs from the reference in:

1. **centre**: MMPose uses (w/2, h/2); the reference ``(int(w/2 + 0.5),
   int(h/2 + 0.5))``, 0.5 image px apart for odd sizes, so the warped pixels
   differ;
2. **long-side rounding**: the reference computes ``(v + 63) // 64 * 64``, which
   rounds *down* when ``v`` exceeds a multiple of 64 by less than 1 (e.g. 704.5
   -> 704, MMPose: 768);
3. **multi-scale canvases**: MMPose rounds each scale's canvas to 64 on its own
   (640x480 at [1, 0.5, 2]: 704x512, 384x256, 1408x1024); the reference rounds
   the base at the smallest scale (768x512, 384x256, 1536x1024), and maps
   predictions back with the *smallest* scale's centre/scale;
4. **affine**: MMPose builds the matrix from a horizontal reference direction,
   the reference from a vertical one; both give the same similarity up to
   float rounding (about 1e-13 in the matrix), so this one does not matter.

Mapping back: the reference applies the inverse of
``get_affine_transform(centre, scale, 0, (Wb, Hb))`` to keypoints on the base
canvas (Wb x Hb, input px). That inverse is the isotropic map
``x_img = cx + (x - Wb/2) * src_w / Wb`` (same factor for y), with ``src_w =
200 * scale_w`` of the smallest scale. We store ``input_size = (Wb, Hb)``,
``input_center = centre`` and ``input_scale = (src_w, src_w * Hb / Wb)``, so
MMPose's ``BottomupPoseEstimator.add_pred_to_datasample``
(``kpts / input_size * input_scale + input_center - input_scale / 2``) computes
exactly that map; :func:`canvas_to_image` / :func:`image_to_canvas` are that map
and its inverse for everything else (heatmaps, ground truth, ONNX Runtime).
"""
from typing import Any, Dict, List, Mapping, NamedTuple, Optional, Sequence, Tuple, Union

import cv2
import numpy as np
from mmcv.transforms import BaseTransform
from mmpose.registry import TRANSFORMS

# The reference expresses box scales in units of 200 px ("pixel std").
PIXEL_STD = 200.0


class ReferenceWarp(NamedTuple):
    """Geometry of one pyramid level, as the reference's ``get_multi_scale_size``.

    Attributes:
        size: (w, h) of the warped image, input px.
        center: (2,) int64 centre (x, y) in original-image px.
        scale: (2,) float64 (scale_w, scale_h) in units of :data:`PIXEL_STD`;
            only ``scale[0]`` (the source width) enters the affine.
    """
    size: Tuple[int, int]
    center: np.ndarray
    scale: np.ndarray


def reference_round_up(value: float, divisor: int, exact: bool = False) -> int:
    """Round ``value`` up to a multiple of ``divisor``.

    The reference computes ``(value + divisor - 1) // divisor * divisor``,
    which is a true ceiling only for integer ``value``; with ``exact=True`` a
    true ceiling is used instead.
    """
    if exact:
        return int(np.ceil(value / divisor) * divisor)
    return int((value + divisor - 1) // divisor * divisor)


def reference_warp_geometry(img_w: int,
                            img_h: int,
                            input_size: int,
                            current_scale: float,
                            min_scale: float,
                            size_divisor: int = 64,
                            round_center: bool = True,
                            exact_ceil: bool = False) -> ReferenceWarp:
    """Canvas size, centre and scale of one pyramid level (reference formulas).

    Args:
        img_w, img_h: original image size (px).
        input_size: model input size I (square; short side of the canvas at
            scale 1).
        current_scale: scale of this level.
        min_scale: smallest scale of the pyramid (1.0 for single-scale).
        size_divisor: canvas sides at ``min_scale`` are multiples of this.
        round_center: reference centre ``int(w/2 + 0.5)``; else ``w/2``.
        exact_ceil: use a true ceiling instead of the reference rounding.
    """
    if round_center:
        center = np.array([int(img_w / 2.0 + 0.5), int(img_h / 2.0 + 0.5)])
    else:
        center = np.array([img_w / 2.0, img_h / 2.0])
    min_input = reference_round_up(min_scale * input_size, size_divisor, exact_ceil)
    # The expressions keep the reference's float operation order, so the
    # int() truncations happen on the same values.
    if img_w < img_h:
        out_w = int(min_input * current_scale / min_scale)
        out_h = int(reference_round_up(min_input / img_w * img_h, size_divisor, exact_ceil) * current_scale / min_scale)
        scale_w = img_w / PIXEL_STD
        scale_h = out_h / out_w * img_w / PIXEL_STD
    else:
        out_h = int(min_input * current_scale / min_scale)
        out_w = int(reference_round_up(min_input / img_h * img_w, size_divisor, exact_ceil) * current_scale / min_scale)
        scale_h = img_h / PIXEL_STD
        scale_w = out_w / out_h * img_h / PIXEL_STD
    return ReferenceWarp((out_w, out_h), center, np.array([scale_w, scale_h]))


def reference_resize_matrix(center: np.ndarray,
                            scale: np.ndarray,
                            output_size: Tuple[int, int],
                            inverse: bool = False) -> np.ndarray:
    """2x3 similarity mapping image px -> canvas px (or back with ``inverse``).

    Rotation-free equivalent of the reference ``get_affine_transform``: the
    source width ``scale[0] * 200`` centred at ``center`` maps onto the output
    width with the centre at the canvas centre. The three control points are
    built in float32 as the reference does, so ``cv2.getAffineTransform``
    returns the same matrix bit for bit.
    """
    src_w = scale[0] * PIXEL_STD
    dst_w, dst_h = output_size
    src = np.zeros((3, 2), dtype=np.float32)
    dst = np.zeros((3, 2), dtype=np.float32)
    src[0] = center
    src[1] = center + np.array([0.0, src_w * -0.5])
    dst[0] = [dst_w * 0.5, dst_h * 0.5]
    dst[1] = np.array([dst_w * 0.5, dst_h * 0.5]) + np.array([0.0, dst_w * -0.5], dtype=np.float32)
    # Third point: the second one rotated by 90 degrees about the first.
    for pts in (src, dst):
        direction = pts[0] - pts[1]
        pts[2] = pts[1] + np.array([-direction[1], direction[0]], dtype=np.float32)
    if inverse:
        return cv2.getAffineTransform(dst, src)
    return cv2.getAffineTransform(src, dst)


def _canvas_geometry(geometry: Mapping[str, Any]) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    size, scale, center = (
        np.asarray(geometry[key], dtype=np.float64) for key in ('input_size', 'input_scale', 'input_center'))
    return size, scale, center


def canvas_to_image(points: np.ndarray, geometry: Mapping[str, Any]) -> np.ndarray:
    """Canvas (input) px -> original-image px, the inverse of :class:`ReferenceBottomupResize`.

    Exactly the expression of MMPose's ``BottomupPoseEstimator.add_pred_to_datasample``, ``points / input_size *
    input_scale + input_center - input_scale / 2`` in float64 (same operands, same results), so a keypoint mapped
    here equals one predicted through MMPose.

    Args:
        points: (..., 2) x, y in canvas px.
        geometry: ``input_size`` (Wb, Hb), ``input_scale`` and ``input_center`` as the transform stores them (a
            sample's metainfo).

    Returns:
        (..., 2) float64 image px.
    """
    size, scale, center = _canvas_geometry(geometry)
    return points / size * scale + center - 0.5 * scale


def image_to_canvas(points: np.ndarray, geometry: Mapping[str, Any]) -> np.ndarray:
    """Original-image px -> canvas (input) px, the inverse of :func:`canvas_to_image` (what the resize applies).

    Args:
        points: (..., 2) x, y in image px.
        geometry: see :func:`canvas_to_image`.

    Returns:
        (..., 2) float64 canvas px.
    """
    size, scale, center = _canvas_geometry(geometry)
    return (points - center + 0.5 * scale) / scale * size


@TRANSFORMS.register_module()
class ReferenceBottomupResize(BaseTransform):
    """Resize (and build the test pyramid) exactly as the official test code.

    Required keys: ``img`` (H, W[, C] array).

    Modified keys: ``img`` (the scale-1 canvas, or with ``aug_scales`` a list
    ``[scale 1.0, *aug_scales]`` of canvases, the order MMPose's
    ``BottomupPoseEstimator.predict`` and ``SWAHRHead.predict`` expect) and
    ``img_shape`` ((Hb, Wb) of the scale-1 canvas).

    Added keys: ``input_size`` ((Wb, Hb) of the scale-1 canvas, input px),
    ``input_center`` ((2,) float64, image px), ``input_scale`` ((2,) float64,
    image px; see the module docstring), ``warp_mat`` ((2, 3) image -> scale-1
    canvas) and, with ``aug_scales``, ``aug_scales`` (list of float).

    Args:
        input_size: model input size I, an int or a square (w, h) pair (the
            reference only supports square inputs).
        aug_scales: extra test scales besides 1.0 (reference
            ``TEST.SCALE_FACTOR`` minus 1.0), e.g. ``[0.5, 2.0]``; ``None``
            for single-scale.
        size_divisor: canvas sides at the smallest scale are multiples of this
            (reference: 64).
        round_center: reference centre ``int(w/2 + 0.5)``; ``False`` uses
            ``w/2``.
        exact_ceil: ``False`` keeps the reference rounding
            ``(v + 63) // 64 * 64``; ``True`` uses a true ceiling.
    """

    def __init__(self,
                 input_size: Union[int, Sequence[int]],
                 aug_scales: Optional[Sequence[float]] = None,
                 size_divisor: int = 64,
                 round_center: bool = True,
                 exact_ceil: bool = False) -> None:
        super().__init__()
        if isinstance(input_size, (int, np.integer)):
            side = int(input_size)
        else:
            if len(input_size) != 2 or input_size[0] != input_size[1]:
                raise ValueError('ReferenceBottomupResize: input_size must be an int or a '
                                 f'square (w, h) pair, got {input_size!r}')
            side = int(input_size[0])
        if side <= 0:
            raise ValueError(f'ReferenceBottomupResize: input_size must be > 0, got {side}')
        aug_scales = [float(s) for s in (aug_scales or [])]
        if any(s <= 0 for s in aug_scales):
            raise ValueError('ReferenceBottomupResize: aug_scales must be ' f'positive, got {aug_scales}')
        if 1.0 in aug_scales or len(set(aug_scales)) != len(aug_scales):
            raise ValueError('ReferenceBottomupResize: aug_scales lists the scales besides '
                             f'1.0 (always included), without repeats; got {aug_scales}')
        self.input_size = side
        self.aug_scales = aug_scales
        self.size_divisor = size_divisor
        self.round_center = round_center
        self.exact_ceil = exact_ceil

    def _geometry(self, img_w: int, img_h: int, scale: float, min_scale: float) -> ReferenceWarp:
        return reference_warp_geometry(img_w, img_h, self.input_size, scale, min_scale, self.size_divisor,
                                       self.round_center, self.exact_ceil)

    def transform(self, results: Dict) -> Dict:
        img = results['img']
        if not isinstance(img, np.ndarray) or img.ndim not in (2, 3):
            raise ValueError('ReferenceBottomupResize: `img` must be one (H, W[, C]) '
                             f'array, got {type(img).__name__} '
                             f'{getattr(img, "shape", "")}')
        img_h, img_w = img.shape[:2]
        scales = [1.0] + self.aug_scales
        min_scale = min(scales)

        imgs: List[np.ndarray] = []
        for scale in scales:
            geom = self._geometry(img_w, img_h, scale, min_scale)
            warp_mat = reference_resize_matrix(geom.center, geom.scale, geom.size)
            # cv2 defaults as the reference: bilinear, black constant border.
            imgs.append(cv2.warpAffine(img, warp_mat, geom.size))
            if scale == 1.0:
                base, base_warp = geom, warp_mat

        # The reference maps back with the last (smallest) scale's centre and
        # scale, onto the base canvas.
        last = self._geometry(img_w, img_h, min_scale, min_scale)
        base_w, base_h = base.size
        src_w = last.scale[0] * PIXEL_STD

        results['img'] = imgs if self.aug_scales else imgs[0]
        results['img_shape'] = (base_h, base_w)
        results['input_size'] = (base_w, base_h)
        results['input_center'] = last.center.astype(np.float64)
        results['input_scale'] = np.array([src_w, src_w * base_h / base_w])
        results['warp_mat'] = base_warp
        if self.aug_scales:
            results['aug_scales'] = list(self.aug_scales)
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(input_size={self.input_size}, '
                f'aug_scales={self.aug_scales}, '
                f'size_divisor={self.size_divisor}, '
                f'round_center={self.round_center}, '
                f'exact_ceil={self.exact_ceil})')
