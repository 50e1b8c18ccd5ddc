"""A SIGKILL while a checkpoint is being written never loses the last good checkpoint, and ``--resume`` continues.

The real synthetic config (our runtime's ``AtomicCheckpointHook``) with a tiny model, ``max_keep_ckpts=1``,
regular checkpoints every 2 iterations, ``save_best`` after each validation (the test makes the AP increase so that
every validation saves a new best) and ``save_last``. Training runs in a forked child (no second import of torch and
MMPose); when the chosen save starts writing, the child writes half of the bytes to the file it opened and sends
itself SIGKILL: the state a crash leaves on disk, deterministically. The parent then checks that every ``*.pth`` is
complete, that the previous good checkpoint is there and loads, and resumes with ``resume=True`` (what
``tools/train.py --resume`` sets) to the end.
"""
import builtins
import os
import signal

import pytest
import torch
from mmengine.hooks import Hook

from e2e_helpers import build_runner, tiny_data_overrides, tiny_model_overrides, write_config

RUN = '''
train_cfg = dict(_delete_=True, type='IterBasedTrainLoop', max_iters=5, val_interval=2)
param_scheduler = [dict(type='ConstantLR', factor=1.0, by_epoch=False)]
default_hooks = dict(logger=dict(interval=1),
                     checkpoint=dict(by_epoch=False, interval=2, max_keep_ckpts=1, save_last=True,
                                     save_best='coco/AP', rule='greater'))
randomness = dict(seed=0)
'''

pytestmark = pytest.mark.usefixtures('one_torch_thread')


@pytest.fixture(autouse=True)
def _cheap_config_text(monkeypatch):
    """Every save stores ``cfg.pretty_text`` (yapf: ~1.8 s a checkpoint here, 3/4 of the run); not under test."""
    from mmengine.config import Config

    monkeypatch.setattr(Config, 'pretty_text', property(lambda self: self.text))


class _IncreasingAP(Hook):
    """Every validation reports a better AP (the iteration), so every one saves a new best checkpoint."""
    priority = 'HIGHEST'

    def after_val_epoch(self, runner, metrics=None) -> None:
        metrics['coco/AP'] = float(runner.iter)


class _KillDuringSave(Hook):
    """SIGKILL this process half-way through writing the checkpoint of ``iteration`` (``best``: the best one)."""

    def __init__(self, iteration: int, best: bool) -> None:
        self.iteration, self.best = iteration, best

    def before_save_checkpoint(self, runner, checkpoint) -> None:
        if checkpoint['meta']['iter'] != self.iteration or ('optimizer' not in checkpoint) != self.best:
            return
        real_open = builtins.open

        def open_then_die(file, mode='r', *args, **kwargs):
            handle = real_open(file, mode, *args, **kwargs)
            if 'wb' not in mode:
                return handle
            real_write = handle.write

            def write_half_then_die(data):
                real_write(data[:len(data) // 2])
                handle.flush()
                os.kill(os.getpid(), signal.SIGKILL)

            handle.write = write_half_then_die
            return handle

        builtins.open = open_then_die


@pytest.fixture(scope='module')
def cfg(one_torch_thread, tiny_coco, tmp_path_factory):
    tmp = tmp_path_factory.mktemp('faults')
    return write_config(tmp / 'cfg.py', 'swahr_hrnet_w32_synthetic.py',
                        tiny_data_overrides(tiny_coco, input_size=64) + tiny_model_overrides() + RUN)


def _train_killed(cfg, work_dir, iteration: int, best: bool) -> None:
    """Train in a forked child that is SIGKILLed while writing the given checkpoint."""
    pid = os.fork()
    if pid == 0:  # the child: never return into pytest
        status = 3
        try:
            runner = build_runner(cfg, work_dir)
            runner.register_hook(_IncreasingAP())
            runner.register_hook(_KillDuringSave(iteration, best), priority='LOWEST')
            runner.train()
            status = 0
        finally:
            os._exit(status)
    _, status = os.waitpid(pid, 0)
    assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL, (
        f'the training child was not killed while saving (exit status {status}); see {work_dir}')


class _RecordStart(Hook):

    def before_train(self, runner) -> None:
        self.start_iter = runner.iter


@pytest.mark.parametrize(
    'iteration, best, previous, resumes_at',
    [
        (4, False, 'iter_2.pth', 2),  # regular checkpoint: max_keep_ckpts=1 removed iter_2.pth before writing iter_4
        (4, True, 'best_coco_AP_iter_2.pth', 4),  # best: the previous best was removed before the new one was written
        (5, False, 'iter_4.pth', 4),  # the last checkpoint (save_last)
    ],
    ids=['regular', 'best', 'last'])
def test_sigkill_while_saving_keeps_the_previous_checkpoint_and_resume_continues(cfg, tmp_path, iteration, best,
                                                                                 previous, resumes_at):
    work_dir = tmp_path / 'work'
    _train_killed(cfg, work_dir, iteration, best)
    assert list(work_dir.glob('.*.pth.partial')), 'the kill did not happen while a checkpoint was being written'
    saved = sorted(p.name for p in work_dir.glob('*.pth'))
    assert previous in saved, f'the previous good checkpoint {previous} is gone: {saved}'
    for name in saved:  # every visible checkpoint is complete
        checkpoint = torch.load(str(work_dir / name), map_location='cpu')
        assert checkpoint['state_dict']
    assert torch.load(str(work_dir / previous), map_location='cpu')['meta']['iter'] == int(previous[-5])
    last = (work_dir / 'last_checkpoint').read_text().strip()
    assert os.path.isfile(last), f'last_checkpoint names {last}, which does not exist'

    runner = build_runner(cfg, work_dir, {'resume': True})
    start = _RecordStart()
    runner.register_hook(start)
    runner.train()
    assert start.start_iter == resumes_at
    assert torch.load(str(work_dir / 'iter_5.pth'), map_location='cpu')['meta']['iter'] == 5
