"""HigherHRNet head with SWAHR's scale branches (``SWAHRHead``).

Layout (W32 COCO shapes for a 512 px input; C = backbone width, K = joints):

* level 0 (1/4 input res, 128 px): ``final_layers[0]`` 1x1 conv C -> 2K giving K heatmaps then K associative-
  embedding tags; ``conv_scale_layers[0]`` (1x1 conv C -> K, BN, ReLU, depthwise 9x9 conv, last conv
  zero-initialised) giving K scale maps.
* ``deconv_layers[0]``: input = concat(features, level-0 heatmaps, level-0 tags) (C + 2K channels; the scale maps are
  *not* fed forward), ConvTranspose 4x4 stride 2 + BN + ReLU, then 4 BasicBlocks of width C.
* level 1 (1/2 input res, 256 px): ``final_layers[1]`` 1x1 conv C -> K heatmaps and ``conv_scale_layers[1]``.

Submodule names and parameter shapes equal the official SWAHR / HigherHRNet ones (``final_layers``,
``deconv_layers``, ``conv_scale_layers``), so official checkpoints convert by adding the ``head.`` prefix only. With
``with_scale=False`` the head is plain HigherHRNet.
"""
import math
from typing import Dict, List, Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
import torch.utils.checkpoint as cp
from mmengine.structures import InstanceData, PixelData
from mmpose.models.backbones.resnet import BasicBlock
from mmpose.models.heads.base_head import BaseHead
from mmpose.models.utils.tta import aggregate_heatmaps, flip_heatmaps
from mmpose.registry import KEYPOINT_CODECS, MODELS
from mmpose.utils.typing import ConfigType, Features, OptConfigType, OptSampleList, Predictions
from torch import Tensor, nn

NUM_LEVELS = 2
# test_cfg keys SWAHRHead / the bottom-up estimator read; anything else is a typo.
TEST_CFG_KEYS = frozenset({'multiscale_test', 'flip_test', 'flip_shift', 'align_corners', 'output_heatmaps'})


class DepthwiseConv2d(nn.Conv2d):
    """``nn.Conv2d`` with ``groups == in_channels``, run in channels-last memory layout on the CPU.

    PyTorch's CPU kernels for depthwise convolutions are slow in the default (contiguous) layout, mostly the weight
    gradient: for the 9x9 scale branch on (16, 17, 64, 64) inputs, forward + backward took 56-85 ms against 22-26 ms
    in channels-last (2-core CPU, 2 threads; far worse for contiguous under CPU contention). Same parameters and
    math (results equal to float rounding); on other devices it is the plain convolution. The output keeps the
    input's layout, so a model already in channels-last (``ChannelsLastHook``) is not converted back and forth.
    """

    def forward(self, x: Tensor) -> Tensor:
        if x.device.type != 'cpu' or x.is_contiguous(memory_format=torch.channels_last):
            return super().forward(x)
        return super().forward(x.contiguous(memory_format=torch.channels_last)).contiguous()


