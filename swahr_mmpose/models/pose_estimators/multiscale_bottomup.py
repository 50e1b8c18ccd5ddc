"""``MultiScaleBottomupPoseEstimator``: ``BottomupPoseEstimator`` + test pyramids + heatmaps in image space.

MMPose 1.3.2's ``BasePoseEstimator.forward`` ``torch.stack``-s a list of inputs before dispatching, so the image
pyramid that ``BottomupPoseEstimator.predict`` itself supports (a list of per-scale batches,
``test_cfg.multiscale_test=True``) can never reach it. This subclass only lets such a pyramid through in ``predict``
mode and checks it against ``test_cfg``. It also maps ``pred_fields`` (``test_cfg.output_heatmaps``) from the
padded input canvas to the original image, as the keypoints are mapped, so that drawn heatmaps line up with the
image. Everything else is inherited unchanged.
"""
from typing import List, Optional, Union

import numpy as np
import torch
import torch.nn.functional as F
from mmengine.structures import PixelData
from mmpose.models.pose_estimators import BottomupPoseEstimator
from mmpose.registry import MODELS
from mmpose.utils.typing import ForwardResults, InstanceList, OptSampleList, PixelDataList, SampleList
from torch import Tensor

from ...datasets.transforms.reference_resize import image_to_canvas
from ..heads.swahr_head import SWAHRHead, check_test_cfg


def _is_batched_pyramid(inputs) -> bool:
    """Preprocessed image pyramid: a list of (B, C, H_s, W_s) batches, one per scale (what the data preprocessor
    returns)."""
    return isinstance(inputs, list) and bool(inputs) and all(isinstance(x, Tensor) and x.dim() == 4 for x in inputs)


@MODELS.register_module()
class MultiScaleBottomupPoseEstimator(BottomupPoseEstimator):
    """Bottom-up estimator whose ``forward`` accepts an image pyramid.

    In ``predict`` mode ``inputs`` may be a list of S (B, C, H_s, W_s) tensors
    ordered [scale 1.0, *aug_scales] (as produced by
    ``ReferenceBottomupResize`` -> ``PackMultiScalePoseInputs`` ->
    ``MultiScalePoseDataPreprocessor``); it is passed to
    ``BottomupPoseEstimator.predict`` as is. This requires
    ``test_cfg.multiscale_test=True`` and ``aug_scales`` (S - 1 floats) in the
    metainfo. Single tensors behave exactly as in the parent class.

    Args: as ``BottomupPoseEstimator``.
    """

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if isinstance(self.head, SWAHRHead):
            check_test_cfg(self.test_cfg)

    def forward(self,
                inputs: Union[Tensor, List[Tensor]],
                data_samples: OptSampleList,
                mode: str = 'tensor') -> ForwardResults:
        multiscale_test = self.test_cfg.get('multiscale_test', False)
        if not _is_batched_pyramid(inputs):
            if mode == 'predict' and multiscale_test:
                raise ValueError('MultiScaleBottomupPoseEstimator: test_cfg.multiscale_test '
                                 'is True but the inputs are a single batch; use a pipeline '
                                 'with ReferenceBottomupResize(aug_scales=[...]) -> '
                                 'PackMultiScalePoseInputs and the '
                                 'MultiScalePoseDataPreprocessor.')
            return super().forward(inputs, data_samples, mode)

        if mode != 'predict':
            raise ValueError('MultiScaleBottomupPoseEstimator: an image pyramid (list of '
                             f'{len(inputs)} batches) is only supported in predict mode, '
                             f'got mode={mode!r}.')
        if not multiscale_test:
            raise ValueError('MultiScaleBottomupPoseEstimator: got an image pyramid of '
                             f'{len(inputs)} scales but test_cfg.multiscale_test is False.')
        for d in data_samples:
            aug_scales = d.metainfo.get('aug_scales')
            if not isinstance(aug_scales, list) or \
                    len(aug_scales) + 1 != len(inputs):
                raise ValueError('MultiScaleBottomupPoseEstimator: every data sample needs '
                                 f'metainfo `aug_scales` as a list of {len(inputs) - 1} '
                                 f'scales (inputs has {len(inputs)}), got {aug_scales!r}; '
                                 'pack with PackMultiScalePoseInputs.')
        batch_size = inputs[0].shape[0]
        if any(x.shape[0] != batch_size for x in inputs) or \
                batch_size != len(data_samples):
            raise ValueError('MultiScaleBottomupPoseEstimator: every scale must hold the '
                             f'same {len(data_samples)} images, got batch sizes '
                             f'{[x.shape[0] for x in inputs]}.')
        if self.metainfo is not None:
            for d in data_samples:
                d.set_metainfo(self.metainfo)
        return self.predict(inputs, data_samples)

    def add_pred_to_datasample(self, batch_pred_instances: InstanceList, batch_pred_fields: Optional[PixelDataList],
                               batch_data_samples: SampleList) -> SampleList:
        """As ``BottomupPoseEstimator``, with ``pred_fields`` resampled from the input canvas to the image."""
        if batch_pred_fields is not None:
            batch_pred_fields = [
                _fields_to_image(fields, sample.metainfo)
                for fields, sample in zip(batch_pred_fields, batch_data_samples)
            ]
        return super().add_pred_to_datasample(batch_pred_instances, batch_pred_fields, batch_data_samples)


def _fields_to_image(fields: PixelData, metainfo: dict) -> PixelData:
    """Resample every (C, H_in, W_in) map of ``fields`` from the input canvas to the original image (C, h, w).

    Each image pixel centre ``i + 0.5`` is mapped onto the canvas by
    :func:`~swahr_mmpose.datasets.transforms.reference_resize.image_to_canvas` (the inverse of the keypoint mapping
    of ``BottomupPoseEstimator``) and sampled bilinearly there, canvas pixel centres also at ``i + 0.5``. Image
    pixels outside the canvas get 0. Needs ``ori_shape`` (h, w) in the metainfo; otherwise the fields are kept.
    """
    if 'ori_shape' not in metainfo:
        return fields
    height, width = (int(v) for v in metainfo['ori_shape'][:2])
    centres_x = image_to_canvas(np.stack([np.arange(width) + 0.5, np.zeros(width)], axis=-1), metainfo)[:, 0]
    centres_y = image_to_canvas(np.stack([np.zeros(height), np.arange(height) + 0.5], axis=-1), metainfo)[:, 1]
    out = PixelData(metainfo=fields.metainfo)
    for key, value in fields.items():
        maps = torch.as_tensor(value)
        canvas_h, canvas_w = maps.shape[-2:]
        # canvas px -> grid_sample's [-1, 1] (align_corners=False: -1 is the canvas edge)
        xs = torch.as_tensor(centres_x / canvas_w * 2 - 1, dtype=torch.float32, device=maps.device)
        ys = torch.as_tensor(centres_y / canvas_h * 2 - 1, dtype=torch.float32, device=maps.device)
        grid = torch.stack(torch.meshgrid(xs, ys, indexing='xy'), dim=-1)[None]
        resampled = F.grid_sample(
            maps[None].float(), grid, mode='bilinear', padding_mode='zeros', align_corners=False)[0]
        out.set_field(resampled, key)
    return out
