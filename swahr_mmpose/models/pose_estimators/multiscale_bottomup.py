"""``MultiScaleBottomupPoseEstimator``: ``BottomupPoseEstimator`` + test pyramids.

MMPose 1.3.2's ``BasePoseEstimator.forward`` ``torch.stack``-s a list of
inputs before dispatching, so the image pyramid that
``BottomupPoseEstimator.predict`` itself supports (a list of per-scale
batches, ``test_cfg.multiscale_test=True``) can never reach it. This subclass
only lets such a pyramid through in ``predict`` mode and checks it against
``test_cfg``; everything else is inherited unchanged.
"""
from typing import List, Union

from mmpose.models.pose_estimators import BottomupPoseEstimator
from mmpose.registry import MODELS
from mmpose.utils.typing import ForwardResults, OptSampleList
from torch import Tensor


def _is_pyramid(inputs) -> bool:
    """A list of (B, C, H_s, W_s) batches, one per scale."""
    return isinstance(inputs, list) and bool(inputs) and all(
        isinstance(x, Tensor) and x.dim() == 4 for x in inputs)


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

    def forward(self,
                inputs: Union[Tensor, List[Tensor]],
                data_samples: OptSampleList,
                mode: str = 'tensor') -> ForwardResults:
        multiscale_test = self.test_cfg.get('multiscale_test', False)
        if not _is_pyramid(inputs):
            if mode == 'predict' and multiscale_test:
                raise ValueError(
                    'MultiScaleBottomupPoseEstimator: test_cfg.multiscale_test '
                    'is True but the inputs are a single batch; use a pipeline '
                    'with ReferenceBottomupResize(aug_scales=[...]) -> '
                    'PackMultiScalePoseInputs and the '
                    'MultiScalePoseDataPreprocessor.')
            return super().forward(inputs, data_samples, mode)

        if mode != 'predict':
            raise ValueError(
                'MultiScaleBottomupPoseEstimator: an image pyramid (list of '
                f'{len(inputs)} batches) is only supported in predict mode, '
                f'got mode={mode!r}.')
        if not multiscale_test:
            raise ValueError(
                'MultiScaleBottomupPoseEstimator: got an image pyramid of '
                f'{len(inputs)} scales but test_cfg.multiscale_test is False.')
        for d in data_samples:
            aug_scales = d.metainfo.get('aug_scales')
            if not isinstance(aug_scales, list) or \
                    len(aug_scales) + 1 != len(inputs):
                raise ValueError(
                    'MultiScaleBottomupPoseEstimator: every data sample needs '
                    f'metainfo `aug_scales` as a list of {len(inputs) - 1} '
                    f'scales (inputs has {len(inputs)}), got {aug_scales!r}; '
                    'pack with PackMultiScalePoseInputs.')
        batch_size = inputs[0].shape[0]
        if any(x.shape[0] != batch_size for x in inputs) or \
                batch_size != len(data_samples):
            raise ValueError(
                'MultiScaleBottomupPoseEstimator: every scale must hold the '
                f'same {len(data_samples)} images, got batch sizes '
                f'{[x.shape[0] for x in inputs]}.')
        if self.metainfo is not None:
            for d in data_samples:
                d.set_metainfo(self.metainfo)
        return self.predict(inputs, data_samples)
