"""``BottomupRandomHorizontalFlip``: horizontal flip after the bottom-up affine, correct for non-square inputs.

Why not MMPose's ``RandomFlip``: it reads ``h, w = results['input_size']`` although ``input_size`` is (w, h), so
after a bottom-up affine to a non-square input it flips keypoints and boxes about the wrong width (square inputs
are unaffected). This transform flips about the width of the image pixel array it flips.

Convention: the image is flipped as a pixel array, so keypoints map as ``x' = W - 1 - x`` (cv2 pixel centres at
integers), consistently with the image. The reference's per-level joint flip (``x' = S - 1 - x_level``, spec §9.11)
is reproduced later by ``ScaleAdaptiveGenerateTarget(flip_convention='reference')``, which reads ``flip``.
"""
from typing import Any, Dict

import numpy as np
from mmcv.transforms import BaseTransform
from mmcv.transforms.utils import cache_randomness
from mmpose.registry import TRANSFORMS


@TRANSFORMS.register_module()
class BottomupRandomHorizontalFlip(BaseTransform):
    """Flip the image, keypoints (with ``flip_indices``) and boxes horizontally with probability ``prob``.

    Required keys: ``img`` (H, W, C); ``flip_indices`` (K,) when keypoints are present.

    Modified keys (when flipped):
        - ``img``: ``img[:, ::-1]`` (contiguous copy).
        - ``keypoints``: (N, K, 2), joints swapped by ``flip_indices`` and ``x' = W - 1 - x``.
        - ``keypoints_visible``: (N, K) or (N, K, 2), swapped by ``flip_indices``.
        - ``bbox``: (N, 4, 2) corners (``x' = W - 1 - x``) or (N, 4) xyxy (``x1' = W - 1 - x2``, ``x2' = W - 1 - x1``).
        - ``img_mask`` (optional): flipped like the image.

    Added keys: ``flip`` (bool) and ``flip_direction`` (``'horizontal'`` or None). ``warp_mat`` is NOT changed:
    the target generator composes the flip itself (ignore masks are built from the unflipped warp + ``flip``).

    Args:
        prob: flip probability (reference: 0.5). The draw is ``np.random.rand() < prob``; the reference draws from
            Python's ``random`` module instead, so seeded runs differ in which samples are flipped.
    """

    def __init__(self, prob: float = 0.5) -> None:
        super().__init__()
        if not 0.0 <= float(prob) <= 1.0:
            raise ValueError(f'prob must be in [0, 1], got {prob!r}')
        self.prob = float(prob)

    @cache_randomness
    def _do_flip(self) -> bool:
        return bool(np.random.rand() < self.prob)

    def transform(self, results: Dict[str, Any]) -> Dict[str, Any]:
        if not self._do_flip():
            results['flip'] = False
            results['flip_direction'] = None
            return results
        if 'heatmaps' in results or 'heatmap_mask' in results:
            raise ValueError('BottomupRandomHorizontalFlip must run before the target generator: results already '
                             "contain 'heatmaps'/'heatmap_mask', which it cannot flip consistently")

        img = results['img']
        width = img.shape[1]
        input_size = results.get('input_size')
        if input_size is not None and int(input_size[0]) != width:
            raise ValueError(f"results['input_size'] {tuple(input_size)} (w, h) does not match the image width "
                             f'{width}; the flip must run on the input-size image, after the affine')
        results['img'] = np.ascontiguousarray(img[:, ::-1])
        if results.get('img_mask') is not None:
            results['img_mask'] = np.ascontiguousarray(results['img_mask'][:, ::-1])

        if results.get('keypoints') is not None:
            keypoints = np.asarray(results['keypoints'])
            if keypoints.ndim != 3 or keypoints.shape[-1] != 2:
                raise ValueError(f"results['keypoints'] must be (N, K, 2), got {keypoints.shape}")
            flip_indices = results.get('flip_indices')
            if flip_indices is None or len(flip_indices) != keypoints.shape[1]:
                raise ValueError(f"results['flip_indices'] must list {keypoints.shape[1]} joints, got "
                                 f'{None if flip_indices is None else len(flip_indices)}')
            flip_indices = np.asarray(flip_indices, dtype=np.int64)
            keypoints = keypoints[:, flip_indices].copy()
            keypoints[..., 0] = width - 1 - keypoints[..., 0]
            results['keypoints'] = keypoints
            if results.get('keypoints_visible') is not None:
                visible = np.asarray(results['keypoints_visible'])
                if visible.shape[:2] != keypoints.shape[:2]:
                    raise ValueError(f"results['keypoints_visible'] must be (N, K) or (N, K, 2) with (N, K) = "
                                     f'{keypoints.shape[:2]}, got {visible.shape}')
                results['keypoints_visible'] = visible[:, flip_indices].copy()

        if results.get('bbox') is not None:
            bbox = np.array(results['bbox'], copy=True)
            if bbox.ndim == 3 and bbox.shape[1:] == (4, 2):
                bbox[..., 0] = width - 1 - bbox[..., 0]
            elif bbox.ndim == 2 and bbox.shape[1] == 4:
                bbox[:, [0, 2]] = width - 1 - bbox[:, [2, 0]]
            else:
                raise ValueError(f"results['bbox'] must be (N, 4) xyxy or (N, 4, 2) corners, got {bbox.shape}")
            results['bbox'] = bbox

        results['flip'] = True
        results['flip_direction'] = 'horizontal'
        return results

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(prob={self.prob})'
