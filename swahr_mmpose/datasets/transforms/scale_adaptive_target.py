"""``ScaleAdaptiveGenerateTarget``: multi-level heatmaps, ignore masks and tag indices for SWAHR / HigherHRNet.

Reference behaviour: ``swahr_reference.md`` §2.2 (HeatmapGenerator), §2.3 (JointsGenerator), §2.4/2.5 (masks,
flip) and §9 items 11, 16, 17. MMPose-side layout: ``mmpose_integration.md`` §4.1/4.2.
"""
import logging
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
from mmcv.transforms import BaseTransform
from mmengine.logging import print_log
from mmpose.registry import TRANSFORMS

from .heatmap_utils import (CENTER_MODES, FLIP_CONVENTIONS, as_size_pair, capacity_mask, integer_centers,
                            person_sizes_in_input_px, placed_joints_mask, render_gaussian_heatmaps, tag_indices,
                            to_level_coordinates)
from .ignore_mask import MASK_SOURCES, affine_to_3x3, rasterize_segments, select_ignore_segments, warp_valid_mask

SIGMA_MODES = ('fixed', 'bbox')


@TRANSFORMS.register_module()
class ScaleAdaptiveGenerateTarget(BaseTransform):
    """Generate the bottom-up training targets of SWAHR / HigherHRNet at several output levels.

    Place it after the random affine and the flip (both in input px) and before ``PackPoseInputs``.
    With the defaults the heatmaps, tag indices and masks reproduce the reference implementation exactly.

    Required keys:
        - ``keypoints``: (N, K, 2) in input px (after the affine and the flip).
        - ``keypoints_visible``: (N, K), or (N, K, 2) whose ``[..., 0]`` is the visibility. ``> 0`` counts.
        - ``flip`` / ``flip_direction`` (optional): a flipped sample must have been flipped horizontally as the image
          pixel array, ``x' = W_in - 1 - x`` (``BottomupRandomHorizontalFlip``; MMPose's ``RandomFlip`` for square
          inputs).
        - ``warp_mat`` (optional): (2, 3) original px -> input px affine; identity if absent.
        - ``ori_shape`` (or ``img_shape``): original (h, w), the size the ignore segments are rasterised at.
        - ``raw_ann_info`` / ``invalid_segs`` (optional): ignore segments, see ``mask_source``.
        - ``bbox``: only for ``sigma_mode='bbox'``, see
          :func:`~swahr_mmpose.datasets.transforms.heatmap_utils.person_sizes_in_input_px`.
        - ``input_size`` (optional): checked against the configured ``input_size``.

    Added keys:
        - ``heatmaps``: list over levels of (K, H_l, W_l) float32 Gaussians (peak 1), max over people.
        - ``heatmap_mask``: list over levels of (H_l, W_l) float32, 1 = use, 0 = ignore.
        - ``keypoint_indices``: (N, K, 2) int64 ``[y * W_t + x, valid]`` at the tag level ``t`` (level 0 by
          default), slot-aligned per joint k (MMPose's layout); rows that are not valid hold ``[0, 0]``.
        - ``keypoint_weights``: (N, K) float32, the same valid flag.
        - ``field_mapping_table`` / ``label_mapping_table``: so that ``PackPoseInputs`` packs ``heatmaps`` and
          ``heatmap_mask`` into ``gt_fields`` (a ``MultilevelPixelData``) and ``keypoint_indices`` /
          ``keypoint_weights`` into ``gt_instance_labels``. Its lookup replaces (not merges) the default tables.

    Heatmaps (per level l, size (W_l, H_l)): the keypoint is mapped to level px by ``x * W_l / W_in`` (likewise y),
    placed at an integer centre (``center_mode``) and dropped if that centre is outside the map or ``v <= 0``. A
    Gaussian ``exp(-(du^2 + dv^2) / (2 sigma^2))`` is drawn in a ``(6 sigma + 3)``-wide square window clipped at the
    borders; overlapping people are combined with ``max``.

    Tag capacity: the reference keeps at most 30 people in its tag array and crashes on more. Here any number of
    people works: people beyond ``max_num_people`` (counted in annotation order among people with at least one
    joint placed at the tag level) still get heatmaps, but their tag rows are marked invalid (``valid = 0`` and
    weight 0) so the associative-embedding loss ignores them. A warning is logged once per transform instance.

    Args:
        input_size: (W_in, H_in) of the network input (an int means square).
        heatmap_sizes: (W_l, H_l) of every output level, level 0 first (e.g. ``[(128, 128), (256, 256)]`` for a
            512 input: 1/4 and 1/2 resolution).
        sigma: Gaussian std in level px (reference: 2 at every level). With ``sigma_mode='bbox'`` it is the sigma
            of a person whose box side is ``bbox_base_size`` original px.
        sigma_mode: ``'fixed'`` (reference) or ``'bbox'``: per-person ``sigma_orig = max(box w, box h) /
            bbox_base_size * sigma`` in ORIGINAL image px (the reference's dormant scale-aware formula), converted
            to input px by the affine's scale and to level px by ``W_l / W_in`` (the reference never converts it and
            crashes when enabled). Needs isotropic level scaling (``W_l / W_in == H_l / H_in``).
        bbox_base_size: the box side (original px) that gets ``sigma`` in ``'bbox'`` mode (reference: 256).
        center_mode: ``'truncate'`` (reference, ``int(x)`` toward zero, so x in (-1, 0) is kept at 0) or
            ``'round'`` (``floor(x + 0.5)``). Decoders must use a matching centre shift (0.5 vs 0).
        flip_convention: ``'reference'``: flipped joints land where the reference puts them, ``x_l = W_l - 1 -
            x_l(unflipped)``, i.e. ``W_l/W_in - 1`` level px (-0.75 at 1/4, -0.5 at 1/2) left of the image-consistent
            position; ignore masks are flipped as level arrays. ``'consistent'``: joints and masks follow the
            flipped image exactly.
        tag_level: index of the level whose tag indices are produced (reference: 0, the 1/4 level).
        max_num_people: tag capacity (reference: 30); None means unlimited.
        use_ignore_mask: rasterise crowd / no-keypoint segments into the ignore mask (COCO: True; CrowdPose: False,
            the reference's all-valid mask).
        ignore_outside_image: pixels that come from outside the source image are ignored (reference: True, also
            for CrowdPose, because its all-valid mask is warped with a zero border too).
        mask_source: where the ignore segments come from; see
            :func:`~swahr_mmpose.datasets.transforms.ignore_mask.select_ignore_segments`. ``'auto'`` (default)
            applies the reference rule to ``raw_ann_info`` when present and falls back to ``invalid_segs``.
    """

    field_mapping_table = dict(heatmaps='heatmaps', heatmap_mask='heatmap_mask')
    label_mapping_table = dict(keypoint_indices='keypoint_indices', keypoint_weights='keypoint_weights')

    def __init__(self,
                 input_size: Union[int, Sequence[int]],
                 heatmap_sizes: Sequence[Union[int, Sequence[int]]],
                 sigma: float = 2.0,
                 sigma_mode: str = 'fixed',
                 bbox_base_size: float = 256.0,
                 center_mode: str = 'truncate',
                 flip_convention: str = 'reference',
                 tag_level: int = 0,
                 max_num_people: Optional[int] = 30,
                 use_ignore_mask: bool = True,
                 ignore_outside_image: bool = True,
                 mask_source: str = 'auto') -> None:
        super().__init__()
        self.input_size = as_size_pair(input_size, 'input_size')
        if isinstance(heatmap_sizes, (int, np.integer)) or len(heatmap_sizes) == 0:
            raise ValueError(f'heatmap_sizes must be a non-empty list of (w, h) pairs, got {heatmap_sizes!r}')
        self.heatmap_sizes = [as_size_pair(size, f'heatmap_sizes[{i}]') for i, size in enumerate(heatmap_sizes)]
        if not float(sigma) > 0:
            raise ValueError(f'sigma must be > 0, got {sigma!r}')
        if sigma_mode not in SIGMA_MODES:
            raise ValueError(f'sigma_mode must be one of {SIGMA_MODES}, got {sigma_mode!r}')
        if center_mode not in CENTER_MODES:
            raise ValueError(f'center_mode must be one of {CENTER_MODES}, got {center_mode!r}')
        if flip_convention not in FLIP_CONVENTIONS:
            raise ValueError(f'flip_convention must be one of {FLIP_CONVENTIONS}, got {flip_convention!r}')
        if not 0 <= tag_level < len(self.heatmap_sizes):
            raise ValueError(f'tag_level must index heatmap_sizes (0..{len(self.heatmap_sizes) - 1}), got {tag_level}')
        if max_num_people is not None and int(max_num_people) < 0:
            raise ValueError(f'max_num_people must be >= 0 or None, got {max_num_people!r}')
        if mask_source not in MASK_SOURCES:
            raise ValueError(f'mask_source must be one of {MASK_SOURCES}, got {mask_source!r}')
        if not float(bbox_base_size) > 0:
            raise ValueError(f'bbox_base_size must be > 0, got {bbox_base_size!r}')
        if sigma_mode == 'bbox':
            for width, height in self.heatmap_sizes:
                if not np.isclose(width / self.input_size[0], height / self.input_size[1]):
                    raise ValueError("sigma_mode='bbox' needs isotropic level scaling, but heatmap size "
                                     f'{(width, height)} vs input size {self.input_size} differ in x and y')
        self.sigma = float(sigma)
        self.sigma_mode = sigma_mode
        self.bbox_base_size = float(bbox_base_size)
        self.center_mode = center_mode
        self.flip_convention = flip_convention
        self.tag_level = int(tag_level)
        self.max_num_people = None if max_num_people is None else int(max_num_people)
        self.use_ignore_mask = bool(use_ignore_mask)
        self.ignore_outside_image = bool(ignore_outside_image)
        self.mask_source = mask_source
        self._capacity_warned = False

    # ------------------------------------------------------------------------------------------------ keypoints
    def encode_keypoints(self,
                         keypoints: np.ndarray,
                         keypoints_visible: np.ndarray,
                         flipped: bool = False,
                         person_sizes: Optional[np.ndarray] = None) -> Dict[str, Any]:
        """Heatmaps at every level and tag indices at the tag level (no masks).

        Args:
            keypoints: (N, K, 2) input px.
            keypoints_visible: (N, K) visibility (``> 0`` counts).
            flipped: whether the sample was horizontally flipped (selects the flip-convention correction).
            person_sizes: (N,) ``max(box w, box h)`` in input px; required for ``sigma_mode='bbox'``.

        Returns:
            dict with ``heatmaps`` (list of (K, H_l, W_l) float32), ``keypoint_indices`` ((N, K, 2) int64),
            ``keypoint_weights`` ((N, K) float32) and ``num_over_capacity`` (int, people whose tag rows were
            invalidated by ``max_num_people``).
        """
        num_people, num_keypoints = keypoints.shape[:2]
        if self.sigma_mode == 'bbox':
            if person_sizes is None or np.shape(person_sizes) != (num_people, ):
                raise ValueError(f"sigma_mode='bbox' needs one box size per person, shape ({num_people},), got "
                                 f'{None if person_sizes is None else np.shape(person_sizes)}')
            sigma_input_px = np.asarray(person_sizes, dtype=np.float64) / self.bbox_base_size * self.sigma

        heatmaps = []
        tag_centers = tag_placed = None
        for level, size in enumerate(self.heatmap_sizes):
            coords = to_level_coordinates(keypoints, self.input_size, size, flipped, self.flip_convention)
            centers = integer_centers(coords, self.center_mode)
            placed = placed_joints_mask(centers, keypoints_visible, size)
            person_idx, joint_idx = np.nonzero(placed)
            if self.sigma_mode == 'bbox':
                sigma = sigma_input_px[person_idx] * (size[0] / self.input_size[0])
            else:
                sigma = self.sigma
            heatmaps.append(
                render_gaussian_heatmaps(size, num_keypoints, joint_idx,
                                         centers[person_idx, joint_idx].astype(np.int64), sigma))
            if level == self.tag_level:
                tag_centers, tag_placed = centers, placed

        keep = capacity_mask(tag_placed, self.max_num_people)
        valid = tag_placed & keep[:, None]
        safe_centers = np.where(valid[..., None], tag_centers, 0).astype(np.int64)
        return dict(
            heatmaps=heatmaps,
            keypoint_indices=tag_indices(safe_centers, valid, self.heatmap_sizes[self.tag_level][0]),
            keypoint_weights=valid.astype(np.float32),
            num_over_capacity=int(np.count_nonzero(~keep)))

    # ------------------------------------------------------------------------------------------------ masks
    def compute_heatmap_masks(self, results: Dict[str, Any], flipped: bool) -> List[np.ndarray]:
        """Per-level (H_l, W_l) float32 valid masks (1 = use), the reference way (see :mod:`.ignore_mask`)."""
        if not self.use_ignore_mask and not self.ignore_outside_image:
            return [np.ones((h, w), dtype=np.float32) for w, h in self.heatmap_sizes]

        source_shape = results.get('ori_shape', results.get('img_shape'))
        if source_shape is None:
            raise KeyError("ScaleAdaptiveGenerateTarget needs results['ori_shape'] (or 'img_shape'), the original "
                           'image (h, w), to build the ignore masks')
        source_shape = (int(source_shape[0]), int(source_shape[1]))
        segments = select_ignore_segments(results, self.mask_source) if self.use_ignore_mask else []
        valid = 1 - rasterize_segments(segments, source_shape)

        warp = affine_to_3x3(results.get('warp_mat'))
        in_w, in_h = self.input_size
        # the image flip in input px, x -> W_in - 1 - x, composed into the warp for the 'consistent' convention
        flip_input = np.array([[-1.0, 0.0, in_w - 1.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
        masks = []
        for width, height in self.heatmap_sizes:
            to_level = np.diag([width / in_w, height / in_h, 1.0])
            if flipped and self.flip_convention == 'consistent':
                matrix = to_level @ flip_input @ warp
            else:
                matrix = to_level @ warp
            mask = warp_valid_mask(valid, matrix[:2], (width, height), self.ignore_outside_image)
            if flipped and self.flip_convention == 'reference':
                mask = np.ascontiguousarray(mask[:, ::-1])  # the reference flips the level array
            masks.append(mask)
        return masks

    # ------------------------------------------------------------------------------------------------ transform
    def transform(self, results: Dict[str, Any]) -> Dict[str, Any]:
        """Add ``heatmaps``, ``heatmap_mask``, ``keypoint_indices``, ``keypoint_weights`` and the mapping tables."""
        keypoints, keypoints_visible = self._read_keypoints(results)
        if 'input_size' in results and tuple(int(v) for v in results['input_size']) != self.input_size:
            raise ValueError(f"results['input_size'] {tuple(results['input_size'])} differs from the configured "
                             f'input_size {self.input_size} of ScaleAdaptiveGenerateTarget')
        flipped = bool(results.get('flip', False))
        if flipped and results.get('flip_direction', 'horizontal') != 'horizontal':
            raise ValueError('ScaleAdaptiveGenerateTarget supports horizontal flips only, got flip_direction='
                             f"{results.get('flip_direction')!r}")

        person_sizes = None
        if self.sigma_mode == 'bbox':
            if results.get('bbox') is None:
                raise KeyError("sigma_mode='bbox' needs results['bbox']")
            person_sizes = person_sizes_in_input_px(results['bbox'], results.get('warp_mat'))

        encoded = self.encode_keypoints(keypoints, keypoints_visible, flipped, person_sizes)
        if encoded['num_over_capacity'] and not self._capacity_warned:
            print_log(
                f"ScaleAdaptiveGenerateTarget: {encoded['num_over_capacity']} people exceed max_num_people="
                f'{self.max_num_people} in one sample (img {results.get("img_path", "?")}); they keep their '
                'heatmaps but their tag rows are marked invalid, so the associative-embedding loss ignores them. '
                'This warning is shown once.',
                logger='current',
                level=logging.WARNING)
            self._capacity_warned = True

        results['heatmaps'] = encoded['heatmaps']
        results['heatmap_mask'] = self.compute_heatmap_masks(results, flipped)
        results['keypoint_indices'] = encoded['keypoint_indices']
        results['keypoint_weights'] = encoded['keypoint_weights']
        results['field_mapping_table'] = dict(self.field_mapping_table)
        results['label_mapping_table'] = dict(self.label_mapping_table)
        return results

    @staticmethod
    def _read_keypoints(results: Dict[str, Any]) -> Tuple[np.ndarray, np.ndarray]:
        """Validated (N, K, 2) keypoints and (N, K) visibility from ``results``."""
        if results.get('keypoints') is None:
            raise KeyError("ScaleAdaptiveGenerateTarget needs results['keypoints'] of shape (N, K, 2) in input px")
        keypoints = np.asarray(results['keypoints'])
        if keypoints.ndim != 3 or keypoints.shape[-1] != 2:
            raise ValueError(f"results['keypoints'] must have shape (N, K, 2) in input px, got {keypoints.shape}")
        if results.get('keypoints_visible') is None:
            raise KeyError("ScaleAdaptiveGenerateTarget needs results['keypoints_visible'] of shape (N, K) "
                           'or (N, K, 2)')
        visible = np.asarray(results['keypoints_visible'])
        if visible.ndim == 3 and visible.shape[-1] == 2:
            visible = visible[..., 0]  # MMPose's (visibility, weight) pairs
        if visible.shape != keypoints.shape[:2]:
            raise ValueError(f"results['keypoints_visible'] must have shape {keypoints.shape[:2]} (N, K) or "
                             f"{keypoints.shape[:2] + (2, )} (N, K, 2) to match results['keypoints'] "
                             f'{keypoints.shape}, got {np.shape(results["keypoints_visible"])}')
        visible = visible.astype(np.float64)
        if not np.isfinite(keypoints[visible > 0]).all():
            raise ValueError("results['keypoints'] has non-finite coordinates for visible joints (v > 0)")
        return keypoints, visible

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(input_size={self.input_size}, heatmap_sizes={self.heatmap_sizes}, '
                f'sigma={self.sigma}, sigma_mode={self.sigma_mode!r}, bbox_base_size={self.bbox_base_size}, '
                f'center_mode={self.center_mode!r}, flip_convention={self.flip_convention!r}, '
                f'tag_level={self.tag_level}, max_num_people={self.max_num_people}, '
                f'use_ignore_mask={self.use_ignore_mask}, ignore_outside_image={self.ignore_outside_image}, '
                f'mask_source={self.mask_source!r})')
