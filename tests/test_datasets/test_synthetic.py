"""Tests of the synthetic COCO-keypoint generator (swahr_mmpose.datasets.synthetic) and its CLI."""
import filecmp
import json
import os
import os.path as osp
import subprocess
import sys
from collections import defaultdict

import cv2
import numpy as np
import pytest
# pycocotools for mask ops: xtcocotools 1.14.3's decode/area/toBbox raise under NumPy 2 (np.NPY_OWNDATA is gone);
# both read the same COCO RLE/polygon format.
from pycocotools import mask as cocomask
from xtcocotools.coco import COCO
from xtcocotools.cocoeval import COCOeval

from swahr_mmpose.datasets.synthetic import (COCO_KEYPOINT_NAMES, NUM_KEYPOINTS, PoseBatch, SceneConfig,
                                             build_annotation, image_rng, keypoint_visibility, make_synthetic_coco,
                                             mask_to_bbox, mask_to_polygons, mask_to_rle, render_scene, rle_to_mask,
                                             sample_poses)

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
SIDE = 256
NUM_TRAIN, NUM_VAL = 40, 8


@pytest.fixture(scope='module')
def dataset(tmp_path_factory):
    """A default-configured 256x256 set (40 train / 8 val images)."""
    out = tmp_path_factory.mktemp('synthetic_coco')
    paths = make_synthetic_coco(str(out), num_train=NUM_TRAIN, num_val=NUM_VAL, seed=0)
    data = {split: json.load(open(paths[f'{split}_ann'])) for split in ('train', 'val')}
    return paths, data


def _labelled(anns):
    return [a for a in anns if a['num_keypoints'] > 0]


def _kpts(ann):
    return np.asarray(ann['keypoints'], dtype=np.float64).reshape(NUM_KEYPOINTS, 3)


# ------------------------------------------------------------------------------------------------ layout and format
def test_layout_and_category(dataset):
    paths, data = dataset
    assert paths['train_ann'] == osp.join(paths['data_root'], 'annotations', 'person_keypoints_train.json')
    assert paths['val_ann'] == osp.join(paths['data_root'], 'annotations', 'person_keypoints_val.json')
    assert paths['train_img_prefix'] == 'images/train/' and paths['val_img_prefix'] == 'images/val/'
    for split, num in (('train', NUM_TRAIN), ('val', NUM_VAL)):
        d = data[split]
        assert len(d['images']) == num
        assert len({im['id'] for im in d['images']}) == num
        assert len({a['id'] for a in d['annotations']}) == len(d['annotations'])
        cat, = d['categories']
        assert cat['id'] == 1 and cat['name'] == 'person'
        assert cat['keypoints'] == list(COCO_KEYPOINT_NAMES) and len(cat['skeleton']) == 19
        for im in d['images']:
            assert (im['width'], im['height']) == (SIDE, SIDE)
            img = cv2.imread(osp.join(paths[f'{split}_img_dir'], im['file_name']))
            assert img is not None and img.shape == (SIDE, SIDE, 3)
        for a in d['annotations']:
            assert set(a) >= {
                'id', 'image_id', 'category_id', 'keypoints', 'num_keypoints', 'bbox', 'area', 'iscrowd', 'segmentation'
            }
            assert a['category_id'] == 1 and len(a['keypoints']) == 3 * NUM_KEYPOINTS
            assert a['area'] > 0 and a['bbox'][2] > 0 and a['bbox'][3] > 0


def test_keypoint_visibility_rules_in_files(dataset):
    _, data = dataset
    n_outside = n_occluded = 0
    for d in data.values():
        for a in d['annotations']:
            k = _kpts(a)
            v = k[:, 2]
            assert set(np.unique(v)) <= {0, 1, 2}
            assert a['num_keypoints'] == np.count_nonzero(v)
            assert np.all(k[v == 0, :2] == 0), 'v=0 keypoints must have x=y=0'
            inside = (k[:, 0] >= 0) & (k[:, 0] < SIDE) & (k[:, 1] >= 0) & (k[:, 1] < SIDE)
            assert np.all(inside[v > 0]), 'labelled keypoints must lie inside the image'
            if a['num_keypoints'] > 0:
                assert np.any(v == 2), 'a person with keypoints has at least one visible one'
                n_outside += np.count_nonzero(v == 0)
                n_occluded += np.count_nonzero(v == 1)
            if a['iscrowd']:
                assert a['num_keypoints'] == 0
    assert n_outside > 0 and n_occluded > 0, 'truncation and occlusion must both occur'


