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
    assert 'loss_heatmap_l0' not in message and 'No checkpoint of this run predates the divergence' in message


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
    with pytest.raises(
            DivergenceError,
            match=r"Refusing to save a checkpoint at iteration 41 \(epoch 3\): "
            r"non-finite weights in \['weight'\]"):
        hook.before_save_checkpoint(runner(), dict(state_dict=state))


def test_arguments_are_validated():
    with pytest.raises(ValueError, match='interval'):
        DivergenceGuardHook(interval=0)
    with pytest.raises(ValueError, match='max_loss'):
        DivergenceGuardHook(max_loss=-1)
    with pytest.raises(ValueError, match='max_weight_growth'):
        DivergenceGuardHook(max_weight_growth=1)


class _Hub:
    """The part of MMEngine's MessageHub the guard reads: ``last_ckpt``, which CheckpointHook updates."""

    def __init__(self):
        self.info = {}

    def get_info(self, key):
        return self.info.get(key)


def _run(tmp_path, iteration):
    model = nn.Linear(2, 1)
    with torch.no_grad():
        model.weight.copy_(torch.tensor([[0.5, -0.8]]))
        model.bias.fill_(0.0)
    return SimpleNamespace(iter=iteration, epoch=0, work_dir=str(tmp_path), model=model, message_hub=_Hub())


def test_a_diverged_update_with_a_finite_loss_is_not_checkpointed(tmp_path):
    """LR 1000: the step's own loss is finite, its weights are not usable (max |w| 1000 instead of about 1)."""
    hook, run = DivergenceGuardHook(max_loss=1e4), _run(tmp_path, 0)
    hook.before_train_iter(run, 0)
    hook.after_train_iter(run, 0, outputs=outputs())  # the loss of the initial weights: fine
    healthy = {k: v * 1.05 + 0.01 for k, v in run.model.state_dict().items()}
    hook.before_save_checkpoint(run, dict(state_dict=healthy))
    diverged = dict(weight=torch.tensor([[2000.0, -3.0]]), bias=torch.tensor([1000.0]))
    with pytest.raises(DivergenceError) as info:
        hook.before_save_checkpoint(run, dict(state_dict=diverged))
    message = str(info.value)
    assert message.startswith('Refusing to save a checkpoint at iteration 0 (epoch 0): the weights grew more than '
                              '10-fold since the last step whose loss was finite (max |w|: weight: 0.8 -> 2e+03, '
                              'bias: 0 -> 1e+03); the update diverged')
    assert 'No checkpoint of this run predates the divergence' in message
    DivergenceGuardHook(max_weight_growth=None).before_save_checkpoint(run, dict(state_dict=diverged))


def test_the_advice_names_a_checkpoint_whose_weights_gave_a_finite_loss(tmp_path):
    """Checkpoints after iterations 1 and 2, NaN loss at iteration 3: iteration 3's loss was computed on the weights
    of iter_2.pth, so only iter_1.pth predates the divergence; last_checkpoint is pointed back to it."""
    hook, run = DivergenceGuardHook(), _run(tmp_path, 0)
    for iteration in range(3):
        run.iter = iteration
        hook.before_train_iter(run, iteration)
        if iteration == 2:
            break
        hook.after_train_iter(run, iteration, outputs=outputs())
        path = tmp_path / f'iter_{iteration + 1}.pth'
        path.write_bytes(b'weights')
        run.message_hub.info['last_ckpt'] = str(path)
        (tmp_path / 'last_checkpoint').write_text(str(path))
    with pytest.raises(DivergenceError) as info:
        hook.after_train_iter(run, 2, outputs=outputs(loss=math.nan))
    good = str(tmp_path / 'iter_1.pth')
    assert f'The newest checkpoint that predates the divergence is {good}' in str(info.value)
    assert f'--resume {good}' in str(info.value)
    assert (tmp_path / 'last_checkpoint').read_text() == good


def _two_rank_worker(rank, port, out_dir):
    """One of two gloo processes: rank 1 alone has a NaN loss at the second checked iteration."""
    import torch.distributed as dist

    dist.init_process_group('gloo', init_method=f'tcp://127.0.0.1:{port}', rank=rank, world_size=2)
    hook = DivergenceGuardHook()
    try:
        hook.after_train_iter(runner(iteration=6), 6, outputs=outputs())  # finite on both ranks: no stop
        hook.after_train_iter(runner(iteration=7), 7, outputs=outputs(loss_ae_push=math.nan) if rank else outputs())
        result = 'no error'
    except DivergenceError as error:
        result = str(error)
    finally:
        dist.destroy_process_group()
    (out_dir / f'rank{rank}.txt').write_text(result)


def test_all_ranks_stop_together_and_name_the_rank(tmp_path):
    """Without the all-reduce, rank 0 would go on into the next gradient all-reduce and wait there for ever."""
    import socket

    import torch.multiprocessing as mp

    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        port = s.getsockname()[1]
    # fork: the children have everything imported already (spawn would import mmpose twice more)
    mp.start_processes(_two_rank_worker, args=(port, tmp_path), nprocs=2, join=True, start_method='fork')
    for rank in (0, 1):
        message = (tmp_path / f'rank{rank}.txt').read_text()
        assert message.startswith('Training diverged at iteration 8 (epoch 4, iteration 8 of the epoch): non-finite '
                                  'loss rank 1: loss_ae_push=nan.'), (rank, message)
