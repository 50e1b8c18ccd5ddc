"""HigherHRNet head with SWAHR's scale branches (``SWAHRHead``).

Layout (W32 COCO shapes for a 512 px input; C = backbone width, K = joints):

* level 0 (1/4 input res, 128 px): ``final_layers[0]`` 1x1 conv C -> 2K giving
  K heatmaps then K associative-embedding tags; ``conv_scale_layers[0]``
  (1x1 conv C -> K, BN, ReLU, depthwise 9x9 conv, last conv zero-initialised)
  giving K scale maps.
* ``deconv_layers[0]``: input = concat(features, level-0 heatmaps, level-0 tags)
  (C + 2K channels; the scale maps are *not* fed forward), ConvTranspose 4x4
  stride 2 + BN + ReLU, then 4 BasicBlocks of width C.
* level 1 (1/2 input res, 256 px): ``final_layers[1]`` 1x1 conv C -> K heatmaps
  and ``conv_scale_layers[1]``.

Submodule names and parameter shapes equal the official SWAHR / HigherHRNet
ones (``final_layers``, ``deconv_layers``, ``conv_scale_layers``), so official
checkpoints convert by adding the ``head.`` prefix only. With
``with_scale=False`` the head is plain HigherHRNet.

Unlike the official code, :meth:`SWAHRHead.forward` does not concatenate
[scale, heatmaps, tags] along channels: it returns a :class:`SWAHROutputs`
with named parts, so no caller slices channels by hand.
"""
from typing import Dict, List, NamedTuple, Optional, Sequence, Tuple

import numpy as np
import torch
import torch.nn.functional as F
from mmengine.structures import InstanceData, PixelData
from mmpose.models.backbones.resnet import BasicBlock
from mmpose.models.heads.base_head import BaseHead
from mmpose.registry import KEYPOINT_CODECS, MODELS
from mmpose.utils.typing import ConfigType, Features, OptConfigType, OptSampleList, Predictions
from torch import Tensor, nn


class SWAHROutputs(NamedTuple):
    """Network outputs of :class:`SWAHRHead`, one entry per output level.

    Level 0 is at 1/4 of the input resolution, level 1 at 1/2.

    Attributes:
        heatmaps: per level, (B, K, H_l, W_l) predicted heatmaps.
        tags: (B, K, H_0, W_0) associative-embedding tags (level 0 only,
            one scalar tag per joint).
        scales: per level, (B, K, H_l, W_l) SWAHR scale maps ``s`` (the target
            is G^(1+s)); ``None`` for plain HigherHRNet (``with_scale=False``).
    """
    heatmaps: List[Tensor]
    tags: Tensor
    scales: Optional[List[Tensor]]


def _scale_branch(in_channels: int, num_keypoints: int,
                  kernel_size: int) -> nn.Sequential:
    """1x1 conv -> BN -> ReLU -> depthwise kxk conv; unbounded output."""
    return nn.Sequential(
        nn.Conv2d(in_channels, num_keypoints, 1),
        nn.BatchNorm2d(num_keypoints),
        nn.ReLU(inplace=True),
        nn.Conv2d(
            num_keypoints,
            num_keypoints,
            kernel_size,
            padding=kernel_size // 2,
            groups=num_keypoints),
    )


def _deconv_block(in_channels: int, out_channels: int,
                  num_basic_blocks: int) -> nn.Sequential:
    """ConvTranspose(4, stride 2) + BN + ReLU, then ``num_basic_blocks``.

    Each BasicBlock sits in its own Sequential to keep the official key
    layout ``deconv_layers.0.{1..4}.0.conv1.weight``.
    """
    layers = [
        nn.Sequential(
            nn.ConvTranspose2d(
                in_channels,
                out_channels,
                kernel_size=4,
                stride=2,
                padding=1,
                output_padding=0,
                bias=False),
            nn.BatchNorm2d(out_channels),
            nn.ReLU(inplace=True))
    ]
    layers += [
        nn.Sequential(BasicBlock(out_channels, out_channels))
        for _ in range(num_basic_blocks)
    ]
    return nn.Sequential(*layers)


