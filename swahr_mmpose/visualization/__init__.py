"""Visualisers, registered in ``mmpose.registry.VISUALIZERS``."""
from .pose_local_visualizer import NumpyCompatPoseLocalVisualizer

__all__ = ['NumpyCompatPoseLocalVisualizer']
