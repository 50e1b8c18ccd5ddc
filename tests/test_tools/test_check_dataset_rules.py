"""One rule set: each bad input that crashed training (or masked nothing) in the issue's probe is rejected by
``tools/check_dataset.py`` and by the checked training dataset with the same located message, before training or
evaluation starts; with ``bad_annotations='skip'`` a bad region is masked by its box, and whole-file problems
still fail."""
import json
import os.path as osp
import re
import runpy

import numpy as np
import pytest
from mmengine.config import Config
from mmpose.registry import DATASETS

from swahr_mmpose.datasets import BadAnnotationError
from swahr_mmpose.datasets.metainfo import MetainfoError
from swahr_mmpose.datasets.synthetic import make_synthetic_coco
from swahr_mmpose.datasets.transforms.ignore_mask import rasterize_segments

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
SIZE = 64
CROWD_ID = 900
COCO_META = osp.join(osp.dirname(__import__('mmpose').__file__), '.mim', 'configs', '_base_', 'datasets', 'coco.py')


@pytest.fixture(scope='module')
def clean_root(tmp_path_factory):
    root = tmp_path_factory.mktemp('rules')
    make_synthetic_coco(str(root), num_train=3, num_val=2, image_size=(SIZE, SIZE), seed=5)
    return root


def crowd(segmentation):
    return dict(
        id=CROWD_ID,
        image_id=1,
        category_id=1,
        iscrowd=1,
        keypoints=[0] * 51,
        num_keypoints=0,
        bbox=[10.0, 10.0, 20.0, 20.0],
        area=400.0,
        segmentation=segmentation)


def add_crowd(segmentation):
    return lambda data: data['annotations'].append(crowd(segmentation))


def write(path, value):
    path.write_text(json.dumps(value))


# name -> (how the train file is changed, the message both checks give); the other RLE cases are checked on dicts
CASES = {
    'garbage RLE string': (add_crowd(dict(size=[SIZE, SIZE], counts='garbage!!')),
                           "annotation id 900, field 'segmentation': compressed RLE counts 'garbage!!' are not a "
                           'valid COCO RLE string'),
    'degenerate crowd polygon':
    (add_crowd([[10.0, 10.0, 30.0,
                 30.0]]), "annotation id 900, field 'segmentation': no polygon has 3 or more vertices, so "
     'this region would mask nothing'),
    'no categories':
    (lambda data: data.pop('categories'), "field 'categories': the key is missing (COCOeval reads the categories"),
    'empty annotations': (lambda data: data.update(annotations=[]),
                          "field 'annotations': the annotations list is empty: there is nothing to train on"),
}


def config_for(tmp_path, data_root, metainfo=None, bad_annotations='raise'):
    meta = f', metainfo=dict(from_file={metainfo!r})' if metainfo else ''
    path = tmp_path / 'cfg.py'
    path.write_text(f'''
_base_ = [{osp.join(REPO, 'configs', 'swahr_hrnet_w32_coco.py')!r}]
data_root = {str(data_root) + '/'!r}
coco = dict(type='CheckedCocoDataset', data_root=data_root, bad_annotations={bad_annotations!r}{meta})
train_dataloader = dict(dataset=dict(coco, ann_file='annotations/person_keypoints_train.json',
                                     data_prefix=dict(img='images/train/')))
val_dataloader = dict(dataset=dict(coco, ann_file='annotations/person_keypoints_val.json',
                                   data_prefix=dict(img='images/val/')))
test_dataloader = val_dataloader
val_evaluator = dict(ann_file=data_root + 'annotations/person_keypoints_val.json')
test_evaluator = val_evaluator
''')
    return str(path)


def bad_copy(tmp_path, clean_root, change=None, text=None):
    import shutil

    root = tmp_path / 'data'
    shutil.copytree(clean_root, root)
    train = root / 'annotations' / 'person_keypoints_train.json'
    if change is not None:
        data = json.loads(train.read_text())
        change(data)
        write(train, data)
    if text is not None:
        train.write_bytes(text)
    return root, train


