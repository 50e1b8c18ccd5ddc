"""The recommended bottom-up training pipelines, end to end.

* COCO: a real ``CocoDataset(data_mode='bottomup')`` on a tiny COCO file written here (persons, one crowd RLE, one
  person without keypoints) -> LoadImage -> HigherHRNetRandomAffine -> BottomupRandomHorizontalFlip ->
  ScaleAdaptiveGenerateTarget -> PackPoseInputs; every target is compared with a step-by-step re-run of the
  reference procedure (:func:`swahr_mmpose.testing.reference_targets.reference_sample`) drawing the same random
  numbers.
* CrowdPose: same pipeline at 640 with ``use_ignore_mask=False`` on ``get_coco_sample``-style inputs.
"""
import json

import cv2
import numpy as np
import pytest
import torch
from mmengine.dataset import Compose
from mmpose.datasets import CocoDataset
from mmpose.structures import MultilevelPixelData
from mmpose.testing import get_coco_sample

from oracles.reference_targets import (packed_to_slot_aligned, reference_draw_affine_params, reference_sample,
                                       reference_valid_mask)

META_KEYS = ('id', 'img_id', 'img_path', 'ori_shape', 'img_shape', 'input_size', 'flip', 'flip_direction',
             'flip_indices')


def coco_train_pipeline(input_size=512, heatmap_sizes=(128, 256), use_ignore_mask=True):
    return [
        dict(type='LoadImage'),
        dict(
            type='HigherHRNetRandomAffine',
            input_size=(input_size, input_size),
            scale_factor=(0.75, 1.5),
            scale_type='short',
            rotate_factor=30,
            max_translate=40),
        dict(type='BottomupRandomHorizontalFlip', prob=0.5),
        dict(
            type='ScaleAdaptiveGenerateTarget',
            encoder=dict(
                type='MultiLevelAssociativeEmbedding',
                input_size=(input_size, input_size),
                heatmap_size=[(s, s) for s in heatmap_sizes],
                sigma=2,
                max_num_people=30),
            use_ignore_mask=use_ignore_mask),
        dict(type='PackPoseInputs', meta_keys=META_KEYS),
    ]


IMG_H, IMG_W = 240, 320


def _crowd_rle():
    mask = np.zeros((IMG_H, IMG_W), np.uint8)
    mask[150:230, 200:300] = 1
    flat = mask.flatten(order='F')
    bounds = np.concatenate([[0], np.flatnonzero(np.diff(flat)) + 1, [flat.size]])
    return dict(counts=np.diff(bounds).tolist(), size=[IMG_H, IMG_W])


@pytest.fixture(scope='module')
def tiny_coco(tmp_path_factory):
    root = tmp_path_factory.mktemp('tiny_coco')
    (root / 'images').mkdir()
    rng = np.random.default_rng(0)
    cv2.imwrite(str(root / 'images' / '000001.png'), rng.integers(0, 256, (IMG_H, IMG_W, 3), dtype=np.uint8))
    anns = []
    for i in range(4):
        kpts = np.zeros((17, 3))
        kpts[:, 0] = rng.uniform(20, 300, 17)
        kpts[:, 1] = rng.uniform(20, 220, 17)
        kpts[:, 2] = rng.choice([0, 1, 2], 17)
        x0, y0 = kpts[:, :2].min(0)
        x1, y1 = kpts[:, :2].max(0)
        anns.append(
            dict(
                id=i + 1,
                image_id=1,
                category_id=1,
                iscrowd=0,
                keypoints=kpts.ravel().tolist(),
                num_keypoints=int((kpts[:, 2] > 0).sum()),
                bbox=[x0, y0, x1 - x0, y1 - y0],
                area=float((x1 - x0) * (y1 - y0)),
                segmentation=[[x0, y0, x1, y0, x1, y1, x0, y1]]))
    anns.append(
        dict(
            id=10,
            image_id=1,
            category_id=1,
            iscrowd=1,
            keypoints=[0] * 51,
            num_keypoints=0,
            bbox=[200, 150, 100, 80],
            area=8000.0,
            segmentation=_crowd_rle()))
    anns.append(
        dict(
            id=11,
            image_id=1,
            category_id=1,
            iscrowd=0,
            keypoints=[0] * 51,
            num_keypoints=0,
            bbox=[10, 10, 60, 50],
            area=3000.0,
            segmentation=[[10.0, 10.0, 70.0, 10.0, 70.0, 60.0]]))
    coco = dict(
        images=[dict(id=1, file_name='000001.png', height=IMG_H, width=IMG_W)],
        annotations=anns,
        categories=[
            dict(id=1, name='person', supercategory='person', keypoints=[str(k) for k in range(17)], skeleton=[])
        ])
    (root / 'ann.json').write_text(json.dumps(coco))
    return root


