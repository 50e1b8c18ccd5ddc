"""ConsistencyCheckHook's checks: joints of dataset / head / codec, flip pairs, the pipeline codec vs the head's
decoder (sizes, levels), the affine's input size, and the heatmap size vs the network stride. Each message names the
setting to change. Built from the real synthetic config (tiny backbone); datasets are not loaded (lazy_init)."""
import copy
import os.path as osp

import pytest
from mmengine.config import Config
from mmpose.registry import DATASETS, MODELS

from swahr_mmpose.engine.hooks import ConfigConsistencyError, check_model_data_consistency
from swahr_mmpose.testing import tiny_hrnet

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
INPUT = 64


@pytest.fixture(scope='module')
def cfg():
    cfg = Config.fromfile(osp.join(REPO, 'configs', 'swahr_hrnet_w32_synthetic.py'))
    sizes = [(INPUT // 4, INPUT // 4), (INPUT // 2, INPUT // 2)]
    codec = dict(cfg.codec, input_size=(INPUT, INPUT), heatmap_size=sizes)
    cfg.train_pipeline[1].input_size = codec['input_size']
    cfg.train_pipeline[3].encoder = codec
    cfg.model.backbone = tiny_hrnet(8)
    cfg.model.head.update(in_channels=8, num_basic_blocks=1, decoder=codec)
    cfg.codec = codec
    return cfg


def build(cfg, codec=None, head=None, pipeline_codec=None, affine_size=None, dataset_type='CheckedCocoDataset'):
    """(model, {'train_dataloader': dataset, 'val_dataloader': dataset}) with the given changes."""
    model_cfg = copy.deepcopy(cfg.model)
    model_cfg.head.update(decoder=codec or cfg.codec, **(head or {}))
    pipeline = copy.deepcopy(cfg.train_pipeline)
    pipeline[3].encoder = pipeline_codec or codec or cfg.codec
    if affine_size:
        pipeline[1].input_size = affine_size
    datasets = {
        role: DATASETS.build(
            dict(
                type=dataset_type,
                ann_file='never_read.json',
                data_mode='bottomup',
                lazy_init=True,
                pipeline=pipeline if role == 'train_dataloader' else cfg.val_pipeline))
        for role in ('train_dataloader', 'val_dataloader')
    }
    return MODELS.build(model_cfg), datasets


def test_consistent_config_passes(cfg):
    model, datasets = build(cfg)
    check_model_data_consistency(model, datasets)


def test_head_joints_vs_dataset(cfg):
    """The issue's case: 14 joints (head and codec agree) on 17-joint data. It used to fail at iteration 1 blaming
    the heatmap sizes (train) and with a bare IndexError (test)."""
    codec = dict(cfg.codec, num_keypoints=14)
    model, datasets = build(cfg, codec=codec, head=dict(num_keypoints=14))
    with pytest.raises(ConfigConsistencyError) as info:
        check_model_data_consistency(model, datasets)
    assert str(info.value).startswith(
        "train_dataloader.dataset (CheckedCocoDataset) has 17 joints (metainfo 'coco') but "
        "model.head.num_keypoints=14: set model.head.num_keypoints and the codec's num_keypoints to 17")
    with pytest.raises(ConfigConsistencyError, match=r'^val_dataloader.dataset \(CheckedCocoDataset\) has 17'):
        check_model_data_consistency(model, {'val_dataloader': datasets['val_dataloader']})


def test_coco_model_on_crowdpose_data(cfg):
    model, datasets = build(cfg, dataset_type='CheckedCrowdPoseDataset')
    with pytest.raises(
            ConfigConsistencyError, match=r"has 14 joints \(metainfo 'crowdpose'\) but "
            r'model.head.num_keypoints=17'):
        check_model_data_consistency(model, datasets)


def test_flip_indices_must_permute_the_joints(cfg):
    model, datasets = build(cfg)
    flip = list(datasets['val_dataloader'].metainfo['flip_indices'])
    flip[1] = 1  # left eye maps onto itself: right eye is nobody's mirror
    datasets['val_dataloader']._metainfo['flip_indices'] = flip
    with pytest.raises(
            ConfigConsistencyError,
            match=r'^val_dataloader.dataset \(CheckedCocoDataset\) metainfo '
            r'flip_indices .* is not a permutation of the 17 joints'):
        check_model_data_consistency(model, datasets)


STEP = r'pipeline\[3\] \(ScaleAdaptiveGenerateTarget\) '


@pytest.mark.parametrize('change,message', [
    (dict(num_keypoints=14), STEP + r'encodes num_keypoints=14 but '
     r'model.head.num_keypoints=17; write the pipeline\'s encoder and model.head.decoder from one `codec` dict'),
    (dict(heatmap_size=(INPUT // 4, INPUT // 4)), STEP + r'encoder has 1 heatmap level\(s\) \[\(16, 16\)\] but '
     r'model.head.decoder has 2 \[\(16, 16\), \(32, 32\)\] \(SWAHRHead predicts 2'),
    (dict(heatmap_size=[(8, 8), (16, 16)]), STEP + r'encoder has input_size=\(64, 64\), '
     r'heatmap_size=\[\(8, 8\), \(16, 16\)\] '
     r'but model.head.decoder has input_size=\(64, 64\), heatmap_size=\[\(16, 16\), \(32, 32\)\]'),
])
def test_pipeline_codec_vs_head_decoder(cfg, change, message):
    model, datasets = build(cfg, pipeline_codec=dict(cfg.codec, **change))
    with pytest.raises(ConfigConsistencyError, match=r'^train_dataloader.dataset.' + message):
        check_model_data_consistency(model, datasets)


def test_affine_input_size_vs_codec(cfg):
    model, datasets = build(cfg, affine_size=(96, 96))
    with pytest.raises(
            ConfigConsistencyError,
            match=r'HigherHRNetRandomAffine has input_size=\(96, 96\) but the '
            r'target encoder has input_size=\(64, 64\); set both from `codec\["input_size"\]`'):
        check_model_data_consistency(model, datasets)


def test_heatmap_size_vs_network_stride(cfg):
    codec = dict(cfg.codec, heatmap_size=[(8, 8), (16, 16)])  # 1/8 and 1/4: consistent everywhere but the network
    model, datasets = build(cfg, codec=codec)
    check_model_data_consistency(model, datasets, check_stride=False)
    was_training = model.training
    with pytest.raises(ConfigConsistencyError) as info:
        check_model_data_consistency(model, datasets)
    assert str(info.value) == (
        "model.head.decoder heatmap_size[0]=(8, 8) (level 0) but the backbone's feature map for the 64x64 codec "
        "input_size is 16x16 (network stride 4): set the codec's heatmap_size to [(16, 16), (32, 32)], i.e. "
        'input_size / 4 and / 2')
    assert model.training == was_training
