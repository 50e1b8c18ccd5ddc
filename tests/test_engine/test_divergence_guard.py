"""DivergenceGuardHook on its own: which losses, metrics and weights stop a run, and what the error says. (A real
diverging run through MMEngine's Runner is in tests/test_e2e/test_divergence_e2e.py.)"""
import math
from types import SimpleNamespace

import pytest
import torch
from torch import nn

from swahr_mmpose.engine.hooks import DivergenceError, DivergenceGuardHook


def runner(iteration=41, epoch=3):
    return SimpleNamespace(iter=iteration, epoch=epoch, work_dir='work_dirs/x', model=nn.Linear(2, 1))


def outputs(**terms):
    base = dict(loss=torch.tensor(0.05), loss_heatmap_l0=torch.tensor(0.03), loss_ae_pull=torch.tensor(1e-4))
    base.update({k: torch.tensor(v) for k, v in terms.items()})
    return base


def test_finite_losses_pass():
    DivergenceGuardHook(max_loss=1e4).after_train_iter(runner(), 5, outputs=outputs())


@pytest.mark.parametrize('value', [math.nan, math.inf, -math.inf])
def test_non_finite_term_names_iteration_and_term(value):
    with pytest.raises(DivergenceError) as info:
        DivergenceGuardHook().after_train_iter(runner(), 5, outputs=outputs(loss=value, loss_heatmap_l1=value))
    message = str(info.value)
    assert message.startswith('Training diverged at iteration 42 (epoch 4, iteration 6 of the epoch): non-finite '
                              f'loss rank 0: loss={value}, loss_heatmap_l1={value}.')
    assert 'loss_heatmap_l0' not in message and 'work_dirs/x' in message


def test_max_loss():
    hook = DivergenceGuardHook(max_loss=1e4)
    with pytest.raises(DivergenceError, match=r'non-finite or above max_loss=10000 loss rank 0: loss=1e\+21'):
        hook.after_train_iter(runner(), 5, outputs=outputs(loss=1e21))
    DivergenceGuardHook().after_train_iter(runner(), 5, outputs=outputs(loss=1e21))  # off by default


def test_interval_and_non_loss_outputs():
    hook = DivergenceGuardHook(interval=10)
    hook.after_train_iter(runner(iteration=3), 3, outputs=outputs(loss=math.nan))  # not a checked iteration
    with pytest.raises(DivergenceError):
        hook.after_train_iter(runner(iteration=9), 9, outputs=outputs(loss=math.nan))
    DivergenceGuardHook().after_train_iter(runner(), 0, outputs=dict(acc=torch.tensor(math.nan)))


def test_validation_of_a_diverged_model_stops_before_a_best_checkpoint():
    hook = DivergenceGuardHook()
    run = runner()
    hook.after_val_epoch(run, {'coco/AP': 0.1})
    with pytest.raises(DivergenceError, match=r"non-finite metrics \{'coco/AP': nan\}"):
        hook.after_val_epoch(run, {'coco/AP': math.nan})
    with torch.no_grad():
        run.model.weight[0, 1] = math.inf
    with pytest.raises(DivergenceError, match=r"non-finite weights in \['weight'\]"):
        hook.after_val_epoch(run, {'coco/AP': 0.1})
    DivergenceGuardHook(check_weights=False).after_val_epoch(run, {'coco/AP': 0.1})


def test_no_checkpoint_of_non_finite_weights():
    hook = DivergenceGuardHook()
    state = dict(weight=torch.ones(3), steps=torch.tensor([4]))
    hook.before_save_checkpoint(runner(), dict(state_dict=state))
    state['weight'][1] = math.nan
    with pytest.raises(DivergenceError, match=r"Refusing to save a checkpoint at iteration 41 \(epoch 3\): "
                       r"non-finite weights in \['weight'\]"):
        hook.before_save_checkpoint(runner(), dict(state_dict=state))


def test_arguments_are_validated():
    with pytest.raises(ValueError, match='interval'):
        DivergenceGuardHook(interval=0)
    with pytest.raises(ValueError, match='max_loss'):
        DivergenceGuardHook(max_loss=-1)
