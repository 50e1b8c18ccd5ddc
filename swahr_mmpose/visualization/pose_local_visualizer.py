"""``NumpyCompatPoseLocalVisualizer``: MMPose's ``PoseLocalVisualizer`` fixed for NumPy >= 2.4.

MMPose 1.3.2 draws every keypoint with ``draw_circles(kpt, radius=np.array([r]))``
and its OpenCV backend calls ``int(radius)``. NumPy 2.4 no longer converts a
1-element 1-D array to a Python scalar, so drawing any keypoint raises
``TypeError: only 0-dimensional arrays can be converted to Python scalars``
(inferencer visualisations, ``PoseVisualizationHook``). This subclass passes
the radius on as a scalar; everything else is ``PoseLocalVisualizer``.
"""
from typing import List, Union

import numpy as np
import torch
from mmpose.registry import VISUALIZERS
from mmpose.visualization import PoseLocalVisualizer


@VISUALIZERS.register_module()
class NumpyCompatPoseLocalVisualizer(PoseLocalVisualizer):
    """``PoseLocalVisualizer`` whose OpenCV ``draw_circles`` takes array radii.

    Args: as ``PoseLocalVisualizer``.
    """

    def draw_circles(self,
                     center: Union[np.ndarray, torch.Tensor],
                     radius: Union[float, np.ndarray, torch.Tensor],
                     face_colors: Union[str, tuple, List[str], List[tuple]] = 'none',
                     alpha: float = 1.0,
                     **kwargs) -> 'NumpyCompatPoseLocalVisualizer':
        if self.backend == 'opencv':
            radii = np.asarray(radius, dtype=np.float64).reshape(-1)
            if radii.size != 1:
                raise ValueError('NumpyCompatPoseLocalVisualizer: the OpenCV backend draws '
                                 f'one circle per call, got {radii.size} radii')
            radius = float(radii[0])
        return super().draw_circles(center, radius, face_colors=face_colors, alpha=alpha, **kwargs)
