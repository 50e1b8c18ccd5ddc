"""NumpyCompatPoseLocalVisualizer draws keypoints where MMPose 1.3.2's cannot (NumPy >= 2.4)."""
import numpy as np
import pytest
from mmengine.structures import InstanceData
from mmpose.datasets.datasets.utils import parse_pose_metainfo
from mmpose.registry import VISUALIZERS
from mmpose.structures import PoseDataSample
from mmpose.visualization import PoseLocalVisualizer

from swahr_mmpose.visualization import NumpyCompatPoseLocalVisualizer

NUMPY_GE_2_4 = tuple(int(v) for v in np.__version__.split('.')[:2]) >= (2, 4)


def sample_and_meta():
    meta = parse_pose_metainfo(dict(from_file='configs/_base_/datasets/coco.py'))
    kpts = np.stack([np.linspace(10, 100, 17), np.linspace(10, 70, 17)], -1)
    sample = PoseDataSample()
    sample.pred_instances = InstanceData(
        keypoints=kpts[None], keypoint_scores=np.ones((1, 17)), keypoints_visible=np.ones((1, 17)))
    return sample, meta


def draw(cls, name):
    sample, meta = sample_and_meta()
    vis = cls(name=name, radius=3)
    vis.set_dataset_meta(meta)
    img = np.zeros((80, 110, 3), np.uint8)
    return vis.add_datasample('x', img, sample, draw_gt=False, kpt_thr=0.3)


def test_draws_every_keypoint():
    out = draw(NumpyCompatPoseLocalVisualizer, 'compat_vis')
    sample, _ = sample_and_meta()
    for x, y in sample.pred_instances.keypoints[0].astype(int):
        assert out[y, x].any(), f'nothing drawn at keypoint ({x}, {y})'


def test_registered():
    vis = VISUALIZERS.build(dict(type='NumpyCompatPoseLocalVisualizer', name='compat_built'))
    assert isinstance(vis, PoseLocalVisualizer)


@pytest.mark.skipif(not NUMPY_GE_2_4, reason='the MMPose bug needs NumPy >= 2.4')
def test_stock_visualizer_fails_under_this_numpy():
    with pytest.raises(TypeError, match='0-dimensional'):
        draw(PoseLocalVisualizer, 'stock_vis')
