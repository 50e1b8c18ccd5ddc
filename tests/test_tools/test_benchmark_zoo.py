"""tools/benchmark_zoo.py's functions on a tiny config (HRNet width 8, 64 px input): every column is measured."""
import importlib.util
import json
import os.path as osp

import pytest

from swahr_mmpose.benchmark.zoo import BenchmarkSettings, ZooBenchmark, ZooModel, run_zoo_benchmark, select_models
from swahr_mmpose.benchmark.zoo_report import format_zoo_report

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TINY = f'''
_base_ = ['{REPO}/configs/swahr_hrnet_w32_synthetic.py']
codec = dict(_base_.codec, input_size=(64, 64), heatmap_size=[(16, 16), (32, 32)])
train_pipeline = _base_.train_pipeline
train_pipeline[1].input_size = codec['input_size']
train_pipeline[3].encoder = codec
val_pipeline = _base_.val_pipeline
val_pipeline[1].input_size = codec['input_size']
model = dict(
    backbone=dict(extra=dict(
        stage1=dict(num_blocks=(1, ), num_channels=(16, )),
        stage2=dict(num_blocks=(1, 1), num_channels=(8, 16)),
        stage3=dict(num_blocks=(1, 1, 1), num_channels=(8, 16, 32)),
        stage4=dict(num_blocks=(1, 1, 1, 1), num_channels=(8, 16, 32, 64)))),
    head=dict(in_channels=8, num_basic_blocks=1, decoder=codec))
train_dataloader = dict(batch_size=2, dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=val_pipeline))
test_dataloader = val_dataloader
'''

pytestmark = pytest.mark.usefixtures('one_torch_thread')


@pytest.fixture(scope='module')
def result(tmp_path_factory):
    config = tmp_path_factory.mktemp('zoo') / 'tiny.py'
    config.write_text(TINY)
    settings = BenchmarkSettings(
        pipeline_samples=2,
        synthetic_images=2,
        people_per_image=(2, 4),
        main_job_images=4,
        grouping_repeats=1,
        people=(1, 3),
        iteration_split_iters=2,
        train_warmup=0,
        emulated_amp=True,  # this CPU may lack bfloat16 kernels; the tiny model is cheap enough to time emulated
        mmengine_flops=True,
        eval_models='coco_like')  # validation and ONNX once (the slowest columns)
    models = [ZooModel('tiny_coco_like', str(config)), ZooModel('tiny (main job)', str(config), 'main_job')]
    return run_zoo_benchmark(REPO, models, settings, log=lambda msg: None)


def test_every_column_is_measured(result):
    report = format_zoo_report(result)
    assert 'failed' not in report
    # the only cells without a number say why: AP without data / checkpoint, the CUDA peak on the CPU
    for line in report.splitlines():
        if line.startswith('| tiny (main job)') and ('--eval-models' in line):
            continue  # excluded above to keep the test short
        if 'not run' in line or 'not measured' in line:
            assert line.startswith('| tiny') and ('needs --data' in line or 'not measured: --device cpu' in line), line
    assert result['rows'][1]['validation'] == "not run: --eval-models 'coco_like'"
    for i, row in enumerate(result['rows']):
        per = row['memory']['per_sample']
        assert per['fp32']['activations'] > per['amp']['activations'] > per['amp_cp']['activations'] > 0
        assert per['fp32']['activations'] > per['fp32_cp']['activations']
        assert row['memory']['largest_batch']['amp_cp'] >= row['memory']['largest_batch']['fp32'] > 0
        assert {'fp32', 'fp32_cl', 'amp', 'amp_cl'} <= row['train']['variants'].keys()
        assert all(v['s_per_sample'] > 0 for v in row['train']['variants'].values())
        pipeline = row['pipeline']
        assert pipeline['ours']['samples_per_s'] > 0 and pipeline['mmpose']['samples_per_s'] > 0
        assert any('ScaleAdaptiveGenerateTarget' in k for k in pipeline['ours']['step_s'])
        assert any('BottomupGetHeatmapMask' in k for k in pipeline['mmpose']['step_s'])
        assert row['ap'].startswith('not run: needs --data')
        assert row['workers_per_gpu']['workers'] >= 1
        if i == 1:
            continue
        v = row['validation']
        assert v['network_s'] > 0 and v['total_s'] >= v['network_s'] and v['tags_per_joint'] == 2  # flip test
        assert all(g['ours_s'] > 0 and g['mmpose_s'] > 0 for g in v['grouping'].values())
        assert row['deployment']['pytorch_s'] > 0 and row['deployment']['onnxruntime_s'] > 0
    split = result['rows'][1]['iteration_split']
    assert all(split[k] > 0 for k in ('data', 'forward', 'backward', 'optimizer', 'hooks'))
    json.dumps(result, default=str)


def test_model_selection_reads_the_model_index():
    names = [m.name for m in select_models(REPO)]
    assert {
        'swahr_hrnet_w32_coco', 'swahr_hrnet_w48_coco', 'higherhrnet_hrnet_w32_coco', 'higherhrnet_hrnet_w48_coco',
        'swahr_hrnet_w48_crowdpose'
    } <= set(names)
    assert any('main job' in n for n in names) and any('multiscale' in n for n in names)
    quick = [m.name for m in select_models(REPO, quick=True)]
    assert quick == ['swahr_hrnet_w32_coco', 'swahr_hrnet_w32_synthetic (main job)']
    assert [m.name for m in select_models(REPO, 'w48_crowd')] == ['swahr_hrnet_w48_crowdpose']
    with pytest.raises(ValueError, match='no zoo model name matches'):
        select_models(REPO, 'resnet')


def test_tool_parses_its_arguments():
    spec = importlib.util.spec_from_file_location('benchmark_zoo', osp.join(REPO, 'tools', 'benchmark_zoo.py'))
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    args = tool.parse_args(['--quick', '--device', 'cpu', '--memory-gb', '80', '--checkpoint', 'a=b.pth'])
    assert args.quick and args.memory_gb == 80 and args.checkpoint == ['a=b.pth'] and not args.emulated_amp
    assert tool.parse_args(['--emulated-amp']).emulated_amp
    assert isinstance(ZooBenchmark, type)
