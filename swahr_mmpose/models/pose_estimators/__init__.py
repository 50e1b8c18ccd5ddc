"""Pose estimators: bottom-up estimator that accepts test image pyramids."""
from .multiscale_bottomup import MultiScaleBottomupPoseEstimator

__all__ = ['MultiScaleBottomupPoseEstimator']