def test_bbox_contains_visible_keypoints(dataset):
    _, data = dataset
    for d in data.values():
        for a in _labelled(d['annotations']):
            k = _kpts(a)
            x, y, w, h = a['bbox']
            vis = k[k[:, 2] == 2]
            assert np.all((vis[:, 0] >= x) & (vis[:, 0] < x + w) & (vis[:, 1] >= y) & (vis[:, 1] < y + h)), a['id']


def test_scale_range_spans_small_and_large_people(dataset):
    _, data = dataset
    heights = np.array([a['bbox'][3] for d in data.values() for a in _labelled(d['annotations'])]) / SIDE
    assert heights.min() < 0.2 and heights.max() > 0.7, (heights.min(), heights.max())
    per_image = defaultdict(int)
    for a in _labelled(data['train']['annotations']):
        per_image[a['image_id']] += 1
    assert max(per_image.values()) >= 5 and min(per_image.values()) >= 1


def test_crowd_and_zero_keypoint_instances(dataset):
    _, data = dataset
    anns = data['train']['annotations']
    crowds = [a for a in anns if a['iscrowd']]
    zero = [a for a in anns if not a['iscrowd'] and a['num_keypoints'] == 0]
    assert crowds and zero
    for a in crowds:  # uncompressed RLE, decodable by xtcocotools, consistent with area and bbox
        seg = a['segmentation']
        assert isinstance(seg, dict) and seg['size'] == [SIDE, SIDE] and isinstance(seg['counts'], list)
        rle = cocomask.frPyObjects(seg, SIDE, SIDE)
        assert float(cocomask.area(rle)) == a['area']
        np.testing.assert_allclose(cocomask.toBbox(rle), a['bbox'])
    for a in zero:  # polygons that rasterise to (roughly) the annotated region
        seg = a['segmentation']
        assert isinstance(seg, list) and seg and all(len(p) >= 6 and len(p) % 2 == 0 for p in seg)
        mask = cocomask.decode(cocomask.merge(cocomask.frPyObjects(seg, SIDE, SIDE)))
        x, y, w, h = a['bbox']
        assert mask.sum() > 0 and mask[int(y):int(y + h), int(x):int(x + w)].sum() == mask.sum()


# ------------------------------------------------------------------------------------------------ determinism
def _tree(root):
    return sorted(osp.relpath(osp.join(d, f), root) for d, _, fs in os.walk(root) for f in fs)


def test_same_seed_gives_identical_files_and_other_seed_differs(tmp_path):
    kw = dict(num_train=5, num_val=2, image_size=(128, 96))
    make_synthetic_coco(str(tmp_path / 'a'), seed=3, **kw)
    make_synthetic_coco(str(tmp_path / 'b'), seed=3, **kw)
    make_synthetic_coco(str(tmp_path / 'c'), seed=4, **kw)
    files = _tree(tmp_path / 'a')
    assert files == _tree(tmp_path / 'b') == _tree(tmp_path / 'c') and len(files) == 2 + 5 + 2
    for f in files:
        assert filecmp.cmp(tmp_path / 'a' / f, tmp_path / 'b' / f, shallow=False), f
    differing = [f for f in files if not filecmp.cmp(tmp_path / 'a' / f, tmp_path / 'c' / f, shallow=False)]
    assert len(differing) == len(files)


def test_val_split_does_not_depend_on_num_train(tmp_path):
    make_synthetic_coco(str(tmp_path / 'a'), num_train=1, num_val=2, image_size=(64, 64), seed=0)
    make_synthetic_coco(str(tmp_path / 'b'), num_train=4, num_val=2, image_size=(64, 64), seed=0)
    for f in ('annotations/person_keypoints_val.json', 'images/val/000000000002.jpg'):
        assert filecmp.cmp(tmp_path / 'a' / f, tmp_path / 'b' / f, shallow=False)


# ------------------------------------------------------------------------------------------------ labelling units
def test_keypoint_visibility_rule():
    kpts = np.full((2, NUM_KEYPOINTS, 2), 5.5)
    kpts[0, 0] = (-0.1, 5.0)  # outside (left)
    kpts[0, 1] = (10.0, 3.0)  # x == W: outside
    kpts[0, 2] = (2.2, 7.9)  # pixel (2, 7) owned by person 2 -> occluded
    kpts[0, 3] = (9.99, 0.0)  # last column, first row, own pixel -> visible
    poses = PoseBatch(
        keypoints=kpts,
        self_occluded=np.zeros((2, NUM_KEYPOINTS), bool),
        head_centre=np.zeros((2, 2)),
        head_axes=np.ones((2, 2)),
        head_angle=np.zeros(2),
        heights=np.ones(2))
    poses.self_occluded[0, 4] = True  # far-side ear
    owner = np.ones((8, 10), np.uint8)
    owner[7, 2] = 2
    out = keypoint_visibility(poses, owner, np.array([1, 2]))
    assert out.shape == (2, NUM_KEYPOINTS, 3)
    assert out[0, :5, 2].tolist() == [0, 0, 1, 2, 1]
    assert np.all(out[0, :2, :2] == 0) and out[0, 2, :2].tolist() == [2.2, 7.9]
    assert np.all(out[0, 5:, 2] == 2)  # (5.5, 5.5) is person 1's own pixel
    assert np.all(out[1, :, 2] == 1)  # person 2 owns none of the pixels under its keypoints