@MODELS.register_module()
class SWAHRHead(BaseHead):
    """HigherHRNet head with SWAHR's scale-adaptive branches.

    Args:
        in_channels: channels C of the 1/4-resolution backbone features.
        num_keypoints: number of joints K.
        with_scale: add SWAHR's scale branches; ``False`` gives HigherHRNet.
        num_basic_blocks: BasicBlocks after the deconv (reference: 4).
        scale_kernel_size: kernel of the depthwise scale conv (reference: 9).
        heatmap_loss: per-level heatmap loss; it is called as
            ``loss(pred, gt, mask=mask, scale=scale)`` and returns
            ``(heatmap_loss, scale_loss)`` (see ``WeightAdaptiveMSELoss``).
        tag_loss: associative-embedding loss on level 0, called as
            ``loss(tags, keypoint_indices)`` and returning ``(pull, push)``.
        decoder: config of the grouping decoder (``AEDecoder``).
        init_cfg: weight init; defaults to the reference's N(0, 0.001) convs,
            zero biases and unit BN, then the last conv of every scale branch
            is zeroed in :meth:`init_weights` so that s == 0 at the start.
    """

    def __init__(self,
                 in_channels: int,
                 num_keypoints: int,
                 with_scale: bool = True,
                 num_basic_blocks: int = 4,
                 scale_kernel_size: int = 9,
                 heatmap_loss: ConfigType = dict(type='WeightAdaptiveMSELoss'),
                 tag_loss: ConfigType = dict(type='BatchedAssociativeEmbeddingLoss'),
                 decoder: OptConfigType = None,
                 init_cfg: OptConfigType = None):
        if init_cfg is None:
            init_cfg = [
                dict(
                    type='Normal',
                    layer=['Conv2d', 'ConvTranspose2d'],
                    std=0.001,
                    bias=0),
                dict(type='Constant', layer='BatchNorm2d', val=1, bias=0),
            ]
        super().__init__(init_cfg)
        self.in_channels = in_channels
        self.num_keypoints = num_keypoints
        self.with_scale = with_scale

        k = num_keypoints
        self.final_layers = nn.ModuleList([
            nn.Conv2d(in_channels, 2 * k, 1),  # [heatmaps (K), tags (K)]
            nn.Conv2d(in_channels, k, 1),
        ])
        self.deconv_layers = nn.ModuleList([
            _deconv_block(in_channels + 2 * k, in_channels, num_basic_blocks)
        ])
        if with_scale:
            self.conv_scale_layers = nn.ModuleList([
                _scale_branch(in_channels, k, scale_kernel_size)
                for _ in range(2)
            ])

        self.heatmap_loss = MODELS.build(heatmap_loss)
        self.tag_loss = MODELS.build(tag_loss)
        self.decoder = KEYPOINT_CODECS.build(decoder) if decoder else None

    def init_weights(self) -> None:
        """Reference init, then zero the scale branches' last conv (s == 0)."""
        super().init_weights()
        if self.with_scale:
            for branch in self.conv_scale_layers:
                nn.init.zeros_(branch[-1].weight)
                nn.init.zeros_(branch[-1].bias)

    # ------------------------------------------------------------------ forward
    def forward(self, feats: Tuple[Tensor]) -> SWAHROutputs:
        """Run the head.

        Args:
            feats: backbone outputs; ``feats[0]`` is the (B, C, H/4, W/4)
                highest-resolution HRNet branch.

        Returns:
            SWAHROutputs with heatmaps/scales at 1/4 and 1/2 of the input
            resolution and tags at 1/4.
        """
        x = feats[0]
        k = self.num_keypoints
        level0 = self.final_layers[0](x)
        scales = None
        if self.with_scale:
            scales = [self.conv_scale_layers[0](x)]
        # The deconv sees the features plus level 0's heatmaps and tags.
        x = self.deconv_layers[0](torch.cat((x, level0), dim=1))
        heatmaps1 = self.final_layers[1](x)
        if self.with_scale:
            scales.append(self.conv_scale_layers[1](x))
        return SWAHROutputs(
            heatmaps=[level0[:, :k], heatmaps1], tags=level0[:, k:],
            scales=scales)

    # --------------------------------------------------------------------- loss
    def loss(self,
             feats: Tuple[Tensor],
             batch_data_samples: OptSampleList,
             train_cfg: ConfigType = {}) -> Dict[str, Tensor]:
        """Heatmap (+ scale) losses per level and the AE loss on level 0.

        Reads from each data sample (as packed by ``ScaleAdaptiveGenerateTarget``
        + ``PackPoseInputs``): ``gt_fields`` (MultilevelPixelData) with
        per-level ``heatmaps`` (K, H_l, W_l) and ``heatmap_mask`` (H_l, W_l),
        and ``gt_instance_labels.keypoint_indices`` (N, K, 2) =
        ``[y * W_0 + x, valid]`` at level 0.

        Returns:
            ``loss_heatmap_l{l}``, ``loss_scale_l{l}`` (SWAHR only) for each
            level, ``loss_ae_pull`` and ``loss_ae_push``.
        """
        outputs = self.forward(feats)
        num_levels = len(outputs.heatmaps)
        gt_heatmaps, gt_masks = self._collect_level_targets(
            batch_data_samples, num_levels)

        losses: Dict[str, Tensor] = {}
        for level in range(num_levels):
            pred = outputs.heatmaps[level]
            if gt_heatmaps[level].shape != pred.shape:
                raise ValueError(
                    f'SWAHRHead: level {level} target heatmaps have shape '
                    f'{tuple(gt_heatmaps[level].shape)} but the network '
                    f'predicts {tuple(pred.shape)}; check the heatmap sizes '
                    'of ScaleAdaptiveGenerateTarget against the input size.')
            scale = outputs.scales[level] if self.with_scale else None
            heatmap_loss, scale_loss = self.heatmap_loss(
                pred, gt_heatmaps[level], mask=gt_masks[level], scale=scale)
            losses[f'loss_heatmap_l{level}'] = heatmap_loss
            if self.with_scale:
                losses[f'loss_scale_l{level}'] = scale_loss

        keypoint_indices = [
            d.gt_instance_labels.keypoint_indices.to(outputs.tags.device)
            for d in batch_data_samples
        ]
        pull, push = self.tag_loss(outputs.tags, keypoint_indices)
        losses['loss_ae_pull'] = pull
        losses['loss_ae_push'] = push
        return losses

    @staticmethod
    def _collect_level_targets(
            batch_data_samples: Sequence, num_levels: int
    ) -> Tuple[List[Tensor], List[Tensor]]:
        """Stack per-level GT heatmaps (B, K, H, W) and masks (B, 1, H, W)."""
        heatmaps: List[Tensor] = []
        masks: List[Tensor] = []
        for level in range(num_levels):
            level_hm, level_mask = [], []
            for d in batch_data_samples:
                fields = d.gt_fields
                if not hasattr(fields, 'nlevel') or fields.nlevel != num_levels:
                    raise ValueError(
                        'SWAHRHead expects gt_fields to be a MultilevelPixelData '
                        f'with {num_levels} levels (heatmaps and heatmap_mask '
                        'lists from ScaleAdaptiveGenerateTarget), got '
                        f'{type(fields).__name__}.')
                level_fields = fields[level]
                level_hm.append(level_fields.heatmaps)
                mask = level_fields.heatmap_mask
                level_mask.append(mask.reshape(mask.shape[-2:]))
            heatmaps.append(torch.stack(level_hm).float())
            masks.append(torch.stack(level_mask).float()[:, None])
        return heatmaps, masks

    # ------------------------------------------------------------------ predict
    def predict(self,
                feats: Features,
                batch_data_samples: OptSampleList,
                test_cfg: ConfigType = {}) -> Predictions:
        """Reference test-time aggregation, then AE grouping.

        Per scale (descending, as the reference): both levels' heatmaps are
        averaged after bilinearly upsampling level 0 to level 1; with flip test
        the flipped pass (maps flipped back, channels permuted by
        ``flip_indices``) is averaged in, and its tags are *concatenated*
        (tag dim D = 2). Everything is resized to the input-pixel canvas
        (``input_size`` of the scale-1 image) before decoding; heatmaps are
        averaged over scales and tags come from scale 1 only. The scale maps
        are not used at test time.

        Returns:
            A list of ``InstanceData`` with ``keypoints`` (N, K, 2) in model
            input pixels, ``keypoint_scores`` (N, K) and ``bbox_scores`` (N,)
            (the reference person score); plus a list of ``PixelData`` with the
            aggregated ``heatmaps`` when ``test_cfg['output_heatmaps']``.
        """
        if self.decoder is None:
            raise RuntimeError('SWAHRHead.predict needs a `decoder` config.')
        multiscale_test = test_cfg.get('multiscale_test', False)
        flip_test = test_cfg.get('flip_test', False)
        align_corners = test_cfg.get('align_corners', False)

        metainfo = batch_data_samples[0].metainfo
        canvas_w, canvas_h = (int(v) for v in metainfo['input_size'])
        for d in batch_data_samples:
            if tuple(int(v) for v in d.metainfo['input_size']) != (canvas_w,
                                                                   canvas_h):
                raise ValueError(
                    'SWAHRHead.predict: all images of a batch must share one '
                    'input_size (use test batch_size=1 for images of '
                    'different aspect ratios).')

        if multiscale_test:
            aug_scales = list(metainfo.get('aug_scales') or [])
            scales = [1.0] + [float(s) for s in aug_scales]
            per_scale_feats = list(feats)
            if len(per_scale_feats) != len(scales):
                raise ValueError(
                    f'SWAHRHead.predict: got features for {len(per_scale_feats)}'
                    f' scales but metainfo lists {len(scales)} (1 + aug_scales)')
        else:
            scales = [1.0]
            per_scale_feats = [feats]

        flip_indices = metainfo.get('flip_indices') if flip_test else None
        if flip_test and flip_indices is None:
            raise ValueError('flip_test needs `flip_indices` in the metainfo.')

        def project(x: Tensor) -> Tensor:
            return F.interpolate(
                x, size=(canvas_h, canvas_w), mode='bilinear',
                align_corners=align_corners)

        final_heatmaps = None
        tags: List[Tensor] = []
        # The reference visits scales largest first; the sum order matters
        # for bit-exact heatmaps.
        order = sorted(range(len(scales)), key=lambda i: -scales[i])
        for i in order:
            passes = per_scale_feats[i] if flip_test else [per_scale_feats[i]]
            if flip_test and len(passes) != 2:
                raise ValueError('flip_test expects [feats, flipped feats].')
            pass_heatmaps, pass_tags = [], []
            for pass_idx, pass_feats in enumerate(passes):
                heatmaps, level0_tags = self._stage_average(
                    self.forward(pass_feats), align_corners)
                if pass_idx == 1:  # undo the flip, swap left/right joints
                    heatmaps = heatmaps.flip(-1)[:, flip_indices]
                    level0_tags = level0_tags.flip(-1)[:, flip_indices]
                pass_heatmaps.append(project(heatmaps))
                pass_tags.append(project(level0_tags))
            if scales[i] == 1.0 or len(scales) == 1:
                tags.extend(pass_tags)
            heatmaps = pass_heatmaps[0] if len(pass_heatmaps) == 1 else (
                pass_heatmaps[0] + pass_heatmaps[1]) / 2.0
            final_heatmaps = heatmaps if final_heatmaps is None else (
                final_heatmaps + heatmaps)
        final_heatmaps = final_heatmaps / float(len(scales))
        final_tags = torch.stack(tags, dim=-1)  # (B, K, H, W, D)

        keypoints, keypoint_scores, instance_scores = \
            self.decoder.batch_decode(final_heatmaps, final_tags)
        preds = [
            InstanceData(
                keypoints=np.asarray(kpts, dtype=np.float32),
                keypoint_scores=np.asarray(scores, dtype=np.float32),
                bbox_scores=np.asarray(inst, dtype=np.float32))
            for kpts, scores, inst in zip(keypoints, keypoint_scores,
                                          instance_scores)
        ]
        if test_cfg.get('output_heatmaps', False):
            fields = [
                PixelData(heatmaps=hm.detach(), tags=tg.detach())
                for hm, tg in zip(final_heatmaps, final_tags)
            ]
            return preds, fields
        return preds

    @staticmethod
    def _stage_average(outputs: SWAHROutputs,
                       align_corners: bool) -> Tuple[Tensor, Tensor]:
        """Average both levels' heatmaps at level-1 size; upsample the tags.

        Returns:
            heatmaps (B, K, H_1, W_1) and level-0 tags upsampled to the same
            size, as the reference's ``get_multi_stage_outputs``.
        """
        size = outputs.heatmaps[-1].shape[-2:]

        def up(x: Tensor) -> Tensor:
            if x.shape[-2:] == size:
                return x
            return F.interpolate(
                x, size=size, mode='bilinear', align_corners=align_corners)

        total = None
        for level_heatmaps in outputs.heatmaps:
            level_heatmaps = up(level_heatmaps)
            total = level_heatmaps if total is None else total + level_heatmaps
        return total / len(outputs.heatmaps), up(outputs.tags)
