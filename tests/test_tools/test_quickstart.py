"""The quickstart machinery on a tiny set (the full main job is the slow test): a fixed iteration schedule, the
summary with metrics and error analysis, the prediction grid, and a time budget that is flagged when it cuts
training short."""
import json

import cv2

from swahr_mmpose.quickstart import format_summary, rescale_schedule, run_quickstart
from swahr_mmpose.utils.precision import cpu_has_native_bf16


def test_quickstart_end_to_end_on_a_tiny_set(tmp_path, capsys):
    summary = run_quickstart(
        work_dir=str(tmp_path / 'work'),
        data_root=str(tmp_path / 'data'),
        num_train=4,
        num_val=2,
        image_size=128,
        iters=2,
        num_grid_images=2,
        cfg_options={
            'train_dataloader.batch_size': 2,
            'train_dataloader.num_workers': 0,
            'train_dataloader.persistent_workers': False,
            'val_dataloader.num_workers': 0,
            'val_dataloader.persistent_workers': False
        })
    assert summary['iters'] == 2 and summary['planned_iters'] == 2 and not summary['stopped_early']
    assert set(summary['error_analysis']['ap']) == {'model', 'oracle tags', 'oracle heatmaps', 'both oracles'}
    assert summary['error_analysis']['ap']['both oracles'] > 0.9
    assert set(summary['ap_by_size']) == {'0-40', '40-56', '>=56'}
    grid = cv2.imread(summary['grid'])
    assert grid is not None and grid.shape[0] > 100 and grid.shape[1] > 2 * 128  # ground truth | prediction
    saved = json.loads((tmp_path / 'work' / 'quickstart_summary.json').read_text())
    assert saved['coco/AP'] == summary['coco/AP']
    out = capsys.readouterr().out
    assert 'error analysis: AP' in out and 'AP by person size' in out and 'CUT SHORT' not in out
    # the synthetic config trains in bfloat16 only where this CPU has native kernels, and says so
    precision = 'bfloat16 autocast' if cpu_has_native_bf16() else 'float32'
    assert summary['precision'] == f'{precision} (NativeBF16OptimWrapper)'
    assert summary['decoder'].startswith('AEDecoder, keypoint_thr 0.12, sub-pixel: ')
    assert f"training precision: {summary['precision']}; decoder: {summary['decoder']}" in out
    # a second run reuses the generated data
    assert (tmp_path / 'data' / 'generator_args.json').is_file()


def test_time_budget_cut_is_flagged():
    summary = dict(stopped_early=True, iters=7, planned_iters=1200, config='c.py', seed=0, train_minutes=0.1)
    text = '\n'.join(format_summary(summary, 'w'))
    assert 'TRAINING WAS CUT SHORT by --max-minutes after 7 of 1200 iterations' in text


def test_schedule_rescaling_keeps_its_shape():
    from mmengine.config import Config

    cfg = Config(
        dict(
            train_cfg=dict(max_iters=1200),
            param_scheduler=[dict(type='LinearLR', begin=0, end=60),
                             dict(type='PolyLR', begin=60, end=1200)]))
    rescale_schedule(cfg, 600)
    assert cfg.train_cfg.max_iters == 600
    assert [(s['begin'], s['end']) for s in cfg.param_scheduler] == [(0, 30), (30, 600)]


def test_runs_are_summarised_per_config_with_mean_and_spread(tmp_path):
    from swahr_mmpose.quickstart import summarize_runs

    paths = []
    for config, seed, ap in (('a.py', 0, 0.2), ('a.py', 1, 0.4), ('b.py', 0, 0.1)):
        summary = {f'coco/{k}': ap for k in ('AP', 'AP .5', 'AP .75', 'AP (M)', 'AP (L)', 'AR')}
        summary.update(
            config=config,
            seed=seed,
            iters=10,
            train_minutes=1.0,
            error_analysis=dict(ap={
                'oracle tags': 0.5,
                'oracle heatmaps': 0.6
            }, recall=0.7),
            ap_by_size={
                '0-40': ap / 2,
                '>=40': ap
            })
        path = tmp_path / f'{config}_{seed}.json'
        path.write_text(json.dumps(summary))
        paths.append(str(path))
    lines = summarize_runs(paths)
    assert len(lines) == 4
    assert lines[2].startswith('| `a.py` | 0, 1 | 10 |') and '0.300 ± 0.141' in lines[2]
    assert lines[3].startswith('| `b.py` | 0 | 10 |') and '| 0.100 |' in lines[3]
    assert lines[0].endswith('| AP size 0-40 | AP size >=40 |') and lines[3].endswith('| 0.050 | 0.100 |')
    assert '| 1.0 |' in lines[2]  # mean training minutes

    for path in paths:  # no large people anywhere: AP (L) is -1 in every run and its column goes
        summary = json.loads(open(path).read())
        summary['coco/AP (L)'] = -1.0
        open(path, 'w').write(json.dumps(summary))
    assert 'AP (L)' not in summarize_runs(paths)[0] and 'AP (M)' in summarize_runs(paths)[0]