def test_scene_instances_match_rules():
    cfg = SceneConfig(crowd_prob=1.0, tiny_prob=1.0)
    img, instances = render_scene(image_rng(0, 'train', 0), cfg)
    assert img.shape == (SIDE, SIDE, 3) and img.dtype == np.uint8
    assert instances[0].iscrowd and not any(i.iscrowd for i in instances[1:])
    union = np.zeros((SIDE, SIDE), bool)
    for inst in instances[1:]:
        assert not (union & inst.mask).any(), 'person masks are visible regions and never overlap'
        union |= inst.mask
        if np.any(inst.keypoints[:, 2] > 0):
            assert not (inst.mask & instances[0].mask).any(), 'crowd region must not cover a labelled person'


def test_sample_poses_are_human_like():
    rng = np.random.default_rng(0)
    n = 500
    poses = sample_poses(rng, np.full(n, 100.0), np.zeros((n, 2)), lying_prob=0.0)
    k = poses.keypoints
    seg = lambda a, b: np.linalg.norm(k[:, a] - k[:, b], axis=-1)  # noqa: E731
    for a, b, lo, hi in ((5, 7, 8, 19), (7, 9, 7, 17), (11, 13, 12, 27), (13, 15, 12, 27)):  # arm / leg segments
        assert lo <= seg(a, b).min() and seg(a, b).max() <= hi
    assert np.all(k[:, 0, 1] < k[:, 5, 1]) and np.all(k[:, 5, 1] < k[:, 11, 1])  # nose above shoulders above hips
    assert np.all(k[:, 5, 0] > k[:, 6, 0]), "the person's left shoulder is on the image right (frontal view)"
    lower_ankle = k[:, [15, 16], 1].max(1)  # px below the pelvis, height = 100 px
    assert np.all(lower_ankle > 10) and np.median(lower_ankle) > 40, 'ankles below the pelvis'
    assert poses.self_occluded[:, [3, 4]].any() and not poses.self_occluded[:, 5:].any()


def test_rle_and_polygon_helpers_agree_with_pycocotools():
    rng = np.random.default_rng(1)
    for first_pixel in (0, 1):
        mask = rng.random((13, 17)) < 0.3
        mask[0, 0] = first_pixel
        rle = mask_to_rle(mask)
        np.testing.assert_array_equal(rle_to_mask(rle), mask)
        np.testing.assert_array_equal(cocomask.decode(cocomask.frPyObjects(rle, 13, 17)), mask)
    blob = np.zeros((40, 50), bool)
    cv2.circle(blob.view(np.uint8), (20, 15), 10, 1, -1)
    assert mask_to_bbox(blob) == [10.0, 5.0, 21.0, 21.0]
    poly = mask_to_polygons(blob)
    raster = cocomask.decode(cocomask.merge(cocomask.frPyObjects(poly, 40, 50))).astype(bool)
    assert (raster & blob).sum() / (raster | blob).sum() > 0.85
    sliver = np.zeros((5, 5), bool)
    sliver[2, 1:4] = True
    assert mask_to_polygons(sliver) == [[1.0, 2.0, 4.0, 2.0, 4.0, 3.0, 1.0, 3.0]]


def test_bad_inputs_raise_clear_errors(tmp_path):
    with pytest.raises(ValueError, match='image_format'):
        make_synthetic_coco(str(tmp_path), num_train=1, num_val=0, image_format='bmp')
    with pytest.raises(ValueError, match='height_range'):
        SceneConfig(height_range=(0.9, 0.1))
    with pytest.raises(ValueError, match='image_size'):
        SceneConfig(image_size=(8, 256))
    with pytest.raises(ValueError, match='num_val'):
        make_synthetic_coco(str(tmp_path), num_train=1, num_val=-1)
    with pytest.raises(ValueError, match='v=0 must have x=y=0'):
        k = np.zeros((NUM_KEYPOINTS, 3))
        k[0, :2] = 3
        build_annotation(1, 1, k, np.ones((4, 4), bool), iscrowd=False)
    with pytest.raises(ValueError, match=r'keypoints must have shape \(17, 3\)'):
        build_annotation(1, 1, np.zeros((17, 2)), np.ones((4, 4), bool), iscrowd=False)