@pytest.mark.parametrize('seed', [0, 1, 2, 3, 4, 5])
def test_coco_pipeline_matches_reference_procedure(tiny_coco, seed):
    dataset = CocoDataset(
        ann_file='ann.json',
        data_root=str(tiny_coco),
        data_mode='bottomup',
        data_prefix=dict(img='images/'),
        pipeline=coco_train_pipeline())
    info = dataset.get_data_info(0)
    assert info['keypoints'].shape == (6, 17, 2)  # crowd and no-keypoint instances are part of the arrays

    np.random.seed(seed)
    packed = dataset[0]
    np.random.seed(seed)  # the reference draws: scale, rotation, dx, dy, then the flip coin (np here)
    params = reference_draw_affine_params(IMG_H, IMG_W)
    flip = bool(np.random.rand() < 0.5)

    joints = np.concatenate([info['keypoints'], info['keypoints_visible'][..., None]], -1).astype(np.float64)
    valid = reference_valid_mask(info['raw_ann_info'], IMG_H, IMG_W)
    img = cv2.imread(str(tiny_coco / 'images' / '000001.png'))
    ref = reference_sample(img, joints, valid, params, 512, [128, 256], flip, info['flip_indices'])

    sample = packed['data_samples']
    assert sample.metainfo['flip'] == flip and sample.metainfo['input_size'] == (512, 512)
    assert torch.equal(packed['inputs'], torch.from_numpy(ref['img']).permute(2, 0, 1))
    fields = sample.gt_fields
    assert isinstance(fields, MultilevelPixelData)
    for level in range(2):
        assert np.array_equal(fields.heatmaps[level].numpy(), ref['heatmaps'][level])
        assert np.array_equal(fields.heatmap_mask[level].numpy(), ref['masks'][level])
    expected_indices = packed_to_slot_aligned(ref['packed_indices'][0], 6, 128)
    assert np.array_equal(sample.gt_instance_labels.keypoint_indices.numpy(), expected_indices)
    assert np.array_equal(sample.gt_instance_labels.keypoint_weights.numpy(), expected_indices[..., 1])
    assert (fields.heatmap_mask[0] == 0).any()  # the crowd region / border is ignored somewhere


def test_crowdpose_pipeline_on_coco_style_sample():
    crowdpose_flip = [1, 0, 3, 2, 5, 4, 7, 6, 9, 8, 11, 10, 12, 13]
    sample = get_coco_sample(img_shape=(300, 200), num_instances=5, random_keypoints_visible=True)
    sample['keypoints'] = sample['keypoints'][:, :14]
    sample['keypoints_visible'] = sample['keypoints_visible'][:, :14]
    sample['flip_indices'] = crowdpose_flip
    sample['invalid_segs'] = [[[0.0, 0.0, 200.0, 0.0, 200.0, 300.0, 0.0, 300.0]]]  # would cover everything
    pipeline = Compose(coco_train_pipeline(640, (160, 320), use_ignore_mask=False))
    joints = np.concatenate([sample['keypoints'], sample['keypoints_visible'][..., None]], -1).astype(np.float64)
    all_valid = np.ones((300, 200), dtype=bool)  # CrowdPose's get_mask, warped like COCO's
    for seed in range(4):
        np.random.seed(seed)
        packed = pipeline(dict(sample))
        np.random.seed(seed)
        params = reference_draw_affine_params(300, 200)
        flip = bool(np.random.rand() < 0.5)
        ref = reference_sample(sample['img'], joints, all_valid, params, 640, [160, 320], flip, crowdpose_flip)

        fields = packed['data_samples'].gt_fields
        assert packed['inputs'].shape == (3, 640, 640) and packed['inputs'].dtype == torch.uint8
        assert [tuple(h.shape) for h in fields.heatmaps] == [(14, 160, 160), (14, 320, 320)]
        labels = packed['data_samples'].gt_instance_labels
        assert labels.keypoint_indices.shape == (5, 14, 2) and labels.keypoint_weights.shape == (5, 14)
        for level in range(2):
            assert np.array_equal(fields.heatmaps[level].numpy(), ref['heatmaps'][level])
            # the segment is not used (CrowdPose), but what lies outside the warped image is ignored
            assert np.array_equal(fields.heatmap_mask[level].numpy(), ref['masks'][level])
        assert 0 < (fields.heatmap_mask[0] == 0).sum() < 160 * 160 * 0.8
        assert np.array_equal(labels.keypoint_indices.numpy(), packed_to_slot_aligned(ref['packed_indices'][0], 5, 160))
