"""A short run learns (loss falls) and `mim test` evaluates it with CocoMetric.

Uses the synthetic quickstart config (reduced HRNet) at 128 px on the tiny
synthetic set, so a few dozen CPU iterations take well under a minute.
"""
import json
import re

import pytest

from e2e_helpers import PYTHON, REPO_ROOT, run, tiny_data_overrides, write_config

ITERS = 40
RUN = f'''
train_cfg = dict(_delete_=True, type='IterBasedTrainLoop', max_iters={ITERS}, val_interval=1000)
param_scheduler = [dict(type='ConstantLR', factor=1.0, by_epoch=False)]
optim_wrapper = dict(optimizer=dict(lr=0.002))
default_hooks = dict(logger=dict(interval=1),
                     checkpoint=dict(by_epoch=False, interval={ITERS}, save_best=None))
randomness = dict(seed=0)
# Fixed inputs (no augmentation): the check is that the model fits its data,
# not how fast it generalises, and it keeps the loss curve free of batch noise.
train_pipeline[1].update(scale_factor=(1.0, 1.0), rotate_factor=0, max_translate=0)
train_pipeline[2].update(prob=0.0)
train_dataloader['dataset']['pipeline'] = train_pipeline
# The reference AE factors (0.001), not the synthetic recipe's 0.1: tags start at ~0 and need hundreds of iterations
# to break symmetry, so at 0.1 the flat push term (measured 0.029 -> 0.033 over these 40 iterations) hides the
# heatmap and scale losses this check is about. Tag learning is checked by the quickstart run (AP needs grouping).
model['head']['tag_loss'] = dict(pull_loss_factor=0.001, push_loss_factor=0.001)
'''


@pytest.fixture(scope='module')
def trained(tiny_coco, tmp_path_factory):
    tmp = tmp_path_factory.mktemp('learn')
    cfg = write_config(tmp / 'cfg.py', 'swahr_hrnet_w32_synthetic.py', tiny_data_overrides(tiny_coco) + RUN)
    work_dir = tmp / 'work'
    run([PYTHON, 'tools/train.py', str(cfg), '--work-dir', str(work_dir)], cwd=REPO_ROOT)
    scalars = next(work_dir.glob('*/vis_data/scalars.json'))
    records = [json.loads(line) for line in scalars.read_text().splitlines()]
    return cfg, work_dir, [r for r in records if 'loss' in r]


def test_loss_decreases_over_a_few_dozen_iterations(trained):
    _, _, records = trained
    assert len(records) == ITERS
    losses = [r['loss'] for r in records]
    first, last = sum(losses[:10]) / 10, sum(losses[-10:]) / 10
    # The N(0, 0.001) init predicts ~0 everywhere, which already matches the
    # background; Adam's first steps overshoot (as in the reference, whose first
    # iteration also runs at the full LR) and the loss then falls steadily
    # (measured: first 10 = 0.027, last 10 = 0.0175, peak 0.029).
    assert last < 0.8 * first, f'loss did not fall: first10={first:.5f} last10={last:.5f}'
    assert last < 0.75 * max(losses)
    heatmap = [r['loss_heatmap_l1'] for r in records]
    assert sum(heatmap[-10:]) < sum(heatmap[:10])


def test_mim_test_reports_coco_metrics(trained, tmp_path):
    cfg, work_dir, _ = trained
    ckpt = work_dir / f'iter_{ITERS}.pth'
    out = tmp_path / 'preds'
    proc = run([
        PYTHON, '-m', 'mim', 'test', 'mmpose',
        str(cfg), '--checkpoint',
        str(ckpt), '--work-dir',
        str(tmp_path / 'test'), '--cfg-options', f'test_evaluator.outfile_prefix={out}'
    ],
               cwd=REPO_ROOT)
    log = proc.stdout + proc.stderr
    for name in ('coco/AP', 'coco/AP .5', 'coco/AP .75', 'coco/AP (M)', 'coco/AP (L)', 'coco/AR'):
        match = re.search(re.escape(name) + r':\s*(-?[0-9.]+)', log)
        assert match, f'{name} missing from the test log'
        assert -1.0 <= float(match.group(1)) <= 1.0
    # CocoMetric writes the prediction JSON (person entries with 17 keypoints).
    preds = json.loads((tmp_path / 'preds.keypoints.json').read_text())
    assert isinstance(preds, list)
    for det in preds:
        assert len(det['keypoints']) == 17 * 3 and 'score' in det
