"""A run that diverges stops with the iteration and the loss terms, and leaves no checkpoint of the diverged model.

The real synthetic config (our runtime's DivergenceGuardHook, CheckpointHook every iteration with save_best) through
MMEngine's Runner; before iteration 3 a test hook sets the level-1 heatmap conv to NaN, as an exploding update
would.
"""
import math

import pytest
import torch
from mmengine.hooks import Hook

from swahr_mmpose.engine.hooks import DivergenceError
from e2e_helpers import build_runner, tiny_data_overrides, tiny_model_overrides, train_records, write_config

RUN = '''
train_cfg = dict(_delete_=True, type='IterBasedTrainLoop', max_iters=4, val_interval=2)
param_scheduler = [dict(type='ConstantLR', factor=1.0, by_epoch=False)]
default_hooks = dict(logger=dict(interval=1),
                     checkpoint=dict(by_epoch=False, interval=1, save_best='coco/AP', rule='greater'))
randomness = dict(seed=0)
'''

pytestmark = pytest.mark.usefixtures('one_torch_thread')


class _BreakWeightsBefore(Hook):
    """Set one conv of the head to NaN before a given iteration (1-based)."""

    def __init__(self, iteration: int) -> None:
        self.iteration = iteration

    def before_train_iter(self, runner, batch_idx, data_batch=None) -> None:
        if runner.iter + 1 == self.iteration:
            with torch.no_grad():
                runner.model.head.final_layers[1].weight.fill_(math.nan)


def test_nan_loss_stops_training_and_no_diverged_checkpoint(tiny_coco, tmp_path):
    cfg = write_config(tmp_path / 'cfg.py', 'swahr_hrnet_w32_synthetic.py',
                       tiny_data_overrides(tiny_coco, input_size=64) + tiny_model_overrides() + RUN)
    work_dir = tmp_path / 'work'
    runner = build_runner(cfg, work_dir)
    runner.register_hook(_BreakWeightsBefore(3), priority='VERY_HIGH')
    with pytest.raises(DivergenceError) as info:
        runner.train()
    message = str(info.value)
    assert message.startswith('Training diverged at iteration 3 (epoch 1, iteration 3 of the epoch): non-finite or '
                              'above max_loss=10000 loss rank 0: loss=nan, loss_heatmap_l1=nan')
    assert 'loss_heatmap_l0' not in message  # level 0 does not use the broken conv
    # iteration 3's loss was computed on the weights of iter_2.pth: only iter_1.pth is known to predate it
    assert f'The newest checkpoint that predates the divergence is {work_dir / "iter_1.pth"}' in message
    assert (work_dir / 'last_checkpoint').read_text() == str(work_dir / 'iter_1.pth')
    assert [r['iter'] for r in train_records(work_dir)] == [1, 2]  # the logger never saw iteration 3
    saved = sorted(p.name for p in work_dir.glob('*.pth'))
    assert saved == ['best_coco_AP_iter_2.pth', 'iter_1.pth', 'iter_2.pth']  # nothing at or after iteration 3
    for name in saved:
        state = torch.load(str(work_dir / name))['state_dict']
        assert all(torch.isfinite(t).all() for t in state.values() if t.is_floating_point())


def test_a_diverged_update_is_not_checkpointed(tiny_coco, tmp_path):
    """LR 1000: iteration 1's loss is finite, but its update takes max |w| from about 1 to about 1000; the checkpoint
    after it is refused (MMEngine would write it, and resuming from it diverges at once)."""
    cfg = write_config(
        tmp_path / 'cfg.py', 'swahr_hrnet_w32_synthetic.py',
        tiny_data_overrides(tiny_coco, input_size=64) + tiny_model_overrides() + RUN +
        'optim_wrapper = dict(optimizer=dict(lr=1000.0))\nauto_scale_lr = dict(enable=False)\n')
    work_dir = tmp_path / 'work'
    with pytest.raises(DivergenceError) as info:
        build_runner(cfg, work_dir).train()
    assert str(info.value).startswith('Refusing to save a checkpoint at iteration 0 (epoch 0): the weights grew more '
                                      'than 10-fold since the last step whose loss was finite')
    assert 'No checkpoint of this run predates the divergence' in str(info.value)
    assert not list(work_dir.glob('*.pth')) and not (work_dir / 'last_checkpoint').exists()
