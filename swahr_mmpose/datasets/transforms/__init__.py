"""Bottom-up training transforms, registered in ``mmpose.registry.TRANSFORMS``.

- ``HigherHRNetRandomAffine``: the reference random affine (integer shift relative to the crop side).
- ``BottomupRandomHorizontalFlip``: flip after the affine, correct for non-square inputs.
- ``ScaleAdaptiveGenerateTarget``: multi-level heatmaps, ignore masks and tag indices.

Test time:

- ``ReferenceBottomupResize``: the reference's resize/pad (and image pyramid for multi-scale test).
- ``PackMultiScalePoseInputs``: ``PackPoseInputs`` that also packs an image pyramid.
"""
from .bottomup_affine import HigherHRNetRandomAffine, reference_affine_matrix
from .bottomup_flip import BottomupRandomHorizontalFlip
from .pack_multiscale import PackMultiScalePoseInputs
from .reference_resize import ReferenceBottomupResize
from .scale_adaptive_target import ScaleAdaptiveGenerateTarget

__all__ = [
    'HigherHRNetRandomAffine', 'BottomupRandomHorizontalFlip', 'ScaleAdaptiveGenerateTarget', 'reference_affine_matrix',
    'ReferenceBottomupResize', 'PackMultiScalePoseInputs'
]
