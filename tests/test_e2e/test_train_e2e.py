"""Training starts through `mim train mmpose` and `python tools/train.py`.

Both run the real configs (data pointed at a tiny synthetic COCO set the test
writes, 128 px input, a few iterations, CPU) in a subprocess, exactly as a user
would.
"""
import json

from e2e_helpers import PYTHON, REPO_ROOT, run, tiny_data_overrides, write_config

SHORT_RUN = '''
train_cfg = dict(_delete_=True, type='IterBasedTrainLoop', max_iters=3, val_interval=1000)
param_scheduler = [dict(type='ConstantLR', factor=1.0, by_epoch=False)]
default_hooks = dict(logger=dict(interval=1),
                     checkpoint=dict(by_epoch=False, interval=3, save_best=None))
'''


def _losses(work_dir):
    """Per-iteration training records from MMEngine's scalars.json."""
    scalars = list(work_dir.glob('*/vis_data/scalars.json'))
    assert scalars, f'no scalars.json under {work_dir}'
    records = [json.loads(line) for line in scalars[0].read_text().splitlines()]
    return [r for r in records if 'loss' in r]


def test_mim_train_swahr_w48_coco(tiny_coco, tmp_path):
    cfg = write_config(tmp_path / 'cfg.py', 'swahr_hrnet_w48_coco.py', tiny_data_overrides(tiny_coco) + SHORT_RUN)
    work_dir = tmp_path / 'work'
    run([PYTHON, '-m', 'mim', 'train', 'mmpose', str(cfg), '--work-dir', str(work_dir)], cwd=REPO_ROOT)
    records = _losses(work_dir)
    assert [r['iter'] for r in records] == [1, 2, 3]
    for key in ('loss_heatmap_l0', 'loss_heatmap_l1', 'loss_scale_l0', 'loss_scale_l1', 'loss_ae_pull', 'loss_ae_push'):
        assert key in records[0]
    assert (work_dir / 'iter_3.pth').exists()


def test_tools_train_higherhrnet_w32_coco(tiny_coco, tmp_path):
    cfg = write_config(tmp_path / 'cfg.py', 'higherhrnet_hrnet_w32_coco.py', tiny_data_overrides(tiny_coco) + SHORT_RUN)
    work_dir = tmp_path / 'work'
    run([PYTHON, 'tools/train.py', str(cfg), '--work-dir', str(work_dir)], cwd=REPO_ROOT)
    records = _losses(work_dir)
    assert len(records) == 3
    assert 'loss_scale_l0' not in records[0]  # the baseline has no scale branches
    assert (work_dir / 'iter_3.pth').exists()
