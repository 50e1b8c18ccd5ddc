"""``AEDecoder``: associative-embedding grouping of heatmaps and tags into people (decode only).

Default settings reproduce the reference parser (SWAHR = HigherHRNet ``HeatmapParser.parse`` with ``adjust=True,
refine=True``; ``docs/reference_behaviour.md#7-grouping``) exactly, bit for bit on float32 maps (inputs are cast to
float32, as the reference decodes float32 maps), with these documented choices:

* candidates with exactly equal heatmap values are ordered by pixel index (the reference's ``torch.topk`` order for
  them is unspecified), see :mod:`.utils.candidates`;
* assignment ties are resolved by the installed ``munkres`` (as in the reference), see :mod:`.utils.tag_grouping`;
* a tag read position outside the map (only possible with non-default ``center_shift``/``quarter_offset``) is
  clamped, where the reference would wrap around or fail;
* bit equality of refinement distances assumes L < 8 tag maps per joint (numpy sums 8 or more terms pairwise).

Tensor contract (MMPose's, as ``mmpose.codecs.AssociativeEmbedding``): heatmaps ``(B, K, H, W)`` and tags
``(B, L*K, H, W)``, channel ``l*K + k`` = tag map ``l`` of joint ``k`` (L = 2 with flip test: original and flipped).

Pipeline: NMS + top-k for the whole batch on the maps' device (:mod:`.utils.candidates`); then, per image, the maps
are handed to the host once and grouping (:mod:`.utils.tag_grouping`), truncation to ``max_instances``,
quarter-pixel adjustment, person scores and refinement of missing joints (:mod:`.utils.refinement`) run there.
"""
from typing import List, Optional, Sequence, Tuple, Union

import numpy as np
import torch
from mmpose.codecs.base import BaseKeypointCodec
from mmpose.registry import KEYPOINT_CODECS

from .utils.candidates import NMS_TILE, Candidates, select_candidates
from .utils.dark import check_blur_kernel, dark_offsets
from .utils.keypoint_order import reference_keypoint_order, resolve_keypoint_order
from .utils.refinement import person_tags_at_joints, quarter_offset_signs, search_refine_pixels
from .utils.tag_grouping import GroupedPeople, GroupingOptions, JointCandidates, group_by_tags

ArrayLike = Union[np.ndarray, torch.Tensor]
DecodedImage = Tuple[np.ndarray, np.ndarray, np.ndarray]