def tool(cfg, capsys):
    status = runpy.run_path(osp.join(REPO, 'tools', 'check_dataset.py'))['main']([cfg])
    return status, capsys.readouterr().out


def train_dataset(cfg):
    return DATASETS.build(Config.fromfile(cfg).train_dataloader.dataset)


@pytest.mark.parametrize('case', list(CASES))
def test_the_check_rejects_what_training_rejects(case, tmp_path, clean_root, capsys):
    change, message = CASES[case]
    root, train = bad_copy(tmp_path, clean_root, change)
    cfg = config_for(tmp_path, root)
    status, out = tool(cfg, capsys)
    assert status == 1 and message in out, out
    with pytest.raises(BadAnnotationError) as info:
        train_dataset(cfg)
    assert message in str(info.value) and str(train) in str(info.value)


@pytest.mark.parametrize(
    'counts, message',
    [
        ('garbage!!', "compressed RLE counts 'garbage!!' are not a valid COCO RLE string"),
        ('0', 'compressed RLE counts cover 0 pixels, expected height * width = 4096'),  # pycocotools: random memory
        ([100, 5000], 'RLE counts cover 5100 pixels, expected height * width = 4096'),  # pycocotools: ValueError
        ([100, 3000], 'RLE counts cover 3100 pixels, expected height * width = 4096'),  # pycocotools: random memory
        ([5000, -1000, 96], 'RLE counts hold negative run lengths (first -1000)'),  # pycocotools: OverflowError
        ([2048.5, 2047.5], 'RLE counts must be whole numbers (run lengths), got [2048.5, 2047.5]'),
    ])
def test_malformed_crowd_rle_and_its_box_fallback(counts, message):
    from swahr_mmpose.datasets.annotation_check import check_coco_keypoints, skip_bad_annotations

    data = dict(
        images=[dict(id=1, file_name='1.jpg', width=SIZE, height=SIZE)],
        categories=[dict(id=1)],
        annotations=[crowd(dict(size=[SIZE, SIZE], counts=counts))])
    report = check_coco_keypoints(data, 17, file='ann.json')
    assert [(p.kind, p.message) for p in report.problems] == [('malformed segmentation', message)]
    cleaned, summary = skip_bad_annotations(data, report)
    (region, ) = cleaned['annotations']
    assert rasterize_segments([region['segmentation']], (SIZE, SIZE)).sum() == 400  # masked by its 20x20 box
    assert 'became ignore regions' in summary.message()


@pytest.mark.parametrize('form', ['list', 'compressed'])
def test_valid_rle_passes(form):
    """Run lengths >= 0 that cover the image exactly, as a list or as COCO's compressed string."""
    import pycocotools.mask as cocomask

    from swahr_mmpose.datasets.annotation_check import check_coco_keypoints

    mask = np.zeros((SIZE, SIZE), np.uint8)
    mask[10:30, 10:30] = 1
    counts = [0, 4096] if form == 'list' else cocomask.encode(np.asfortranarray(mask))['counts'].decode()
    data = dict(
        images=[dict(id=1, file_name='1.jpg', width=SIZE, height=SIZE)],
        categories=[dict(id=1)],
        annotations=[crowd(dict(size=[SIZE, SIZE], counts=counts))])
    assert check_coco_keypoints(data, 17, file='ann.json').ok


def test_skip_masks_a_bad_region_with_its_box(tmp_path, clean_root):
    """The training dataset with bad_annotations='skip': the crowd region's garbage RLE becomes its box."""
    root, _ = bad_copy(tmp_path, clean_root, CASES['garbage RLE string'][0])
    dataset = train_dataset(config_for(tmp_path, root, bad_annotations='skip'))
    raw = [ann for i in range(len(dataset)) for ann in dataset.get_data_info(i)['raw_ann_info']]
    (region, ) = [a for a in raw if a['id'] == CROWD_ID]
    assert region['iscrowd'] == 1
    mask = rasterize_segments([region['segmentation']], (SIZE, SIZE))
    assert mask.sum() == 400 and mask[10:30, 10:30].all()  # the 20x20 box, not nothing


