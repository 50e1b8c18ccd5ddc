"""``ScaleAdaptiveGenerateTarget``: MMPose's ``GenerateTarget`` for the SWAHR codec, plus the reference's ignore masks.

Reference behaviour of the masks: ``docs/reference_behaviour.md#which-people-and-which-pixels`` (see
:mod:`.ignore_mask`). The targets themselves
come from the codec (:class:`~swahr_mmpose.codecs.MultiLevelAssociativeEmbedding`).
"""
from typing import Any, Dict, List, Optional

import numpy as np
from mmpose.datasets.transforms import GenerateTarget
from mmpose.registry import TRANSFORMS
from mmpose.utils.typing import ConfigType

from .ignore_mask import MASK_SOURCES, affine_to_3x3, rasterize_segments, select_ignore_segments, warp_valid_mask


@TRANSFORMS.register_module()
class ScaleAdaptiveGenerateTarget(GenerateTarget):
    """Run the SWAHR codec on a sample and add the reference's per-level ignore masks.

    Place it after the random affine and the flip (both in input px) and before ``PackPoseInputs``, like MMPose's
    ``GenerateTarget``. With ``with_heatmap_mask=False`` it is exactly ``GenerateTarget(encoder=...)``; MMPose's
    ``BottomupGetHeatmapMask`` may then follow instead (it warps and resizes masks differently from the reference).

    Required keys: ``keypoints`` (N, K, 2) input px, ``keypoints_visible``; ``flip`` / ``flip_direction`` if the
    sample may be flipped; for the masks ``ori_shape`` (or ``img_shape``), the original (h, w) the ignore segments
    are rasterised at, ``warp_mat`` (original px -> input px; identity if absent) and ``raw_ann_info`` /
    ``invalid_segs`` (see ``mask_source``).

    Added keys: the codec's (``heatmaps``, ``keypoint_indices``, ``keypoint_weights``, mapping tables) and
    ``heatmap_mask``: per level (H_l, W_l) float32, 1 = use, 0 = ignore (a list for a multi-level codec).

    Args:
        encoder: the codec config, a :class:`~swahr_mmpose.codecs.MultiLevelAssociativeEmbedding`.
        with_heatmap_mask: add the ignore masks.
        use_ignore_mask: rasterise crowd / no-keypoint segments into the masks (COCO: True; CrowdPose: False, the
            reference's all-valid mask).
        ignore_outside_image: pixels that come from outside the source image are ignored (reference: True, also
            for CrowdPose, because its all-valid mask is warped with a zero border too).
        mask_source: where the ignore segments come from; see
            :func:`~swahr_mmpose.datasets.transforms.ignore_mask.select_ignore_segments`. ``'auto'`` (default)
            applies the reference rule to ``raw_ann_info`` when present and falls back to ``invalid_segs``.
    """

    def __init__(self,
                 encoder: ConfigType,
                 with_heatmap_mask: bool = True,
                 use_ignore_mask: bool = True,
                 ignore_outside_image: bool = True,
                 mask_source: str = 'auto') -> None:
        super().__init__(encoder=encoder)
        for attr in ('input_size', 'heatmap_sizes', 'flip_convention', 'single_level'):
            if not hasattr(self.encoder, attr):
                raise TypeError(f'ScaleAdaptiveGenerateTarget needs a MultiLevelAssociativeEmbedding encoder (it '
                                f'reads its sizes and flip convention), got {type(self.encoder).__name__}; use '
                                'GenerateTarget for other codecs')
        if mask_source not in MASK_SOURCES:
            raise ValueError(f'mask_source must be one of {MASK_SOURCES}, got {mask_source!r}')
        self.with_heatmap_mask = bool(with_heatmap_mask)
        self.use_ignore_mask = bool(use_ignore_mask)
        self.ignore_outside_image = bool(ignore_outside_image)
        self.mask_source = mask_source

    def transform(self, results: Dict[str, Any]) -> Optional[Dict[str, Any]]:
        """Encode the keypoints with the codec and add ``heatmap_mask``."""
        codec = self.encoder
        if 'input_size' in results and tuple(int(v) for v in results['input_size']) != codec.input_size:
            raise ValueError(f"results['input_size'] {tuple(results['input_size'])} (from the affine transform) "
                             f'differs from the codec input_size {codec.input_size}; set both from one value')
        try:
            results = super().transform(results)
        except ValueError as error:
            raise ValueError(f'{error} (image {results.get("img_path", "?")}, img_id {results.get("img_id", "?")}; '
                             'run `python tools/check_dataset.py CONFIG` to list every bad annotation)') from error
        if self.with_heatmap_mask:
            masks = self.compute_heatmap_masks(results)
            results['heatmap_mask'] = masks[0] if codec.single_level else masks
        return results

    def compute_heatmap_masks(self, results: Dict[str, Any]) -> List[np.ndarray]:
        """Per-level (H_l, W_l) float32 valid masks (1 = use), the reference way (see :mod:`.ignore_mask`)."""
        codec = self.encoder
        if not self.use_ignore_mask and not self.ignore_outside_image:
            return [np.ones((h, w), dtype=np.float32) for w, h in codec.heatmap_sizes]

        source_shape = results.get('ori_shape', results.get('img_shape'))
        if source_shape is None:
            raise KeyError("ScaleAdaptiveGenerateTarget needs results['ori_shape'] (or 'img_shape'), the original "
                           'image (h, w), to build the ignore masks')
        source_shape = (int(source_shape[0]), int(source_shape[1]))
        segments = select_ignore_segments(results, self.mask_source) if self.use_ignore_mask else []
        valid = 1 - rasterize_segments(segments, source_shape)

        flipped = bool(results.get('flip', False))
        warp = affine_to_3x3(results.get('warp_mat'))
        in_w, in_h = codec.input_size
        # the image flip in input px, x -> W_in - 1 - x, composed into the warp for the 'consistent' convention
        flip_input = np.array([[-1.0, 0.0, in_w - 1.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
        masks = []
        for width, height in codec.heatmap_sizes:
            to_level = np.diag([width / in_w, height / in_h, 1.0])
            if flipped and codec.flip_convention == 'consistent':
                matrix = to_level @ flip_input @ warp
            else:
                matrix = to_level @ warp
            mask = warp_valid_mask(valid, matrix[:2], (width, height), self.ignore_outside_image)
            if flipped and codec.flip_convention == 'reference':
                mask = np.ascontiguousarray(mask[:, ::-1])  # the reference flips the level array
            masks.append(mask)
        return masks

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(encoder={self.encoder!r}, with_heatmap_mask={self.with_heatmap_mask}, '
                f'use_ignore_mask={self.use_ignore_mask}, ignore_outside_image={self.ignore_outside_image}, '
                f'mask_source={self.mask_source!r})')
