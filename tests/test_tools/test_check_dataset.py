"""tools/check_dataset.py: every annotation file a real config names (train, val, evaluator) is checked, problems are
listed with file, image id, annotation id and field, and the exit status says whether training may start."""
import json
import math
import os.path as osp
import runpy
import shutil

import pytest
from mmengine.config import Config

from swahr_mmpose.analysis.dataset_check import annotation_sources
from swahr_mmpose.datasets.synthetic import make_synthetic_coco

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


@pytest.fixture(scope='module')
def data_root(tmp_path_factory):
    root = tmp_path_factory.mktemp('check_dataset')
    make_synthetic_coco(str(root), num_train=3, num_val=2, image_size=(64, 64), seed=5)
    return root


def config_for(tmp_path, data_root):
    text = f'''
_base_ = [{osp.join(REPO, 'configs', 'swahr_hrnet_w48_crowdpose.py')!r}]
data_root = {str(data_root) + '/'!r}
coco = dict(type='CheckedCocoDataset', data_root=data_root)
train_dataloader = dict(dataset=dict(coco, ann_file='annotations/person_keypoints_train.json',
                                     data_prefix=dict(img='images/train/')))
val_dataloader = dict(dataset=dict(coco, ann_file='annotations/person_keypoints_val.json',
                                   data_prefix=dict(img='images/val/')))
test_dataloader = val_dataloader
val_evaluator = dict(ann_file=data_root + 'annotations/person_keypoints_val.json')
test_evaluator = val_evaluator
'''
    path = tmp_path / 'cfg.py'
    path.write_text(text)
    return str(path)


def run_tool(argv, capsys):
    tool = runpy.run_path(osp.join(REPO, 'tools', 'check_dataset.py'))
    status = tool['main'](argv)
    return status, capsys.readouterr().out


def test_sources_of_a_real_config(tmp_path, data_root):
    sources = annotation_sources(Config.fromfile(config_for(tmp_path, data_root)))
    by_file = {osp.basename(s.ann_file): s for s in sources}
    assert set(by_file) == {'person_keypoints_train.json', 'person_keypoints_val.json'}
    assert by_file['person_keypoints_train.json'].roles == ['train_dataloader.dataset']
    assert by_file['person_keypoints_val.json'].roles == [
        'val_dataloader.dataset', 'test_dataloader.dataset', 'val_evaluator.ann_file', 'test_evaluator.ann_file'
    ]
    assert {s.num_keypoints for s in sources} == {17}  # the COCO dataset type, not CrowdPose's 14


def test_clean_data_passes_and_bad_data_is_listed(tmp_path, data_root, capsys):
    cfg = config_for(tmp_path, data_root)
    status, out = run_tool([cfg, '--check-images'], capsys)
    assert status == 0, out
    assert out.count('no problems') == 2 and '2 annotation file(s) checked, 0 with problems.' in out

    bad_root = tmp_path / 'bad'
    shutil.copytree(data_root, bad_root)
    train = bad_root / 'annotations' / 'person_keypoints_train.json'
    data = json.loads(train.read_text())
    victim = next(a for a in data['annotations'] if a['num_keypoints'] > 0)
    j = next(i for i in range(17) if victim['keypoints'][3 * i + 2] > 0)
    victim['keypoints'][3 * j] = math.nan
    train.write_text(json.dumps(data))
    val = bad_root / 'annotations' / 'person_keypoints_val.json'
    data = json.loads(val.read_text())
    del data['annotations'][0]['keypoints']
    val.write_text(json.dumps(data))

    status, out = run_tool([config_for(tmp_path, bad_root), '--max-problems', '5'], capsys)
    assert status == 1
    assert (f"{train}: image id {victim['image_id']}, annotation id {victim['id']}, field 'keypoints': 1 joint(s) "
            f'have non-finite values, first joint {j}') in out
    ann = data['annotations'][0]
    assert f"{val}: image id {ann['image_id']}, annotation id {ann['id']}, field 'keypoints': the key is missing" in out
    assert '2 annotation file(s) checked, 2 with problems.' in out


def test_missing_file_is_reported_not_raised(tmp_path, capsys):
    status, out = run_tool([config_for(tmp_path, tmp_path / 'nowhere')], capsys)
    assert status == 1
    assert f"{tmp_path / 'nowhere'}/annotations/person_keypoints_train.json: FileNotFoundError" in out


def test_missing_images_get_the_image_prefix_hint_not_bad_annotations(tmp_path, data_root, capsys):
    moved = tmp_path / 'moved'
    shutil.copytree(data_root, moved)
    shutil.rmtree(moved / 'images' / 'train')
    status, out = run_tool([config_for(tmp_path, moved), '--check-images'], capsys)
    assert status == 1
    assert 'missing image file' in out
    assert f"3 image file(s) are missing under {moved}/images/train/: images are read from the dataset's data_root + " \
        "data_prefix['img'] + file_name" in out
    assert "bad_annotations='skip' does not help with missing files" in out
    assert "set the datasets' bad_annotations='skip'" not in out  # the advice that does nothing for missing files
