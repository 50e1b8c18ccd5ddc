"""Bottom-up training transforms, registered in ``mmpose.registry.TRANSFORMS``.

- ``HigherHRNetRandomAffine``: the reference random affine (integer shift relative to the crop side).
- ``BottomupRandomHorizontalFlip``: flip after the affine, correct for non-square inputs.
- ``ScaleAdaptiveGenerateTarget``: multi-level heatmaps, ignore masks and tag indices.
"""
from .bottomup_affine import HigherHRNetRandomAffine, reference_affine_matrix
from .bottomup_flip import BottomupRandomHorizontalFlip
from .scale_adaptive_target import ScaleAdaptiveGenerateTarget

__all__ = [
    'HigherHRNetRandomAffine', 'BottomupRandomHorizontalFlip', 'ScaleAdaptiveGenerateTarget',
    'reference_affine_matrix'
]
