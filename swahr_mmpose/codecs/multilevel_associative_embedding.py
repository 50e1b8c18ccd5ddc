"""``MultiLevelAssociativeEmbedding``: the SWAHR / HigherHRNet codec (multi-resolution AE targets + AE grouping).

Reference behaviour: ``docs/reference_behaviour.md#gaussian-heatmaps``, ``#tag-indices``, ``#flip``, ``#7-grouping``.
One codec owns both directions, so the encoding conventions (Gaussian centres, flip convention) and the decoding ones
(centre shift) cannot drift apart; configs declare it once and hand it to the pipeline (``GenerateTarget`` /
``ScaleAdaptiveGenerateTarget``) and to the head (``decoder``).
"""
import inspect
import logging
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
from mmengine.logging import print_log
from mmpose.codecs.base import BaseKeypointCodec
from mmpose.registry import KEYPOINT_CODECS

from .ae_decoder import AEDecoder, ArrayLike, DecodedImage
from .utils.gaussian_targets import (CENTER_MODES, FLIP_CONVENTIONS, as_size_pair, capacity_mask, integer_centers,
                                     person_sizes_in_input_px, placed_joints_mask, render_gaussian_heatmaps,
                                     tag_indices, to_level_coordinates)

SIGMA_MODES = ('fixed', 'bbox')
SizePair = Tuple[int, int]
# Codec arguments ``decode_<name>`` are AEDecoder's ``<name>`` (MMPose's AssociativeEmbedding naming).
DECODE_PREFIX = 'decode_'


def decoder_arguments(decode_options: Dict[str, Any], center_mode: str) -> Dict[str, Any]:
    """``decode_<name>`` codec arguments -> :class:`AEDecoder` keyword arguments ``<name>``.

    Raises:
        TypeError: for an argument that is not ``decode_`` + an :class:`AEDecoder` argument (``num_keypoints`` is the
            codec's own), naming the accepted ones.
    """
    accepted = [
        name for name in inspect.signature(AEDecoder.__init__).parameters if name not in ('self', 'num_keypoints')
    ]
    arguments = {}
    for key, value in decode_options.items():
        name = key[len(DECODE_PREFIX):] if key.startswith(DECODE_PREFIX) else None
        if name not in accepted:
            raise TypeError(f'MultiLevelAssociativeEmbedding got an unexpected argument {key!r}; its decoding options '
                            f'are the AEDecoder arguments with the prefix {DECODE_PREFIX!r}: '
                            f'{", ".join(DECODE_PREFIX + n for n in accepted)}')
        arguments[name] = value
    if arguments.get('center_shift') is None:  # Gaussians centred at int(x) peak half a pixel left of the joint
        arguments['center_shift'] = 0.5 if center_mode == 'truncate' else 0.0
    return arguments


def _parse_heatmap_sizes(heatmap_size: Any) -> Tuple[List[SizePair], bool]:
    """``(w, h)`` -> ([(w, h)], single level); ``[(w0, h0), (w1, h1), ...]`` -> (list, multi-level)."""
    if isinstance(heatmap_size, (int, np.integer)):
        return [as_size_pair(heatmap_size, 'heatmap_size')], True
    sizes = list(heatmap_size) if isinstance(heatmap_size, (list, tuple)) else None
    if not sizes:
        raise ValueError('heatmap_size must be a (w, h) pair or a non-empty list of (w, h) pairs (level 0, the '
                         f'highest-stride output, first), got {heatmap_size!r}')
    if all(isinstance(v, (int, np.integer)) for v in sizes):
        return [as_size_pair(tuple(sizes), 'heatmap_size')], True
    return [as_size_pair(size, f'heatmap_size[{i}]') for i, size in enumerate(sizes)], False