def test_skip_cannot_skip_a_problem_of_the_whole_file(tmp_path, clean_root):
    root, _ = bad_copy(tmp_path, clean_root, CASES['no categories'][0])
    with pytest.raises(BadAnnotationError, match="cannot be skipped"):
        train_dataset(config_for(tmp_path, root, bad_annotations='skip'))


def test_sigmas_of_the_wrong_length(tmp_path, clean_root, capsys):
    """16 sigmas for 17 joints: evaluation failed with an unlocated NumPy error, once the model found someone."""
    metainfo = tmp_path / 'coco16.py'
    metainfo.write_text(open(COCO_META).read() + "\ndataset_info['sigmas'] = dataset_info['sigmas'][:16]\n")
    cfg = config_for(tmp_path, clean_root, metainfo=str(metainfo))
    # the checked datasets parse the metainfo first (swahr_mmpose.datasets.metainfo), so both stop there, with the file
    message = f'metainfo file {metainfo} has 16 sigmas for 17 keypoints'
    status, out = tool(cfg, capsys)
    assert status == 1 and message in out, out
    with pytest.raises(MetainfoError, match=re.escape(message)):
        train_dataset(cfg)


def test_a_training_set_without_sigmas_builds(tmp_path, clean_root):
    """MMPose ships metainfo files with sigmas=[] (e.g. onehand10k): they train; only CocoMetric needs sigmas (the
    consistency check says so before a validation)."""
    metainfo = tmp_path / 'coco_no_sigmas.py'
    metainfo.write_text(open(COCO_META).read() + "\ndataset_info['sigmas'] = []\n")
    dataset = train_dataset(config_for(tmp_path, clean_root, metainfo=str(metainfo)))
    assert len(dataset) > 0


UNREADABLE = [
    (b'[{"images": [], "annotations": []}]', 'expected a COCO keypoint file, a JSON object with "images", '
     '"annotations" and "categories", got a JSON list of 1 items'),
    (b'{"images": [', 'not valid JSON: Expecting value: line 1 column 13 (char 12)'),
    (b'\xff\xfe\x00garbage', 'not UTF-8 text (a binary or differently encoded file?)'),
]


@pytest.mark.parametrize('text, message', UNREADABLE, ids=['top-level list', 'truncated JSON', 'binary'])
def test_unreadable_files_name_the_file(text, message, tmp_path):
    from swahr_mmpose.datasets.annotation_check import check_annotation_file

    path = tmp_path / 'ann.json'
    path.write_bytes(text)
    with pytest.raises(BadAnnotationError) as info:
        check_annotation_file(str(path), dict(num_keypoints=17), for_training=True)
    assert str(info.value).startswith(f'{path}: {message}')


def test_an_unreadable_training_file_fails_both_checks(tmp_path, clean_root, capsys):
    text, message = UNREADABLE[0]
    root, train = bad_copy(tmp_path, clean_root, text=text)
    cfg = config_for(tmp_path, root)
    status, out = tool(cfg, capsys)
    assert status == 1 and f'{train}: {message}' in out, out
    with pytest.raises(BadAnnotationError) as info:
        train_dataset(cfg)
    assert str(info.value).startswith(f'{train}: {message}')


def test_a_duplicate_id_is_dropped_with_the_right_reason():
    from swahr_mmpose.datasets.annotation_check import check_coco_keypoints, skip_bad_annotations

    people = [crowd([[10.0, 10.0, 30.0, 10.0, 30.0, 30.0]]), crowd([[10.0, 10.0, 30.0, 10.0, 30.0, 30.0]])]
    data = dict(
        images=[dict(id=1, file_name='1.jpg', width=SIZE, height=SIZE)], annotations=people, categories=[dict(id=1)])
    _, summary = skip_bad_annotations(data, check_coco_keypoints(data, 17, file='ann.json'))
    assert 'annotation #1: annotation id 900 is used twice' in summary.message()
    assert 'an annotation without a usable, unique id or category_id cannot become an ignore region' in \
        summary.message()
    assert 'no usable segmentation or bbox' not in summary.message()
    assert np.array_equal(sorted(summary.dropped_images), [1])