@KEYPOINT_CODECS.register_module()
class AEDecoder(BaseKeypointCodec):
    """Group keypoints from heatmaps and associative-embedding tags, as the SWAHR/HigherHRNet reference does.

    The maps are given at the decoding resolution (SWAHR: the input-pixel canvas, since heatmaps are resized to the
    network input before decoding); keypoints come back in pixels of that resolution, pixel ``i`` spanning
    ``[i, i+1)``. For training targets use :class:`~swahr_mmpose.codecs.MultiLevelAssociativeEmbedding`, the codec
    that owns both directions and decodes with this class.

    Args:
        num_keypoints: K, heatmap channels; ``None`` takes K from the maps at every call.
        keypoint_order: joint types in matching order (a permutation of ``range(K)``). ``None``: the reference order
            :data:`REFERENCE_KEYPOINT_ORDER` truncated to K entries (for K=14 this is the CrowdPose order the
            reference uses); an error if that truncation is not a permutation. A keypoint-set metainfo
            (``dict(from_file=...)`` or parsed): its default order, see :mod:`.utils.keypoint_order`.
        nms_kernel: odd side of the max-pool NMS window, in decoding px (reference 5, stride 1, padding 2).
        topk: candidates per joint type (reference ``MAX_NUM_PEOPLE`` = 30).
        keypoint_thr: candidates need a heatmap value strictly above this (reference ``DETECTION_THRESHOLD``:
            0.1; 0.12 in the SWAHR W32 COCO config). Must be >= 0.
        tag_thr: a candidate joins a group only if its unrounded L2 tag distance is strictly below this (1.0).
        max_instances: keep at most this many people (first created first, like MMPose's ``decode_max_instances``).
            ``None`` (reference): no cap.
        max_match_groups: only the first this-many people are matching targets (reference: ``MAX_NUM_PEOPLE`` = 30).
            ``None``: all people.
        skip_joint_if_groups_full: reference ``IGNORE_TOO_MUCH`` (False): skip a joint type once
            ``max_match_groups`` people exist.
        use_detection_val: cost ``round(distance) * 100 - value`` (True, reference) or the plain distance.
        key_persons_by_first_tag: reference quirk (True): people are keyed by the first tag component of their
            first candidate, and a new person whose key already exists overwrites that person's joint instead.
            False: every unmatched candidate starts a distinct person.
        adjust: move detected joints by their sub-pixel offset (``subpixel``), then add ``center_shift``.
        refine: fill missing joints from the whole map (see :mod:`.utils.refinement`); filled joints get the same
            sub-pixel offset.
        subpixel: the sub-pixel offset of adjustment and refinement: ``'quarter'`` (reference) ``quarter_offset``
            towards the higher neighbour, or ``'dark'``, the Taylor step on the blurred log heatmap
            (:mod:`.utils.dark`; not in the reference).
        dark_kernel: odd side of the Gaussian blur before the DARK step, decoding px (only with
            ``subpixel='dark'``; default 11, MMPose's default for sigma-2 heatmaps). On the main job's maps wider
            blurs lost AP (docs/synthetic_results.md).
        center_shift: shift added by adjustment and refinement, decoding px (reference 0.5, for Gaussians centred
            at ``int(x)``; 0 for rounded centres).
        quarter_offset: neighbour step of adjustment and refinement, decoding px (reference 0.25).
        tie_tolerance: assignments whose costs differ by at most this are ties and go to Munkres (speed only, as long
            as it exceeds float noise; see :mod:`.utils.tag_grouping`).
        refine_block_size: fine tile side of the exact pruned refinement search, px (speed only; at the NMS tile
            size, 8, the search reuses the NMS's heatmap tile max).
    """

    def __init__(self,
                 num_keypoints: Optional[int] = 17,
                 keypoint_order: Union[None, Sequence[int], dict] = None,
                 nms_kernel: int = 5,
                 topk: int = 30,
                 keypoint_thr: float = 0.1,
                 tag_thr: float = 1.0,
                 max_instances: Optional[int] = None,
                 max_match_groups: Optional[int] = 30,
                 skip_joint_if_groups_full: bool = False,
                 use_detection_val: bool = True,
                 key_persons_by_first_tag: bool = True,
                 adjust: bool = True,
                 refine: bool = True,
                 center_shift: float = 0.5,
                 quarter_offset: float = 0.25,
                 subpixel: str = 'quarter',
                 dark_kernel: int = 11,
                 tie_tolerance: float = 1e-3,
                 refine_block_size: int = 8) -> None:
        super().__init__()
        if num_keypoints is not None and num_keypoints < 1:
            raise ValueError(f'num_keypoints must be >= 1 or None, got {num_keypoints}')
        keypoint_order = resolve_keypoint_order(keypoint_order, num_keypoints)
        if not (isinstance(nms_kernel, int) and nms_kernel >= 1 and nms_kernel % 2 == 1):
            raise ValueError(f'nms_kernel must be an odd positive int, got {nms_kernel!r}')
        if topk < 1:
            raise ValueError(f'topk must be >= 1, got {topk}')
        if keypoint_thr < 0:
            raise ValueError(f'keypoint_thr must be >= 0 (missing joints are marked by value 0), got {keypoint_thr}')
        for name, value in (('max_instances', max_instances), ('max_match_groups', max_match_groups)):
            if value is not None and value < 1:
                raise ValueError(f'{name} must be None or >= 1, got {value}')
        if subpixel not in ('quarter', 'dark'):
            raise ValueError(f"subpixel must be 'quarter' (reference) or 'dark', got {subpixel!r}")
        check_blur_kernel(dark_kernel)
        if refine_block_size < 1:
            raise ValueError(f'refine_block_size must be >= 1, got {refine_block_size}')
        if tie_tolerance < 0:
            raise ValueError(f'tie_tolerance must be >= 0, got {tie_tolerance}')

        self.num_keypoints = num_keypoints
        self.keypoint_order = keypoint_order
        self.nms_kernel = nms_kernel
        self.topk = topk
        self.keypoint_thr = float(keypoint_thr)
        self.tag_thr = float(tag_thr)
        self.max_instances = max_instances
        self.adjust = adjust
        self.refine = refine
        self.center_shift = float(center_shift)
        self.quarter_offset = float(quarter_offset)
        self.subpixel = subpixel
        self.dark_kernel = dark_kernel
        self.refine_block_size = refine_block_size
        self._grouping_kwargs = dict(
            tag_thr=float(tag_thr),
            max_match_groups=max_match_groups,
            skip_joint_if_groups_full=skip_joint_if_groups_full,
            use_detection_val=use_detection_val,
            key_persons_by_first_tag=key_persons_by_first_tag,
            tie_tolerance=float(tie_tolerance))
        self.munkres_calls = 0  # Munkres fallbacks (assignment ties) since construction, for diagnostics

    def encode(self, keypoints: np.ndarray, keypoints_visible: Optional[np.ndarray] = None) -> dict:
        """Not supported: use :class:`~swahr_mmpose.codecs.MultiLevelAssociativeEmbedding` for training targets."""
        raise NotImplementedError('AEDecoder only decodes; training targets (heatmaps, tag indices) come from the '
                                  'MultiLevelAssociativeEmbedding codec (GenerateTarget / ScaleAdaptiveGenerateTarget '
                                  'with encoder=dict(type="MultiLevelAssociativeEmbedding", ...))')

    def decode(self, heatmaps: ArrayLike, tags: ArrayLike) -> DecodedImage:
        """Group one image.

        Args:
            heatmaps: (K, H, W) numpy array or tensor, decoding resolution.
            tags: (L*K, H, W), same resolution; channel ``l*K + k`` (L = 2 with flip test).

        Returns:
            keypoints: (N, K, 2) float32 (x, y) in decoding px.
            keypoint_scores: (N, K) float32 heatmap values (0 for joints neither detected nor refined).
            instance_scores: (N,) float32, mean of the detected joints' values over all K (before refinement).
        """
        heatmaps, tags = self._as_tensors(heatmaps, tags, batched=False)
        keypoints, keypoint_scores, instance_scores = self._batch_decode(heatmaps[None], tags[None])
        return keypoints[0], keypoint_scores[0], instance_scores[0]

    def batch_decode(self, batch_heatmaps: ArrayLike,
                     batch_tags: ArrayLike) -> Tuple[List[np.ndarray], List[np.ndarray], List[np.ndarray]]:
        """Group a batch: (B, K, H, W) heatmaps and (B, L*K, H, W) tags -> per-image lists of :meth:`decode`'s
        three arrays."""
        heatmaps, tags = self._as_tensors(batch_heatmaps, batch_tags, batched=True)
        return self._batch_decode(heatmaps, tags)

    def _batch_decode(self, heatmaps: torch.Tensor,
                      tags: torch.Tensor) -> Tuple[List[np.ndarray], List[np.ndarray], List[np.ndarray]]:
        batch, num_joints, height, width = heatmaps.shape
        tag_dim = tags.shape[1] // num_joints
        candidates = select_candidates(heatmaps, tags, self.nms_kernel, self.topk, self.keypoint_thr)
        results = []
        for i in range(batch):
            # one device-to-host hand-over per image; (L*K, H, W) -> (L, K, H, W) is a view, not a copy
            image_tags = tags[i].view(tag_dim, num_joints, height, width)
            results.append(self._decode_image(heatmaps[i].cpu(), image_tags.cpu(), candidates, i))
        keypoints, keypoint_scores, instance_scores = (list(r) for r in zip(*results)) if results else ([], [], [])
        return keypoints, keypoint_scores, instance_scores

    def _as_tensors(self, heatmaps: ArrayLike, tags: ArrayLike, batched: bool) -> Tuple[torch.Tensor, torch.Tensor]:
        """Validate shapes and return float32 contiguous tensors on the heatmaps' device."""
        prefix = 'batch_' if batched else ''
        lead = 'B, ' if batched else ''
        joints = 'K' if self.num_keypoints is None else f'K={self.num_keypoints}'
        expected_hm = f'({lead}{joints}, H, W)'
        expected_tag = f'({lead}L*{joints}, H, W)'
        tensors = []
        for name, value, expected in ((prefix + 'heatmaps', heatmaps, expected_hm), (prefix + 'tags', tags,
                                                                                     expected_tag)):
            if isinstance(value, np.ndarray):
                value = torch.from_numpy(value)
            if not isinstance(value, torch.Tensor):
                raise TypeError(f'{name} must be a numpy array or torch tensor, got {type(value).__name__}')
            if not value.is_floating_point():
                raise TypeError(f'{name} must be floating point, got {value.dtype}')
            if value.dim() != 3 + int(batched):
                raise ValueError(f'{name} must have shape {expected}, got {tuple(value.shape)}')
            tensors.append(value)
        heatmaps, tags = tensors
        joint_axis = int(batched)
        num_joints = heatmaps.shape[joint_axis]
        if self.num_keypoints is not None and num_joints != self.num_keypoints:
            raise ValueError(f'{prefix}heatmaps must have shape {expected_hm}, got {tuple(heatmaps.shape)}; the '
                             f'decoder is configured for num_keypoints={self.num_keypoints}')
        if self.keypoint_order is not None and len(self.keypoint_order) != num_joints:
            raise ValueError(f'{prefix}heatmaps have {num_joints} joints but keypoint_order has '
                             f'{len(self.keypoint_order)} entries')
        num_tag_maps = tags.shape[joint_axis]
        if (tags.shape[:joint_axis] != heatmaps.shape[:joint_axis]
                or tags.shape[joint_axis + 1:] != heatmaps.shape[joint_axis + 1:] or num_tag_maps < num_joints
                or num_tag_maps % num_joints):
            raise ValueError(f'{prefix}tags must have shape {expected_tag} (channels-first, L tag maps per joint) '
                             f'matching {prefix}heatmaps {tuple(heatmaps.shape)}, got {tuple(tags.shape)}')
        if min(heatmaps.shape[-2:]) < 1:
            raise ValueError(f'{prefix}heatmaps must have H, W >= 1, got {tuple(heatmaps.shape)}')
        if tags.device != heatmaps.device:
            raise ValueError(f'{prefix}tags are on {tags.device} but {prefix}heatmaps on {heatmaps.device}')
        return heatmaps.detach().float().contiguous(), tags.detach().float().contiguous()

    def _grouping_options(self, num_joints: int) -> GroupingOptions:
        order = self.keypoint_order if self.keypoint_order is not None else reference_keypoint_order(num_joints)
        return GroupingOptions(keypoint_order=order, **self._grouping_kwargs)

    def _decode_image(self, heatmaps: torch.Tensor, tags: torch.Tensor, candidates: Candidates,
                      image: int) -> DecodedImage:
        """Group, adjust, score and refine one image. heatmaps (K, H, W), tags (L, K, H, W): CPU tensors."""
        num_joints = heatmaps.shape[0]
        per_joint = [
            JointCandidates(candidates.x[s], candidates.y[s], candidates.value[s], candidates.tag[s])
            for s in candidates.per_joint(image, num_joints)
        ]
        people = group_by_tags(per_joint, self._grouping_options(num_joints))
        self.munkres_calls += people.munkres_calls
        if self.max_instances is not None:
            people = GroupedPeople(people.x[:self.max_instances], people.y[:self.max_instances],
                                   people.value[:self.max_instances], people.munkres_calls)
        num_people = people.value.shape[0]
        if num_people == 0:
            return (np.zeros((0, num_joints, 2), np.float32), np.zeros((0, num_joints),
                                                                       np.float32), np.zeros((0, ), np.float32))

        heat = heatmaps.numpy()  # zero-copy views of the host tensors
        detected = people.value > 0
        kpt_x = people.x.astype(np.float64)
        kpt_y = people.y.astype(np.float64)
        if self.adjust:
            person, joint = np.nonzero(detected)
            offset_x, offset_y = self._subpixel_offsets(heat, joint, people.x[person, joint], people.y[person, joint])
            kpt_x[person, joint] = (kpt_x[person, joint] + offset_x) + self.center_shift
            kpt_y[person, joint] = (kpt_y[person, joint] + offset_y) + self.center_shift
        # reference: person score = mean over all K values (missing = 0), after adjustment, before refinement
        instance_scores = np.mean(people.value, axis=1).astype(np.float32)
        keypoint_scores = people.value.copy()
        keypoints = np.stack([kpt_x, kpt_y], axis=-1).astype(np.float32)
        if self.refine:
            # the NMS's tile max of the heatmaps, when refinement tiles have the same size
            tile_max = candidates.heat_tile_max[image] if self.refine_block_size == NMS_TILE else None
            self._refine(heatmaps, tags, keypoints, keypoint_scores, detected, tile_max)
        return keypoints, keypoint_scores, instance_scores

    def _refine(self, heatmaps: torch.Tensor, tags: torch.Tensor, keypoints: np.ndarray, keypoint_scores: np.ndarray,
                detected: np.ndarray, heat_tile_max: Optional[np.ndarray]) -> None:
        """Fill missing joints in place (keypoints (N, K, 2) float32, keypoint_scores (N, K)).

        heatmaps (K, H, W), tags (L, K, H, W): CPU tensors; heat_tile_max: see :func:`search_refine_pixels`.
        """
        height, width = heatmaps.shape[-2:]
        heat = heatmaps.numpy()
        # reference reads each detected joint's tag at int() of its (already adjusted) float32 position
        read_x = np.clip(np.trunc(keypoints[..., 0]).astype(np.int64), 0, width - 1)
        read_y = np.clip(np.trunc(keypoints[..., 1]).astype(np.int64), 0, height - 1)
        person_tags = person_tags_at_joints(tags.numpy(), read_x, read_y, detected)
        person, joint = np.nonzero(~detected)
        if person.size == 0:
            return
        best_x, best_y = search_refine_pixels(
            heatmaps, tags, joint, person_tags[person], block=self.refine_block_size, heat_tile_max=heat_tile_max)
        value = heat[joint, best_y, best_x]
        fill = value > 0
        person, joint, best_x, best_y = person[fill], joint[fill], best_x[fill], best_y[fill]
        offset_x, offset_y = self._subpixel_offsets(heat, joint, best_x, best_y)
        keypoints[person, joint, 0] = (best_x.astype(np.float64) + self.center_shift) + offset_x
        keypoints[person, joint, 1] = (best_y.astype(np.float64) + self.center_shift) + offset_y
        keypoint_scores[person, joint] = value[fill]

    def _subpixel_offsets(self, heat: np.ndarray, joint: np.ndarray, x: np.ndarray,
                          y: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
        """(M,) float64 x / y offsets, decoding px, of keypoints at integer pixels (x, y) of channels ``joint``.

        heat: (K, H, W) float32 heatmaps; reference: ``quarter_offset`` times the sign towards the higher neighbour.
        """
        if self.subpixel == 'dark':
            return dark_offsets(heat, joint, x, y, self.dark_kernel)
        sign_x, sign_y = quarter_offset_signs(heat, joint, x, y)
        return self.quarter_offset * sign_x, self.quarter_offset * sign_y