@KEYPOINT_CODECS.register_module()
class MultiLevelAssociativeEmbedding(BaseKeypointCodec):
    """Gaussian heatmaps at one or several output resolutions plus associative-embedding tag indices; decoding by
    the reference's tag grouping (:class:`~swahr_mmpose.codecs.AEDecoder`).

    With the defaults, :meth:`encode` reproduces the reference ``HeatmapGenerator`` + ``JointsGenerator`` bit for bit
    and :meth:`decode` the reference ``HeatmapParser``. Units: *input px* are pixels of the network input (after the
    random affine and flip); *level px* are pixels of one output level, ``x_level = x_input * W_l / W_in``.

    Encoded items (``encode``):

    - ``heatmaps``: per level (K, H_l, W_l) float32 Gaussians (peak 1, max over people). A list over levels when
      ``heatmap_size`` is a list (``PackPoseInputs`` then builds a ``MultilevelPixelData``); one array when it is a
      single (w, h) pair (a ``PixelData``, what MMPose's single-level heads read).
    - ``keypoint_indices``: (N, K, 2) int64 ``[y * W_t + x, valid]`` at the tag level ``t``, slot-aligned per joint
      (MMPose's layout); rows that are not valid hold ``[0, 0]``.
    - ``keypoint_weights``: (N, K) float32, the same valid flag.

    The mapping tables pack ``heatmaps`` and ``heatmap_mask`` (added by ``ScaleAdaptiveGenerateTarget`` or MMPose's
    ``BottomupGetHeatmapMask``) into ``gt_fields`` and the two labels into ``gt_instance_labels``.

    Decoding (``decode`` / ``batch_decode``): maps at the network-input resolution (the reference resizes them to
    the input canvas before grouping; ``SWAHRHead`` does, and MMPose's ``AssociativeEmbeddingHead`` with
    ``test_cfg.restore_heatmap_size=True``): heatmaps (B, K, H, W), tags (B, L*K, H, W) channels-first; keypoints
    are returned in input px.

    Args:
        input_size: (W_in, H_in) of the network input (an int means square).
        heatmap_size: (W, H) of the single output level, or a list of (W_l, H_l), level 0 first (SWAHR W32:
            ``[(128, 128), (256, 256)]`` for a 512 input, 1/4 and 1/2 resolution).
        num_keypoints: K; checked against the data in ``encode`` and the maps in ``decode``. ``None``: from the data.
        sigma: Gaussian std in level px (reference: 2 at every level). With ``sigma_mode='bbox'`` it is the sigma
            of a person whose box side is ``bbox_base_size`` original px.
        sigma_mode: ``'fixed'`` (reference) or ``'bbox'``: per-person ``sigma_orig = max(box w, box h) /
            bbox_base_size * sigma`` in ORIGINAL image px (the reference's dormant scale-aware formula), converted
            to input px by the affine's scale and to level px by ``W_l / W_in`` (the reference never converts it and
            crashes when enabled). Needs isotropic level scaling and ``bbox`` (+ ``warp_mat``) in the results.
        bbox_base_size: the box side (original px) that gets ``sigma`` in ``'bbox'`` mode (reference: 256).
        center_mode: ``'truncate'`` (reference, ``int(x)`` toward zero, so x in (-1, 0) is kept at 0) or
            ``'round'`` (``floor(x + 0.5)``). Sets the default ``decode_center_shift`` (0.5 / 0).
        flip_convention: ``'reference'``: flipped joints land where the reference puts them, ``x_l = W_l - 1 -
            x_l(unflipped)``, i.e. ``W_l/W_in - 1`` level px (-0.75 at 1/4, -0.5 at 1/2) left of the image-consistent
            position. ``'consistent'``: joints follow the flipped image exactly.
        tag_level: index of the level whose tag indices are produced (reference: 0, the 1/4 level).
        max_num_people: tag capacity (reference: 30, where the reference crashes beyond it). People beyond it
            (annotation order, among people with a joint placed at the tag level) keep their heatmaps, but their tag
            rows are invalid (ignored by the AE loss); a warning is logged once. ``None``: unlimited.
        **decode_options: the decoding options, each an argument of :class:`AEDecoder` with the prefix
            ``decode_`` (MMPose's ``AssociativeEmbedding`` naming), e.g. ``decode_keypoint_thr``, ``decode_tag_thr``,
            ``decode_topk``, ``decode_nms_kernel``, ``decode_keypoint_order``, ``decode_max_instances``,
            ``decode_refine``, ``decode_subpixel``; :class:`AEDecoder` defines each one and its default.
            ``decode_center_shift`` defaults to 0.5 for truncated centres and 0 for rounded ones (``None`` too).
    """

    field_mapping_table = dict(heatmaps='heatmaps', heatmap_mask='heatmap_mask')
    label_mapping_table = dict(keypoint_indices='keypoint_indices', keypoint_weights='keypoint_weights')

    def __init__(self,
                 input_size: Union[int, Sequence[int]],
                 heatmap_size: Union[Sequence[int], Sequence[Sequence[int]]],
                 num_keypoints: Optional[int] = None,
                 sigma: float = 2.0,
                 sigma_mode: str = 'fixed',
                 bbox_base_size: float = 256.0,
                 center_mode: str = 'truncate',
                 flip_convention: str = 'reference',
                 tag_level: int = 0,
                 max_num_people: Optional[int] = 30,
                 **decode_options: Any) -> None:
        super().__init__()
        self.input_size = as_size_pair(input_size, 'input_size')
        self.heatmap_sizes, self.single_level = _parse_heatmap_sizes(heatmap_size)
        if not float(sigma) > 0:
            raise ValueError(f'sigma must be > 0, got {sigma!r}')
        if sigma_mode not in SIGMA_MODES:
            raise ValueError(f'sigma_mode must be one of {SIGMA_MODES}, got {sigma_mode!r}')
        if center_mode not in CENTER_MODES:
            raise ValueError(f'center_mode must be one of {CENTER_MODES}, got {center_mode!r}')
        if flip_convention not in FLIP_CONVENTIONS:
            raise ValueError(f'flip_convention must be one of {FLIP_CONVENTIONS}, got {flip_convention!r}')
        if not 0 <= tag_level < len(self.heatmap_sizes):
            raise ValueError(f'tag_level must index heatmap_size (0..{len(self.heatmap_sizes) - 1}), got {tag_level}')
        if max_num_people is not None and int(max_num_people) < 0:
            raise ValueError(f'max_num_people must be >= 0 or None, got {max_num_people!r}')
        if not float(bbox_base_size) > 0:
            raise ValueError(f'bbox_base_size must be > 0, got {bbox_base_size!r}')
        if sigma_mode == 'bbox':
            for width, height in self.heatmap_sizes:
                if not np.isclose(width / self.input_size[0], height / self.input_size[1]):
                    raise ValueError("sigma_mode='bbox' needs isotropic level scaling, but heatmap size "
                                     f'{(width, height)} vs input size {self.input_size} differ in x and y')
            self.auxiliary_encode_keys = {'flip', 'flip_direction', 'bbox', 'warp_mat'}
        else:
            self.auxiliary_encode_keys = {'flip', 'flip_direction'}
        self.num_keypoints = num_keypoints
        self.sigma = float(sigma)
        self.sigma_mode = sigma_mode
        self.bbox_base_size = float(bbox_base_size)
        self.center_mode = center_mode
        self.flip_convention = flip_convention
        self.tag_level = int(tag_level)
        self.max_num_people = None if max_num_people is None else int(max_num_people)
        self._capacity_warned = False

        self.decoder = AEDecoder(num_keypoints=num_keypoints, **decoder_arguments(decode_options, center_mode))

    @property
    def num_levels(self) -> int:
        return len(self.heatmap_sizes)

    # ----------------------------------------------------------------------------------------------------- encode
    def encode(self,
               keypoints: np.ndarray,
               keypoints_visible: Optional[np.ndarray] = None,
               flip: Optional[bool] = None,
               flip_direction: Optional[str] = None,
               bbox: Optional[np.ndarray] = None,
               warp_mat: Optional[np.ndarray] = None) -> Dict[str, Any]:
        """Heatmaps at every level and tag indices at the tag level.

        Args:
            keypoints: (N, K, 2) input px (after the affine and the flip).
            keypoints_visible: (N, K) visibility (``> 0`` counts; v=1 and v=2 alike, as the reference); ``None``:
                all visible.
            flip: whether the sample was horizontally flipped as the image pixel array, ``x' = W_in - 1 - x``
                (selects the ``flip_convention`` correction). ``None``: not flipped.
            flip_direction: must be ``'horizontal'`` (or ``None``) when ``flip``.
            bbox: ``sigma_mode='bbox'`` only: (N, 4) xyxy boxes in original px or (N, 4, 2) corners in input px.
            warp_mat: ``sigma_mode='bbox'`` only: (2, 3) original px -> input px affine (for (N, 4) boxes).

        Returns:
            dict with ``heatmaps``, ``keypoint_indices`` and ``keypoint_weights`` (see the class docstring).

        Raises:
            ValueError: wrong shapes, non-finite coordinates of visible joints, a vertical flip.
        """
        keypoints, keypoints_visible = self._validate_keypoints(keypoints, keypoints_visible)
        flipped = bool(flip)
        if flipped and flip_direction not in (None, 'horizontal'):
            raise ValueError(f'{type(self).__name__} supports horizontal flips only, got flip_direction='
                             f'{flip_direction!r}')
        num_people, num_keypoints = keypoints.shape[:2]
        if self.sigma_mode == 'bbox':
            if bbox is None:
                raise ValueError("sigma_mode='bbox' needs the person boxes: results['bbox'] (N, 4) in original px "
                                 'or (N, 4, 2) corners in input px')
            sigma_input_px = person_sizes_in_input_px(bbox, warp_mat) / self.bbox_base_size * self.sigma
            if sigma_input_px.shape != (num_people, ):
                raise ValueError(f"sigma_mode='bbox' needs one box per person, {num_people} people but boxes of "
                                 f'shape {np.shape(bbox)}')

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
                render_gaussian_heatmaps(size, num_keypoints, joint_idx, centers[person_idx,
                                                                                 joint_idx].astype(np.int64), sigma))
            if level == self.tag_level:
                tag_centers, tag_placed = centers, placed

        keep = capacity_mask(tag_placed, self.max_num_people)
        num_over_capacity = int(np.count_nonzero(~keep))
        if num_over_capacity and not self._capacity_warned:
            print_log(
                f'{type(self).__name__}: {num_over_capacity} people exceed max_num_people={self.max_num_people} in '
                'one sample; they keep their heatmaps but their tag rows are marked invalid, so the associative-'
                'embedding loss ignores them. This warning is shown once.',
                logger='current',
                level=logging.WARNING)
            self._capacity_warned = True
        valid = tag_placed & keep[:, None]
        safe_centers = np.where(valid[..., None], tag_centers, 0).astype(np.int64)
        return dict(
            heatmaps=heatmaps[0] if self.single_level else heatmaps,
            keypoint_indices=tag_indices(safe_centers, valid, self.heatmap_sizes[self.tag_level][0]),
            keypoint_weights=valid.astype(np.float32))

    def _validate_keypoints(self, keypoints: np.ndarray,
                            keypoints_visible: Optional[np.ndarray]) -> Tuple[np.ndarray, np.ndarray]:
        """(N, K, 2) keypoints and (N, K) float64 visibility; clear errors for shapes and non-finite joints."""
        keypoints = np.asarray(keypoints)
        if keypoints.ndim != 3 or keypoints.shape[-1] != 2:
            raise ValueError(f'keypoints must have shape (N, K, 2) in input px, got {keypoints.shape}')
        if self.num_keypoints is not None and keypoints.shape[1] != self.num_keypoints:
            raise ValueError(f'keypoints have K={keypoints.shape[1]} joints but the codec is configured for '
                             f'num_keypoints={self.num_keypoints}; set num_keypoints to the dataset\'s joint count')
        if keypoints_visible is None:
            visible = np.ones(keypoints.shape[:2])
        else:
            visible = np.asarray(keypoints_visible)
            if visible.ndim == 3 and visible.shape[-1] == 2:
                visible = visible[..., 0]  # MMPose's (visibility, weight) pairs
            if visible.shape != keypoints.shape[:2]:
                raise ValueError(f'keypoints_visible must have shape {keypoints.shape[:2]} (N, K) to match keypoints '
                                 f'{keypoints.shape}, got {np.shape(keypoints_visible)}')
        visible = visible.astype(np.float64)
        bad = (visible > 0) & ~np.isfinite(keypoints).all(axis=-1)
        if bad.any():
            person, joint = (int(v) for v in np.argwhere(bad)[0])
            raise ValueError(f'keypoints has non-finite coordinates for {int(bad.sum())} visible joint(s) (v > 0), '
                             f'first: person {person}, joint {joint} = {keypoints[person, joint].tolist()}')
        return keypoints, visible

    # ----------------------------------------------------------------------------------------------------- decode
    def decode(self, heatmaps: ArrayLike, tags: ArrayLike) -> DecodedImage:
        """Group one image: heatmaps (K, H, W), tags (L*K, H, W) at input resolution -> keypoints (N, K, 2) input
        px, keypoint scores (N, K), instance scores (N,). See :meth:`AEDecoder.decode`."""
        self._check_decoding_resolution(heatmaps.shape[-2:])
        return self.decoder.decode(heatmaps, tags)

    def batch_decode(self, batch_heatmaps: ArrayLike,
                     batch_tags: ArrayLike) -> Tuple[List[np.ndarray], List[np.ndarray], List[np.ndarray]]:
        """Group a batch: heatmaps (B, K, H, W), tags (B, L*K, H, W) at input resolution. See
        :meth:`AEDecoder.batch_decode`."""
        self._check_decoding_resolution(batch_heatmaps.shape[-2:])
        return self.decoder.batch_decode(batch_heatmaps, batch_tags)

    def _check_decoding_resolution(self, map_hw: Sequence[int]) -> None:
        """Maps still at an output level's size (not the input's) would give keypoints in level px silently."""
        width_height = (int(map_hw[1]), int(map_hw[0]))
        if width_height in self.heatmap_sizes and width_height != self.input_size:
            raise ValueError(f'{type(self).__name__} decodes maps at the network-input resolution, but got maps of '
                             f'size {width_height} (w, h), the size of an output level; resize them to the input '
                             'first (MMPose heads: test_cfg.restore_heatmap_size=True)')

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(input_size={self.input_size}, heatmap_size={self.heatmap_sizes}, '
                f'sigma={self.sigma}, sigma_mode={self.sigma_mode!r}, center_mode={self.center_mode!r}, '
                f'flip_convention={self.flip_convention!r}, tag_level={self.tag_level}, '
                f'max_num_people={self.max_num_people})')
