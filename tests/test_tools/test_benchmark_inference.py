"""tools/benchmark_inference.py on a tiny HRNet (fast on CPU)."""
import os.path as osp
import sys

import pytest
import torch
from mmengine.config import Config

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
sys.path.insert(0, osp.join(REPO, 'tools'))
import benchmark_inference as bench  # noqa: E402


def tiny_config(with_scale: bool = True) -> Config:
    """HRNet with 1 block per branch and widths 8..64, 128 px input."""

    def stage(branches):
        return dict(num_modules=1, num_branches=branches, block='BASIC',
                    num_blocks=(1, ) * branches,
                    num_channels=tuple(8 * 2**i for i in range(branches)))

    return Config(dict(
        model=dict(
            type='BottomupPoseEstimator',
            data_preprocessor=dict(
                type='PoseDataPreprocessor', mean=[123.675, 116.28, 103.53],
                std=[58.395, 57.12, 57.375], bgr_to_rgb=True),
            backbone=dict(
                type='HRNet', in_channels=3,
                extra=dict(
                    stage1=dict(num_modules=1, num_branches=1,
                                block='BOTTLENECK', num_blocks=(1, ),
                                num_channels=(8, )),
                    stage2=stage(2), stage3=stage(3), stage4=stage(4))),
            head=dict(
                type='SWAHRHead', in_channels=8, num_keypoints=17,
                with_scale=with_scale, num_basic_blocks=1,
                decoder=dict(type='AEDecoder', num_keypoints=17,
                             keypoint_thr=0.1)),
            test_cfg=dict(multiscale_test=False, flip_test=True,
                          align_corners=False)),
        test_dataloader=dict(dataset=dict(
            type='CocoDataset',
            pipeline=[
                dict(type='LoadImage'),
                dict(type='BottomupResize', input_size=(128, 128),
                     size_factor=64, resize_mode='expand'),
                dict(type='PackPoseInputs',
                     meta_keys=('id', 'img_id', 'img_path', 'ori_shape',
                                'img_shape', 'input_size', 'input_center',
                                'input_scale', 'flip_indices')),
            ]))))


def test_benchmark_tiny_config_and_table():
    result = bench.benchmark(tiny_config(), num_images=2, warmup=1,
                             device='cpu', image_size=(160, 120))
    assert result['config'] == 'in-memory config'
    assert result['num_images'] == 2
    assert result['baseline_name'] == 'HigherHRNet (no scale branches)'
    assert result['input_size'] == [(192, 128)]  # long side to 64 multiple
    assert result['flip_test'] is True
    for name in ('model', 'baseline'):
        stages = result['stages'][name]
        assert set(stages) == {key for key, _ in bench.STAGES}
        assert all(v >= 0 for v in stages.values())
        for key in ('pipeline', 'data_preprocessor', 'backbone',
                    'head_forward', 'decode'):
            assert stages[key] > 0, key
        assert result['whole'][name] > 0
        assert result['people_per_image'][name] >= 0
    table = bench.format_table(result)
    for _, label in bench.STAGES:
        assert label in table
    assert 'WHOLE PIPELINE (uninstrumented)' in table
    assert 'HigherHRNet (no scale branches)' in table


def _model_and_sample(with_scale=True):
    cfg = bench.load_config(tiny_config(with_scale))
    torch.manual_seed(0)
    model = bench.build_model(cfg.model, torch.device('cpu'))
    pipeline = bench.build_test_pipeline(cfg)
    (img, ) = bench.make_images(1, (160, 120), 'scene')
    sample = bench.raw_sample(img, 0, bench.dataset_metainfo(cfg))
    return cfg, model, pipeline, sample


def test_instrumentation_is_transparent_and_removed():
    _, model, pipeline, sample = _model_and_sample()
    dev = torch.device('cpu')
    _, plain = bench.run_one(model, pipeline, sample, dev)
    timer = bench.StageTimer(dev)
    timer.instrument(model)
    _, timed = bench.run_one(model, pipeline, sample, dev, timer)
    timer.restore()
    assert {'forward', 'predict'}.isdisjoint(vars(model.head))
    assert 'forward' not in vars(model.backbone)
    assert 'batch_decode' not in vars(model.head.decoder)
    a, b = plain[0].pred_instances, timed[0].pred_instances
    assert len(a) == len(b)
    assert (a.keypoints == b.keypoints).all()
    # flip test: the backbone and the head run twice per image
    assert timer.seconds['backbone'] > 0 and timer.seconds['decode'] > 0


def test_higherhrnet_baseline_shares_weights():
    cfg, model, _, _ = _model_and_sample()
    baseline, name = bench.build_baseline('auto', cfg, model,
                                          torch.device('cpu'))
    assert not baseline.head.with_scale
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        ours = model.head(model.backbone(x))
        theirs = baseline.head(baseline.backbone(x))
    assert len(theirs) == 3  # no scale maps
    assert torch.equal(ours[1], theirs[1])  # level-1 heatmaps
    assert torch.equal(ours[2], theirs[2])  # tags


def test_baseline_choices():
    cfg, model, _, _ = _model_and_sample(with_scale=False)
    dev = torch.device('cpu')
    baseline, name = bench.build_baseline('auto', cfg, model, dev)
    assert name == 'same model, flip_test=False'
    assert baseline.test_cfg['flip_test'] is False
    assert model.test_cfg['flip_test'] is True
    with pytest.raises(ValueError, match='needs a SWAHR config'):
        bench.build_baseline('higherhrnet', cfg, model, dev)
    assert bench.build_baseline('none', cfg, model, dev) == (None, '')


def test_cli(tmp_path, capsys, monkeypatch):
    cfg_path = tmp_path / 'tiny.py'
    tiny_config().dump(str(cfg_path))
    assert bench.main([
        str(cfg_path), '--num-images', '1', '--warmup', '0', '--device',
        'cpu', '--image-size', '96', '64', '--images', 'noise',
        '--baseline', 'none', '--threads', '1'
    ]) == 0
    out = capsys.readouterr().out
    assert 'WHOLE PIPELINE (uninstrumented)' in out
    assert '1 synthetic noise images of 96x64 px' in out
