"""The synthetic generator for keypoint sets other than COCO-17 (figures of any metainfo's skeleton)."""
import filecmp
import json
import os

import numpy as np
import pytest

from swahr_mmpose.codecs.utils.keypoint_order import keypoint_names, load_metainfo
from swahr_mmpose.datasets import CheckedCocoDataset
from swahr_mmpose.datasets.synthetic import Skeleton, make_synthetic_coco, skeleton_layout
from swahr_mmpose.datasets.synthetic.skeleton import _layout_points

SETS = ['crowdpose', 'ap10k', 'halpe26', 'coco_wholebody_hand']
SIZE = (96, 80)


def _metainfo(name):
    return f'configs/_base_/datasets/{name}.py'


@pytest.fixture(scope='module', params=SETS)
def generated(request, tmp_path_factory):
    out = tmp_path_factory.mktemp(request.param)
    # Every image has a crowd and tiny people, so each kind of instance shows up in a few images.
    paths = make_synthetic_coco(
        str(out),
        num_train=3,
        num_val=1,
        image_size=SIZE,
        seed=1,
        crowd_prob=1.0,
        tiny_prob=1.0,
        metainfo=_metainfo(request.param),
        category='thing')
    return request.param, paths, json.load(open(paths['train_ann']))


def test_category_and_annotations_follow_the_metainfo(generated):
    name, _, data = generated
    meta = load_metainfo(_metainfo(name))
    k = meta['num_keypoints']
    cat, = data['categories']
    assert cat['name'] == 'thing' and cat['keypoints'] == list(keypoint_names(meta))
    assert cat['skeleton'] == [[a + 1, b + 1] for a, b in meta['skeleton_links']]
    anns = data['annotations']
    assert {a['iscrowd'] for a in anns} == {0, 1}
    assert any(a['num_keypoints'] == 0 and not a['iscrowd'] for a in anns)
    labelled = [a for a in anns if a['num_keypoints'] > 0]
    assert labelled
    for a in anns:
        kpts = np.asarray(a['keypoints'], dtype=float).reshape(k, 3)  # raises unless 3K numbers
        assert a['num_keypoints'] == np.count_nonzero(kpts[:, 2])
        assert np.all(kpts[kpts[:, 2] == 0, :2] == 0)
        inside = kpts[kpts[:, 2] > 0]
        assert np.all((inside[:, 0] >= 0) & (inside[:, 0] < SIZE[0]) & (inside[:, 1] >= 0) & (inside[:, 1] < SIZE[1]))
    vis = np.concatenate([np.reshape(a['keypoints'], (k, 3))[:, 2] for a in labelled])
    assert {1, 2} <= set(vis.tolist())  # occluded and visible joints both occur


def test_checked_dataset_reads_it_with_the_metainfo(generated):
    name, paths, data = generated
    dataset = CheckedCocoDataset(
        data_root=paths['data_root'],
        ann_file=paths['train_ann_rel'],
        data_prefix=dict(img=paths['train_img_prefix']),
        data_mode='bottomup',
        metainfo=dict(from_file=_metainfo(name)),
        pipeline=[])
    k = load_metainfo(_metainfo(name))['num_keypoints']
    assert dataset.metainfo['num_keypoints'] == k
    assert dataset.annotation_report.ok
    info = dataset[0]
    assert info['keypoints'].shape[1:] == (k, 2)


@pytest.mark.parametrize('name', ['halpe26', 'ap10k', 'crowdpose'])
def test_rest_layout_is_mirror_symmetric(name):
    skeleton = Skeleton.from_metainfo(_metainfo(name))
    layout = skeleton_layout(skeleton)
    points = _layout_points(layout.order, layout.parent, layout.angle, layout.length, layout.offset)
    flip = np.asarray(skeleton.flip_indices)
    np.testing.assert_allclose(points[flip] * [-1, 1], points, atol=1e-9)
    assert np.all(layout.sides[flip] == -layout.sides)
    assert 0 < layout.above + layout.below <= 1 + 1e-9  # normalised to the figure height


def test_coco_metainfo_gives_the_default_files(tmp_path):
    make_synthetic_coco(str(tmp_path / 'default'), num_train=2, num_val=1, image_size=(64, 64), seed=3)
    make_synthetic_coco(
        str(tmp_path / 'meta'), num_train=2, num_val=1, image_size=(64, 64), seed=3, metainfo=_metainfo('coco'))
    files = sorted(
        os.path.relpath(os.path.join(d, f), tmp_path / 'default') for d, _, fs in os.walk(tmp_path / 'default')
        for f in fs)
    assert len(files) == 5
    for f in files:
        assert filecmp.cmp(tmp_path / 'default' / f, tmp_path / 'meta' / f, shallow=False), f
