"""The bad inputs of the reliability issue, through MMEngine's Runner on the real synthetic config.

Train file: a visible joint with NaN coordinates, an annotation without ``bbox``, one without ``keypoints``; val
file: an annotation without ``keypoints`` (crashed COCOeval at the first validation) and one without ``iscrowd``.
Default: a clear error before the first iteration, with file, image id, annotation id and field. With
``bad_annotations='skip'``: training and validation run, every loss is finite, and the log counts what was skipped.
"""
import json
import math
import shutil

import pytest

from swahr_mmpose.datasets import BadAnnotationError
from e2e_helpers import build_runner, log_text, tiny_data_overrides, tiny_model_overrides, train_records, write_config

RUN = '''
train_cfg = dict(_delete_=True, type='IterBasedTrainLoop', max_iters=2, val_interval=2)
param_scheduler = [dict(type='ConstantLR', factor=1.0, by_epoch=False)]
default_hooks = dict(logger=dict(interval=1), checkpoint=dict(by_epoch=False, interval=2))
randomness = dict(seed=0)
'''

pytestmark = pytest.mark.usefixtures('one_torch_thread')


@pytest.fixture(scope='module')
def bad_coco(tiny_coco, tmp_path_factory):
    """A copy of the tiny set with the issue's bad annotations; returns (root, {name: (image id, ann id)})."""
    root = tmp_path_factory.mktemp('bad_coco')
    shutil.copytree(tiny_coco, root, dirs_exist_ok=True)
    bad = {}
    train = root / 'annotations' / 'person_keypoints_train.json'
    data = json.loads(train.read_text())
    people = [a for a in data['annotations'] if not a['iscrowd'] and a['num_keypoints'] > 0]
    nan, no_bbox, no_keypoints = people[0], people[1], people[2]
    joint = next(j for j in range(17) if nan['keypoints'][3 * j + 2] > 0)
    nan['keypoints'][3 * joint + 1] = math.nan
    del no_bbox['bbox']
    del no_keypoints['keypoints']
    bad.update(
        nan=(nan['image_id'], nan['id']),
        no_bbox=(no_bbox['image_id'], no_bbox['id']),
        no_keypoints=(no_keypoints['image_id'], no_keypoints['id']))
    train.write_text(json.dumps(data))
    val = root / 'annotations' / 'person_keypoints_val.json'
    data = json.loads(val.read_text())
    del data['annotations'][0]['keypoints']
    del data['annotations'][1]['iscrowd']
    val.write_text(json.dumps(data))
    return root, bad


def config(tmp_path, data_root):
    return write_config(tmp_path / 'cfg.py', 'swahr_hrnet_w32_synthetic.py',
                        tiny_data_overrides(data_root, input_size=64) + tiny_model_overrides() + RUN)


def test_bad_annotations_stop_the_run_before_the_first_iteration(bad_coco, tmp_path):
    root, bad = bad_coco
    runner = build_runner(config(tmp_path, root), tmp_path / 'work')
    with pytest.raises(BadAnnotationError) as info:
        runner.train()
    message = str(info.value)
    train_file = root / 'annotations' / 'person_keypoints_train.json'
    assert f'3 annotation problem(s) in {train_file}' in message
    for name, field in (('nan', 'keypoints'), ('no_bbox', 'bbox'), ('no_keypoints', 'keypoints')):
        image_id, ann_id = bad[name]
        assert f'{train_file}: image id {image_id}, annotation id {ann_id}, field {field!r}' in message
    assert not train_records(tmp_path / 'work')  # no iteration ran
    assert not list((tmp_path / 'work').glob('*.pth'))


def test_skip_trains_and_validates_with_finite_losses(bad_coco, tmp_path):
    root, bad = bad_coco
    work_dir = tmp_path / 'work'
    runner = build_runner(
        config(tmp_path, root), work_dir, {
            'train_dataloader.dataset.bad_annotations': 'skip',
            'val_dataloader.dataset.bad_annotations': 'skip'
        })
    runner.train()
    records = train_records(work_dir)
    assert [r['iter'] for r in records] == [1, 2]
    for record in records:
        for key, value in record.items():
            if key.startswith('loss'):
                assert math.isfinite(value), (key, value)
    log = log_text(work_dir)
    assert 'person_keypoints_train.json: skipped 3 annotation(s): ' in log
    assert '1 NaN/inf keypoints' in log and '1 missing bbox' in log and '1 missing keypoints' in log
    assert 'person_keypoints_val.json: skipped 2 annotation(s): ' in log
    # the evaluator's own copy of the val file (xtcocotools fills in a missing iscrowd itself)
    assert 'val evaluator CocoMetric): ground truth checked: 1 missing keypoints' in log
    assert 'coco/AP:' in log  # COCOeval ran on the cleaned ground truth