def _scale_branch(in_channels: int, num_keypoints: int, kernel_size: int) -> nn.Sequential:
    """1x1 conv -> BN -> ReLU -> depthwise kxk conv; unbounded output."""
    return nn.Sequential(
        nn.Conv2d(in_channels, num_keypoints, 1),
        nn.BatchNorm2d(num_keypoints),
        nn.ReLU(inplace=True),
        DepthwiseConv2d(num_keypoints, num_keypoints, kernel_size, padding=kernel_size // 2, groups=num_keypoints),
    )


def _deconv_block(in_channels: int, out_channels: int, num_basic_blocks: int) -> nn.Sequential:
    """ConvTranspose(4, stride 2) + BN + ReLU, then ``num_basic_blocks``.

    Each BasicBlock sits in its own Sequential to keep the official key layout
    ``deconv_layers.0.{1..4}.0.conv1.weight``.
    """
    layers = [
        nn.Sequential(
            nn.ConvTranspose2d(
                in_channels, out_channels, kernel_size=4, stride=2, padding=1, output_padding=0, bias=False),
            nn.BatchNorm2d(out_channels), nn.ReLU(inplace=True))
    ]
    layers += [nn.Sequential(BasicBlock(out_channels, out_channels)) for _ in range(num_basic_blocks)]
    return nn.Sequential(*layers)


def shift_width(maps: Tensor, shift: float) -> Tensor:
    """Move ``maps`` (..., W) by ``shift`` px along W (positive: to the right), linearly interpolated, edge columns
    repeated: ``out[..., x] = maps[..., x - shift]``. Built from ``index_select`` so that it traces into ONNX."""
    whole = math.floor(shift)
    frac = shift - whole
    columns = torch.arange(maps.shape[-1], device=maps.device)
    last = maps.shape[-1] - 1
    near = maps.index_select(-1, (columns - whole).clamp(0, last))
    if frac == 0:
        return near
    far = maps.index_select(-1, (columns - whole - 1).clamp(0, last))
    return near * (1 - frac) + far * frac


def check_test_cfg(test_cfg: dict) -> None:
    """Reject ``test_cfg`` keys nobody reads (a typo such as ``flip_tset`` would otherwise be ignored)."""
    unknown = sorted(set(test_cfg) - TEST_CFG_KEYS)
    if unknown:
        raise ValueError(f'model.test_cfg has unknown key(s) {unknown}; SWAHRHead reads {sorted(TEST_CFG_KEYS)}')


@MODELS.register_module()
class SWAHRHead(BaseHead):
    """HigherHRNet head with SWAHR's scale-adaptive branches.

    :meth:`forward` returns a plain tuple of tensors (traceable, exportable), level 0 at 1/4 and level 1 at 1/2 of
    the input resolution (for a stride-4 backbone feature map):

    * ``with_scale=True`` (SWAHR): ``(heatmaps_0, heatmaps_1, tags, scales_0, scales_1)``;
    * ``with_scale=False`` (HigherHRNet): ``(heatmaps_0, heatmaps_1, tags)``;

    heatmaps and scale maps (B, K, H_l, W_l), tags (B, K, H_0, W_0): one tag map per joint, channels-first as
    MMPose's ``AssociativeEmbeddingHead``. :meth:`split_outputs` names them.

    Args:
        in_channels: channels C of the backbone feature map the head reads (``feats[-1]``; HRNet: the 1/4
            resolution branch).
        num_keypoints: number of joints K.
        with_scale: add SWAHR's scale branches; ``False`` gives HigherHRNet.
        num_basic_blocks: BasicBlocks after the deconv (reference: 4).
        scale_kernel_size: kernel of the depthwise scale conv (reference: 9).
        heatmap_loss: per-level heatmap loss, called ``loss(pred, gt, mask=mask, scale=scale)`` (``scale`` only
            with ``with_scale``); ``WeightAdaptiveMSELoss`` (or ``KeypointMSELoss`` for HigherHRNet).
        scale_loss: per-level scale regulariser (``with_scale`` only), called ``loss(scale, gt, mask=mask)``.
        tag_loss: associative-embedding loss on level 0, called ``loss(tags, keypoint_indices)`` -> (pull, push).
        decoder: the codec (``MultiLevelAssociativeEmbedding``) or ``AEDecoder`` config used by :meth:`predict`.
        with_cp: gradient checkpointing while training, for the deconv block (ConvTranspose + BN + ReLU +
            BasicBlocks at 1/2 input res) and the per-level heatmap and scale losses (their float32 per-pixel
            intermediates): only their inputs are kept for backward and they run again during backward, like
            MMPose's ``HRNet(with_cp=True)`` for the backbone (same losses and gradients; BN running statistics see
            the block's batch twice, as with MMPose's switch). Measured saving: docs/benchmark.md.
        init_cfg: weight init; defaults to the reference's N(0, 0.001) convs, zero biases and unit BN, then the last
            conv of every scale branch is zeroed in :meth:`init_weights` so that s == 0 at the start.
    """

    def __init__(self,
                 in_channels: int,
                 num_keypoints: int,
                 with_scale: bool = True,
                 num_basic_blocks: int = 4,
                 scale_kernel_size: int = 9,
                 heatmap_loss: ConfigType = dict(type='WeightAdaptiveMSELoss'),
                 scale_loss: ConfigType = dict(type='ScaleRegularizationLoss'),
                 tag_loss: ConfigType = dict(type='BatchedAssociativeEmbeddingLoss'),
                 decoder: OptConfigType = None,
                 with_cp: bool = False,
                 init_cfg: OptConfigType = None):
        if init_cfg is None:
            init_cfg = [
                dict(type='Normal', layer=['Conv2d', 'ConvTranspose2d'], std=0.001, bias=0),
                dict(type='Constant', layer='BatchNorm2d', val=1, bias=0),
            ]
        super().__init__(init_cfg)
        self.in_channels = in_channels
        self.num_keypoints = num_keypoints
        self.with_scale = with_scale
        self.with_cp = with_cp

        k = num_keypoints
        self.final_layers = nn.ModuleList([
            nn.Conv2d(in_channels, 2 * k, 1),  # [heatmaps (K), tags (K)]
            nn.Conv2d(in_channels, k, 1),
        ])
        self.deconv_layers = nn.ModuleList([_deconv_block(in_channels + 2 * k, in_channels, num_basic_blocks)])
        if with_scale:
            self.conv_scale_layers = nn.ModuleList(
                [_scale_branch(in_channels, k, scale_kernel_size) for _ in range(NUM_LEVELS)])

        self.heatmap_loss = MODELS.build(heatmap_loss)
        self.scale_loss = MODELS.build(scale_loss) if with_scale else None
        self.tag_loss = MODELS.build(tag_loss)
        self.decoder = KEYPOINT_CODECS.build(decoder) if decoder else None
        if self.decoder is not None:
            self._check_decoder()

    def _check_decoder(self) -> None:
        """The codec must describe this head's outputs: K joints and two levels, level 1 twice level 0's size."""
        codec_joints = getattr(self.decoder, 'num_keypoints', None)
        if codec_joints is not None and codec_joints != self.num_keypoints:
            raise ValueError(f'SWAHRHead has num_keypoints={self.num_keypoints} but its codec (decoder) has '
                             f'num_keypoints={codec_joints}; set both to the dataset\'s joint count')
        sizes = getattr(self.decoder, 'heatmap_sizes', None)
        if sizes is None:
            return
        if len(sizes) != NUM_LEVELS:
            raise ValueError(f'SWAHRHead predicts {NUM_LEVELS} heatmap levels (1/4 and 1/2 resolution) but the codec '
                             f'has heatmap_size={list(sizes)}; give the codec two (w, h) sizes, level 0 first')
        (w0, h0), (w1, h1) = sizes
        if (w1, h1) != (2 * w0, 2 * h0):
            raise ValueError(f'SWAHRHead\'s deconv doubles the resolution, so the codec\'s heatmap_size must be '
                             f'[(w, h), (2w, 2h)], got {list(sizes)}')

    def init_weights(self) -> None:
        """Reference init, then zero the scale branches' last conv (s == 0)."""
        super().init_weights()
        if self.with_scale:
            for branch in self.conv_scale_layers:
                nn.init.zeros_(branch[-1].weight)
                nn.init.zeros_(branch[-1].bias)

    # ------------------------------------------------------------------------------------------------- forward
    def forward(self, feats: Sequence[Tensor]) -> Tuple[Tensor, ...]:
        """Run the head.

        Args:
            feats: backbone outputs; ``feats[-1]`` is the (B, C, H/4, W/4) feature map (HRNet: its 1/4 branch).

        Returns:
            ``(heatmaps_0, heatmaps_1, tags[, scales_0, scales_1])``, see the class docstring.
        """
        x = feats[-1]
        k = self.num_keypoints
        level0 = self.final_layers[0](x)
        # the deconv sees the features plus level 0's heatmaps and tags (not the scale maps)
        deconv_input = torch.cat((x, level0), dim=1)
        if self.with_cp and self.training and deconv_input.requires_grad:
            # reentrant, as MMPose's BasicBlock(with_cp=True): the block input is what backward keeps
            x1 = cp.checkpoint(self.deconv_layers[0], deconv_input, use_reentrant=True)
        else:
            x1 = self.deconv_layers[0](deconv_input)
        outputs = (level0[:, :k], self.final_layers[1](x1), level0[:, k:])
        if self.with_scale:
            outputs += (self.conv_scale_layers[0](x), self.conv_scale_layers[1](x1))
        return outputs

    def split_outputs(self, outputs: Tuple[Tensor, ...]) -> Tuple[List[Tensor], Tensor, Optional[List[Tensor]]]:
        """``forward``'s tuple as (heatmaps per level, level-0 tags, scale maps per level or None)."""
        scales = list(outputs[NUM_LEVELS + 1:]) if self.with_scale else None
        return list(outputs[:NUM_LEVELS]), outputs[NUM_LEVELS], scales

    # ---------------------------------------------------------------------------------------------------- loss
    def loss(self, feats: Tuple[Tensor], batch_data_samples: OptSampleList, train_cfg: ConfigType = {}) -> dict:
        """Heatmap (+ scale) losses per level and the AE loss on level 0.

        Reads from each data sample (as packed by ``ScaleAdaptiveGenerateTarget`` + ``PackPoseInputs``):
        ``gt_fields`` (MultilevelPixelData) with per-level ``heatmaps`` (K, H_l, W_l) and ``heatmap_mask``
        (H_l, W_l), and ``gt_instance_labels.keypoint_indices`` (N, K, 2) = ``[y * W_0 + x, valid]`` at level 0.

        Returns:
            ``loss_heatmap_l{l}``, ``loss_scale_l{l}`` (SWAHR only) for each level, ``loss_ae_pull`` and
            ``loss_ae_push``.
        """
        heatmaps, tags, scales = self.split_outputs(self.forward(feats))
        gt_heatmaps, gt_masks = self._collect_level_targets(batch_data_samples)

        losses: Dict[str, Tensor] = {}
        for level, pred in enumerate(heatmaps):
            self._check_target_shape(level, gt_heatmaps[level], pred)
            scale = scales[level] if self.with_scale else None
            if self.with_cp and self.training and pred.requires_grad:
                # the losses' per-pixel float32 intermediates (modulated target, weights) are recomputed in backward
                level_losses = cp.checkpoint(
                    self._level_losses, pred, gt_heatmaps[level], gt_masks[level], scale, use_reentrant=True)
            else:
                level_losses = self._level_losses(pred, gt_heatmaps[level], gt_masks[level], scale)
            losses[f'loss_heatmap_l{level}'] = level_losses[0]
            if self.with_scale:
                losses[f'loss_scale_l{level}'] = level_losses[1]

        keypoint_indices = [d.gt_instance_labels.keypoint_indices.to(tags.device) for d in batch_data_samples]
        losses['loss_ae_pull'], losses['loss_ae_push'] = self.tag_loss(tags, keypoint_indices)
        return losses

    def _level_losses(self, pred: Tensor, target: Tensor, mask: Tensor, scale: Optional[Tensor]) -> Tuple[Tensor, ...]:
        """(heatmap loss[, scale loss]) of one level: (B, K, H, W) prediction, target and scale, (B, 1, H, W) mask."""
        if scale is None:
            return (self.heatmap_loss(pred, target, mask=mask), )
        return (self.heatmap_loss(pred, target, mask=mask, scale=scale), self.scale_loss(scale, target, mask=mask))

    def _check_target_shape(self, level: int, target: Tensor, pred: Tensor) -> None:
        if target.shape == pred.shape:
            return
        if target.shape[1] != pred.shape[1]:
            raise ValueError(f'SWAHRHead: the targets have K={target.shape[1]} joints but the head predicts '
                             f'num_keypoints={pred.shape[1]}; set model.head.num_keypoints (and the codec\'s '
                             'num_keypoints) to the dataset\'s joint count')
        raise ValueError(f'SWAHRHead: level {level} target heatmaps are {tuple(target.shape[-2:])} (h, w) but the '
                         f'network predicts {tuple(pred.shape[-2:])}; the codec\'s heatmap_size must be the input '
                         'size divided by the network stride (HRNet: input/4 and input/2)')

    @staticmethod
    def _collect_level_targets(batch_data_samples: Sequence) -> Tuple[List[Tensor], List[Tensor]]:
        """Stack per-level GT heatmaps (B, K, H, W) and masks (B, 1, H, W)."""
        heatmaps: List[Tensor] = []
        masks: List[Tensor] = []
        for level in range(NUM_LEVELS):
            level_hm, level_mask = [], []
            for d in batch_data_samples:
                fields = d.gt_fields
                num_levels = getattr(fields, 'nlevel', 1)
                if num_levels != NUM_LEVELS:
                    raise ValueError(f'SWAHRHead expects ground truth at {NUM_LEVELS} levels (1/4 and 1/2 '
                                     f'resolution) but the sample has {num_levels} level(s) '
                                     f'({type(fields).__name__}); give the codec heatmap_size=[(w, h), (2w, 2h)]')
                level_fields = fields[level]
                if 'heatmap_mask' not in level_fields:
                    raise KeyError('SWAHRHead needs gt_fields.heatmap_mask; add ScaleAdaptiveGenerateTarget '
                                   '(with_heatmap_mask=True) or BottomupGetHeatmapMask to the train pipeline')
                level_hm.append(level_fields.heatmaps)
                mask = level_fields.heatmap_mask
                level_mask.append(mask.reshape(mask.shape[-2:]))
            heatmaps.append(torch.stack(level_hm).float())
            masks.append(torch.stack(level_mask).float()[:, None])
        return heatmaps, masks

    # ------------------------------------------------------------------------------------------------- predict
    def predict(self, feats: Features, batch_data_samples: OptSampleList, test_cfg: ConfigType = {}) -> Predictions:
        """Reference test-time aggregation, then AE grouping.

        Per scale (descending, as the reference), per pass (original, and flipped with ``flip_test``): both levels'
        heatmaps are averaged at level 1's size (``aggregate_heatmaps``) and the level-0 tags resized to it; the
        flipped pass is flipped back with its channels permuted by ``flip_indices`` (``flip_heatmaps`` without
        shift). Passes are resized to the input-pixel canvas (``input_size`` of the scale-1 image) and averaged
        (heatmaps) or concatenated (tags, L = 2 with flip). Heatmaps are averaged over scales; tags come from scale
        1 only. This is MMPose's ``AssociativeEmbeddingHead`` aggregation with the differences the reference has:
        the two levels are averaged per pass first (level 0's heatmaps and tags resized as one tensor, see
        :meth:`_average_levels`), and maps are resized to the input canvas, not ``img_shape``. The result equals the
        official test path bit for bit (``tests/test_models/test_predict_equals_reference.py``). The scale maps are
        not used at test time. ``test_cfg['flip_shift']`` (level-1 px, default 0 = the reference) moves the
        flipped-back pass horizontally before the passes are combined (:meth:`aggregate_passes`).

        Returns:
            A list of ``InstanceData`` with ``keypoints`` (N, K, 2) in model input px, ``keypoint_scores`` (N, K)
            and ``bbox_scores`` (N,) (the reference person score); with ``test_cfg['output_heatmaps']`` also a
            list of ``PixelData`` with the aggregated ``heatmaps`` (K, H, W) and ``tags`` (L*K, H, W) on the input
            canvas.
        """
        if self.decoder is None:
            raise RuntimeError('SWAHRHead.predict needs a `decoder` (the codec) in the head config.')
        check_test_cfg(test_cfg)
        multiscale_test = test_cfg.get('multiscale_test', False)
        flip_test = test_cfg.get('flip_test', False)
        flip_shift = float(test_cfg.get('flip_shift', 0.0))
        align_corners = test_cfg.get('align_corners', False)

        metainfo = batch_data_samples[0].metainfo
        canvas = tuple(int(v) for v in metainfo['input_size'])  # (w, h)
        for d in batch_data_samples:
            if tuple(int(v) for v in d.metainfo['input_size']) != canvas:
                raise ValueError('SWAHRHead.predict: all images of a batch must share one input_size (use test '
                                 'batch_size=1 for images of different aspect ratios).')
        if multiscale_test:
            scales = [1.0] + [float(s) for s in metainfo.get('aug_scales') or []]
            per_scale_feats = list(feats)
            if len(per_scale_feats) != len(scales):
                raise ValueError(f'SWAHRHead.predict: got features for {len(per_scale_feats)} scales but metainfo '
                                 f'lists {len(scales)} (1 + aug_scales)')
        else:
            scales, per_scale_feats = [1.0], [feats]
        flip_indices = None
        if flip_test:
            flip_indices = metainfo.get('flip_indices')
            if flip_indices is None or len(flip_indices) != self.num_keypoints:
                raise ValueError(f'flip_test needs `flip_indices` with {self.num_keypoints} entries in the metainfo '
                                 f'(the dataset\'s), got {flip_indices!r}')

        scale_heatmaps: List[Tensor] = []
        tags = None
        # The reference visits scales largest first; the sum order matters for bit-exact heatmaps.
        for i in sorted(range(len(scales)), key=lambda i: -scales[i]):
            passes = per_scale_feats[i] if flip_test else [per_scale_feats[i]]
            if flip_test and len(passes) != 2:
                raise ValueError('flip_test expects [feats, flipped feats] per scale.')
            heatmaps, scale_tags = self.aggregate_passes(passes, canvas, flip_indices, align_corners, flip_shift)
            scale_heatmaps.append(heatmaps)
            if scales[i] == 1.0 or len(scales) == 1:
                tags = scale_tags
        heatmaps = aggregate_heatmaps(scale_heatmaps, canvas, align_corners, mode='average')

        keypoints, keypoint_scores, instance_scores = self.decoder.batch_decode(heatmaps, tags)
        preds = [
            InstanceData(keypoints=kpts, keypoint_scores=scores, bbox_scores=inst)
            for kpts, scores, inst in zip(keypoints, keypoint_scores, instance_scores)
        ]
        if test_cfg.get('output_heatmaps', False):
            fields = [PixelData(heatmaps=hm, tags=tg) for hm, tg in zip(heatmaps.detach(), tags.detach())]
            return preds, fields
        return preds

    def aggregate_passes(self,
                         passes: Sequence[Sequence[Tensor]],
                         canvas: Tuple[int, int],
                         flip_indices: Optional[Sequence[int]] = None,
                         align_corners: bool = False,
                         flip_shift: float = 0.0) -> Tuple[Tensor, Tensor]:
        """One scale of the test-time aggregation (also traced into the ONNX export).

        Args:
            passes: backbone features of the image, and of the horizontally flipped image (flip test).
            canvas: (w, h) of the input canvas, input px.
            flip_indices: (K,) symmetric joint of each joint; needed for the flipped pass.
            align_corners: of the bilinear resizes.
            flip_shift: horizontal shift of the flipped-back pass (heatmaps and tags), in px of the level-1 maps
                (half the input resolution), positive to the right, before the passes are resized and combined
                (``test_cfg.flip_shift``). 0: the reference. Not in the reference: a calibration for models whose
                flipped pass lands beside the plain one (docs/synthetic_results.md).

        Returns:
            heatmaps (B, K, h, w): the passes' level-averaged heatmaps resized to the canvas and averaged; tags
            (B, L*K, h, w): the passes' level-0 tags resized to the canvas and concatenated (L = len(passes)).
        """
        pass_heatmaps, pass_tags = [], []
        for flipped, pass_feats in enumerate(passes):
            heatmaps, level0_tags = self._average_levels(pass_feats, align_corners)
            if flipped:  # undo the flip, swap left/right joints
                heatmaps = flip_heatmaps(heatmaps, flip_indices, shift_heatmap=False)
                level0_tags = flip_heatmaps(level0_tags, flip_indices, shift_heatmap=False)
                if flip_shift:
                    heatmaps, level0_tags = shift_width(heatmaps, flip_shift), shift_width(level0_tags, flip_shift)
            pass_heatmaps.append(heatmaps)
            pass_tags.append(level0_tags)
        return (aggregate_heatmaps(pass_heatmaps, canvas, align_corners,
                                   mode='average'), aggregate_heatmaps(pass_tags, canvas, align_corners, mode='concat'))

    def _average_levels(self, feats: Sequence[Tensor], align_corners: bool) -> Tuple[Tensor, Tensor]:
        """Heatmaps of both levels averaged at level 1's size, and the level-0 tags resized to it (both (B, K, H_1,
        W_1)), as the reference's ``get_multi_stage_outputs``.

        Level 0's heatmaps and tags are resized as one (B, 2K, H_0, W_0) tensor, as the reference resizes its
        level-0 output: PyTorch's CPU bilinear kernel can round the last bit differently for another channel count,
        so resizing them separately (what ``aggregate_heatmaps`` would do) is not bit-identical.
        """
        heatmaps, tags, _ = self.split_outputs(self.forward(feats))
        height, width = heatmaps[-1].shape[-2:]
        level0 = torch.cat([heatmaps[0], tags], dim=1)
        if level0.shape[-2:] != (height, width):
            level0 = F.interpolate(level0, size=(height, width), mode='bilinear', align_corners=align_corners)
        k = self.num_keypoints
        averaged = aggregate_heatmaps([level0[:, :k]] + heatmaps[1:], (width, height), align_corners, mode='average')
        return averaged, level0[:, k:]
