"""CheckedCocoDataset / CheckedCrowdPoseDataset: bad annotations fail when the dataset loads (with file, image id,
annotation id, field) or, with ``bad_annotations='skip'``, become masked ignore regions with a log line."""
import json
import math

import cv2
import numpy as np
import pytest
from mmengine.logging import MMLogger
from mmpose.registry import DATASETS

from swahr_mmpose.datasets import BadAnnotationError, CheckedCocoDataset

IMG_H, IMG_W = 64, 96
K = 17
INPUT = 64


def person(ann_id, image_id, x0, y0, w=30, h=40, **changes):
    kps = np.zeros((K, 3))
    kps[:6] = [[x0 + 4 * j % w, y0 + 6 * j % h, 2] for j in range(6)]
    ann = dict(
        id=ann_id,
        image_id=image_id,
        category_id=1,
        iscrowd=0,
        keypoints=kps.ravel().tolist(),
        num_keypoints=6,
        bbox=[x0, y0, w, h],
        area=float(w * h),
        segmentation=[[x0, y0, x0 + w, y0, x0 + w, y0 + h, x0, y0 + h]])
    ann.update(changes)
    return ann


def write_set(root, annotations, num_images=3):
    (root / 'img').mkdir(exist_ok=True)
    images = []
    for i in range(1, num_images + 1):
        cv2.imwrite(str(root / 'img' / f'{i}.png'), np.full((IMG_H, IMG_W, 3), 40 * i, np.uint8))
        images.append(dict(id=i, file_name=f'{i}.png', width=IMG_W, height=IMG_H))
    # json.dumps writes float('nan') as the NaN literal, as a broken exporter would
    (root / 'ann.json').write_text(
        json.dumps(dict(images=images, annotations=annotations, categories=[dict(id=1, name='person')])))
    return root


def dataset(root, **kwargs):
    return CheckedCocoDataset(
        data_root=str(root), ann_file='ann.json', data_prefix=dict(img='img/'), data_mode='bottomup', **kwargs)


NAN_KPS = person(2, 1, 50, 10)['keypoints']
NAN_KPS[3] = math.nan
BAD_PEOPLE = [
    person(1, 1, 5, 5),
    person(2, 1, 50, 10, keypoints=NAN_KPS),  # the NaN keypoint
    person(3, 2, 10, 10),
    {k: v
     for k, v in person(4, 2, 55, 15).items() if k != 'keypoints'},  # no keypoints: crashed COCOeval
    {k: v
     for k, v in person(5, 2, 40, 5, w=10, h=10).items() if k != 'bbox'},  # no bbox: was silently dropped
]


def test_bad_annotations_fail_at_load_with_location(tmp_path):
    root = write_set(tmp_path, BAD_PEOPLE)
    with pytest.raises(BadAnnotationError) as info:
        dataset(root)
    message = str(info.value)
    assert f'3 annotation problem(s) in {root}/ann.json (' in message
    assert f"{root}/ann.json: image id 1, annotation id 2, field 'keypoints': 1 joint(s) have non-finite" in message
    assert "image id 2, annotation id 4, field 'keypoints': the key is missing" in message
    assert "image id 2, annotation id 5, field 'bbox': the key is missing" in message
    assert "bad_annotations='skip'" in message and 'tools/check_dataset.py' in message


def test_valid_file_loads_like_mmpose_and_logs_unused_images(tmp_path):
    from mmpose.datasets import CocoDataset

    root = write_set(tmp_path, [person(1, 1, 5, 5), person(2, 1, 50, 10), person(3, 2, 10, 10)], num_images=4)
    logger = MMLogger.get_instance('checked_coco_test', log_file=str(tmp_path / 'log.txt'))
    ours = dataset(root)
    theirs = CocoDataset(data_root=str(root), ann_file='ann.json', data_prefix=dict(img='img/'), data_mode='bottomup')
    assert len(ours) == len(theirs) == 2
    for i in range(2):
        a, b = ours.get_data_info(i), theirs.get_data_info(i)
        assert a['id'] == b['id'] and np.array_equal(a['keypoints'], b['keypoints'])
    assert ours.annotation_report.ok
    logger.handlers[-1].flush()
    log = (tmp_path / 'log.txt').read_text()
    assert 'no problems' in log
    assert '2 of 4 images' in log and 'have no annotation and are not used for training' in log


