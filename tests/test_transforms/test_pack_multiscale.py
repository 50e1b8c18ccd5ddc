"""PackMultiScalePoseInputs: pyramids become per-scale tensors; single images as MMPose."""
import numpy as np
import pytest
import torch
from mmpose.datasets.transforms import PackPoseInputs
from mmpose.registry import TRANSFORMS

from swahr_mmpose.datasets.transforms.pack_multiscale import PackMultiScalePoseInputs
from swahr_mmpose.datasets.transforms.reference_resize import ReferenceBottomupResize


def resized(aug_scales=None, hw=(48, 64)):
    img = np.random.default_rng(0).integers(0, 256, (*hw, 3), dtype=np.uint8)
    results = dict(img=img, img_id=7, ori_shape=hw, flip_indices=[0, 2, 1])
    return ReferenceBottomupResize(64, aug_scales=aug_scales)(results)


def test_pyramid_packed_as_list_of_tensors_with_aug_scales_meta():
    results = resized([0.5, 2.0])
    imgs = [i.copy() for i in results['img']]
    packed = TRANSFORMS.build(dict(type='PackMultiScalePoseInputs'))(results)
    inputs = packed['inputs']
    assert isinstance(inputs, list) and len(inputs) == 3
    for tensor, img in zip(inputs, imgs):
        assert tensor.dtype == torch.uint8
        torch.testing.assert_close(tensor, torch.from_numpy(img).permute(2, 0, 1))
    meta = packed['data_samples'].metainfo
    assert meta['aug_scales'] == [0.5, 2.0]
    assert meta['input_size'] == (imgs[0].shape[1], imgs[0].shape[0])
    assert meta['img_shape'] == imgs[0].shape[:2]
    assert meta['flip_indices'] == [0, 2, 1] and meta['img_id'] == 7


def test_single_image_identical_to_pack_pose_inputs():
    ours = PackMultiScalePoseInputs()(resized())
    theirs = PackPoseInputs(meta_keys=PackMultiScalePoseInputs().meta_keys)(resized())
    torch.testing.assert_close(ours['inputs'], theirs['inputs'])
    assert ours['data_samples'].metainfo.keys() == \
        theirs['data_samples'].metainfo.keys()


def test_aug_scales_always_in_meta_keys():
    t = PackMultiScalePoseInputs(meta_keys=('img_id', 'input_size'))
    assert t.meta_keys == ('img_id', 'input_size', 'aug_scales')


def test_mmpose_pack_crashes_on_the_pyramid_ours_does_not():
    """The reason this class exists (MMPose 1.3.2 stacks the pyramid)."""
    with pytest.raises(RuntimeError):
        PackPoseInputs()(resized([0.5, 2.0]))
    PackMultiScalePoseInputs()(resized([0.5, 2.0]))


def test_pyramid_length_must_match_aug_scales():
    results = resized([0.5, 2.0])
    results['aug_scales'] = [0.5]
    with pytest.raises(ValueError, match='1 \\+ len\\(aug_scales\\)'):
        PackMultiScalePoseInputs()(results)
