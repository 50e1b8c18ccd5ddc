"""``MultiScalePoseDataPreprocessor``: ``PoseDataPreprocessor`` for test pyramids.

``PackMultiScalePoseInputs`` packs a pyramid per sample as a list of (C, H_s,
W_s) tensors. Collation transposes it scale-major: MMEngine's
``pseudo_collate`` gives ``[per-scale tuple of B tensors]`` and
``default_collate`` ``[per-scale (B, C, H_s, W_s) tensor]``. MMPose's
``PoseDataPreprocessor`` cannot take either (it expects one batch), so this
subclass normalises each scale on its own and returns the pyramid as a list of
batches, the layout ``BottomupPoseEstimator.predict`` expects for
``multiscale_test``.
"""
from typing import Dict, List

import torch
from mmpose.models.data_preprocessors import PoseDataPreprocessor
from mmpose.registry import MODELS


def _is_collated_pyramid(inputs) -> bool:
    """Collated image pyramid, scale-major: a list of per-scale batches, each a sequence of (C, H_s, W_s) tensors or
    one (B, C, H_s, W_s) tensor (what collation gives; not yet normalised)."""
    if not isinstance(inputs, (list, tuple)) or not inputs:
        return False
    first = inputs[0]
    return isinstance(first, (list, tuple)) or (isinstance(first, torch.Tensor) and first.dim() == 4)


@MODELS.register_module()
class MultiScalePoseDataPreprocessor(PoseDataPreprocessor):
    """``PoseDataPreprocessor`` that also accepts a collated image pyramid.

    Single-scale batches are handled exactly as by the parent. For a pyramid,
    ``data['inputs']`` is a scale-major list (length S = 1 + len(aug_scales),
    scale 1.0 first) of per-scale batches (a sequence of B (C, H_s, W_s)
    tensors or one (B, C, H_s, W_s) tensor); the output ``inputs`` is a list of
    S normalised (B, C, H_s, W_s) float tensors in the same order. The
    ``batch_input_shape`` / ``pad_shape`` metainfo describe scale 1.0.

    Args: as ``PoseDataPreprocessor``.
    """

    def forward(self, data: Dict, training: bool = False) -> Dict:
        inputs = data['inputs']
        if not _is_collated_pyramid(inputs):
            return super().forward(data, training)
        if training:
            raise ValueError('MultiScalePoseDataPreprocessor: image pyramids are a test-time '
                             'input; the training pipeline must yield one image per sample.')

        data_samples = data.get('data_samples')
        batch_size = len(data_samples) if data_samples is not None else None
        batches: List[torch.Tensor] = []
        scale1_meta = None
        for scale_idx, scale_batch in enumerate(inputs):
            size = (scale_batch.shape[0] if isinstance(scale_batch, torch.Tensor) else len(scale_batch))
            if batch_size is not None and size != batch_size:
                raise ValueError('MultiScalePoseDataPreprocessor: expected the pyramid '
                                 'scale-major (one batch of '
                                 f'{batch_size} images per scale), got {size} images at '
                                 f'scale index {scale_idx}; collate with pseudo_collate or '
                                 'default_collate.')
            if not isinstance(scale_batch, torch.Tensor):
                scale_batch = list(scale_batch)
            out = super().forward(dict(inputs=scale_batch, data_samples=data_samples), training)
            batches.append(out['inputs'])
            data_samples = out['data_samples']
            if scale_idx == 0 and data_samples is not None:
                scale1_meta = [(d.batch_input_shape, d.pad_shape) for d in data_samples]
        if scale1_meta is not None:
            for d, (batch_input_shape, pad_shape) in zip(data_samples, scale1_meta):
                d.set_metainfo(dict(batch_input_shape=batch_input_shape, pad_shape=pad_shape))
        return dict(inputs=batches, data_samples=data_samples)