def test_skip_masks_the_skipped_people_and_logs_the_count(tmp_path):
    from mmpose.datasets.transforms import LoadImage

    from swahr_mmpose.datasets.transforms import ScaleAdaptiveGenerateTarget

    root = write_set(tmp_path, BAD_PEOPLE)
    logger = MMLogger.get_instance('checked_coco_skip', log_file=str(tmp_path / 'log.txt'))
    ds = dataset(root, bad_annotations='skip')
    logger.handlers[-1].flush()
    log = (tmp_path / 'log.txt').read_text()
    assert 'skipped 3 annotation(s): ' in log
    for kind in ('1 NaN/inf keypoints', '1 missing keypoints', '1 missing bbox'):
        assert kind in log
    assert 'first: ' in log and 'annotation id 2' in log

    infos = {ds.get_data_info(i)['img_id']: ds.get_data_info(i) for i in range(len(ds))}
    assert sorted(infos) == [1, 2]  # no image lost
    raw = {ann['id']: ann for info in infos.values() for ann in info['raw_ann_info']}
    assert [raw[i]['iscrowd'] for i in (1, 2, 3, 4, 5)] == [0, 1, 0, 1, 1]

    # The skipped people are ignore regions of the heatmap loss: the target transform masks their pixels.
    gen = ScaleAdaptiveGenerateTarget(
        encoder=dict(
            type='MultiLevelAssociativeEmbedding',
            input_size=INPUT,
            num_keypoints=K,
            heatmap_size=[(INPUT // 4, INPUT // 4), (INPUT // 2, INPUT // 2)]))
    scale = INPUT / IMG_W  # original px -> input px (the image's top part fills the input)
    level_scale = scale / 2  # -> level-1 px
    for img_id, skipped, kept in ((1, [2], [1]), (2, [4, 5], [3])):
        results = LoadImage()(dict(infos[img_id]))
        results.update(keypoints=results['keypoints'] * scale, warp_mat=np.array([[scale, 0, 0], [0, scale, 0]]))
        level1 = gen(results)['heatmap_mask'][1]
        for ann_id in skipped:
            x, y, w, h = raw[ann_id]['bbox']
            assert level1[int((y + h / 2) * level_scale), int((x + w / 2) * level_scale)] == 0, \
                f'skipped person {ann_id} is not masked'
        for ann_id in kept:
            x, y = raw[ann_id]['keypoints'][:2]
            assert level1[int(y * level_scale), int(x * level_scale)] == 1, f'valid person {ann_id} got masked'


def test_crowdpose_variant_is_registered_and_checks_14_joints(tmp_path):
    anns = [dict(person(1, 1, 5, 5), keypoints=[10.0, 10.0, 2] * 14, num_keypoints=14),
            person(2, 1, 50, 10)]  # a COCO (17-joint) person in a CrowdPose file
    root = write_set(tmp_path, anns)
    with pytest.raises(
            BadAnnotationError, match=r"annotation id 2, field 'keypoints': 51 numbers \(17 joints\), "
            r'expected 42'):
        DATASETS.build(
            dict(
                type='CheckedCrowdPoseDataset',
                data_root=str(root),
                ann_file='ann.json',
                data_prefix=dict(img='img/'),
                data_mode='bottomup'))


def test_policy_is_validated():
    with pytest.raises(ValueError, match="bad_annotations must be one of"):
        CheckedCocoDataset(ann_file='x.json', bad_annotations='ignore', lazy_init=True)