# ------------------------------------------------------------------------------------------------ MMPose / COCOeval
@pytest.mark.parametrize('split', ['train', 'val'])
def test_mmpose_coco_dataset_loads_it(dataset, split):
    from mmpose.datasets import CocoDataset

    paths, data = dataset
    ds = CocoDataset(
        data_root=paths['data_root'],
        ann_file=paths[f'{split}_ann_rel'],
        data_prefix=dict(img=paths[f'{split}_img_prefix']),
        data_mode='bottomup',
        pipeline=[],
        test_mode=(split == 'val'))
    anns_by_image = defaultdict(list)
    for a in data[split]['annotations']:
        anns_by_image[a['image_id']].append(a)
    expected_images = len(data[split]['images']) if split == 'val' else len(anns_by_image)
    assert len(ds) == expected_images
    n_invalid = 0
    for idx in range(len(ds)):
        info = ds.get_data_info(idx)
        anns = anns_by_image[info['img_id']]
        assert osp.isfile(info['img_path'])
        if not anns:
            continue
        assert info['keypoints'].shape == (len(anns), NUM_KEYPOINTS, 2)
        expected_kpts = np.stack([_kpts(a) for a in anns])
        np.testing.assert_allclose(info['keypoints'], expected_kpts[..., :2], atol=1e-3)
        np.testing.assert_array_equal(info['keypoints_visible'], np.minimum(expected_kpts[..., 2], 1))
        invalid = [a for a in anns if a['iscrowd'] or a['num_keypoints'] == 0]
        assert info['invalid_segs'] == [a['segmentation'] for a in invalid]
        n_invalid += len(invalid)
        crowd_segs = [s for s in info['invalid_segs'] if isinstance(s, dict)]
        assert len(crowd_segs) == sum(a['iscrowd'] for a in anns)
    if split == 'train':
        assert n_invalid > 0


def test_cocoeval_gt_as_predictions_gives_perfect_ap(dataset, tmp_path):
    from mmpose.datasets import CocoDataset
    from mmpose.datasets.datasets.utils import parse_pose_metainfo

    paths, data = dataset
    sigmas = parse_pose_metainfo(CocoDataset.METAINFO)['sigmas']
    for split in ('train', 'val'):
        preds = []
        for a in _labelled(data[split]['annotations']):
            k = _kpts(a)
            k[:, 2] = 1.0  # prediction score per keypoint
            preds.append(dict(image_id=a['image_id'], category_id=1, keypoints=k.ravel().tolist(), score=1.0))
        gt = COCO(paths[f'{split}_ann'])
        dt = gt.loadRes(preds)
        ev = COCOeval(gt, dt, 'keypoints', np.asarray(sigmas), use_area=True)
        ev.params.useSegm = None
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
        ap, ar = ev.stats[0], ev.stats[5]
        assert ap == pytest.approx(1.0) and ar == pytest.approx(1.0), (split, ev.stats)


# ------------------------------------------------------------------------------------------------ CLI
def test_cli_writes_a_tiny_non_square_set(tmp_path):
    out = tmp_path / 'cli'
    preview = tmp_path / 'preview.png'
    proc = subprocess.run([
        sys.executable,
        osp.join(REPO, 'tools', 'make_synthetic_coco.py'), '--out',
        str(out), '--num-train', '3', '--num-val', '2', '--seed', '1', '--size', '96', '64', '--preview',
        str(preview)
    ],
                          capture_output=True,
                          text=True,
                          cwd=REPO,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert 'train: 3 images' in proc.stdout and 'val: 2 images' in proc.stdout
    train = json.load(open(out / 'annotations' / 'person_keypoints_train.json'))
    assert [(im['width'], im['height']) for im in train['images']] == [(96, 64)] * 3
    assert cv2.imread(str(out / 'images' / 'val' / '000000000002.jpg')).shape == (64, 96, 3)
    assert cv2.imread(str(preview)).shape == (64 * 3, 96 * 3, 3)
    bad = subprocess.run(
        [sys.executable,
         osp.join(REPO, 'tools', 'make_synthetic_coco.py'), '--out',
         str(out), '--size', '1', '2', '3'],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=120)
    assert bad.returncode != 0 and '--size' in bad.stderr
