"""MMEngine checkpoints must load under torch >= 2.6 once swahr_mmpose is imported.

The checkpoints are written by MMEngine's own Runner (CheckpointHook) and read
back through ``load_from`` and ``resume=True``: the exact paths ``mim train``,
``mim test`` and ``tools/test.py`` use.
"""
import pickle
import subprocess
import sys

import numpy as np
import pytest
import torch
from mmengine.model import BaseModel
from mmengine.runner import Runner
from torch import nn
from torch.utils.data import Dataset

import swahr_mmpose  # noqa: F401


class _ToyDataset(Dataset):
    """16 random samples; metainfo holds NumPy objects like MMPose's datasets."""

    metainfo = dict(
        dataset_name='toy',
        sigmas=np.linspace(0.025, 0.1, 17).astype(np.float32),
        keypoint_colors=np.zeros((17, 3), dtype=np.uint8),
        flip_indices=[0, 2, 1],
        num_keypoints=np.int64(17),
    )

    def __len__(self):
        return 16

    def __getitem__(self, idx):
        g = torch.Generator().manual_seed(idx)
        x = torch.randn(4, generator=g)
        return dict(x=x, y=x.sum(0, keepdim=True))


class _ToyModel(BaseModel):

    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 1)
        self.bn = nn.BatchNorm1d(1)

    def forward(self, x, y, mode='loss'):
        x, y = torch.stack(x), torch.stack(y)
        return dict(loss=((self.bn(self.fc(x)) - y)**2).mean())


def _runner(work_dir, max_epochs, **kwargs) -> Runner:
    return Runner(
        model=_ToyModel(),
        work_dir=str(work_dir),
        train_dataloader=dict(dataset=_ToyDataset(), sampler=dict(type='DefaultSampler', shuffle=True), batch_size=4),
        optim_wrapper=dict(optimizer=dict(type='Adam', lr=0.01)),
        param_scheduler=[
            dict(type='LinearLR', start_factor=0.1, by_epoch=True, begin=0, end=1, convert_to_iter_based=True),
            dict(type='PolyLR', power=1.0, eta_min=0.0, by_epoch=True, begin=1, end=4, convert_to_iter_based=True),
        ],
        train_cfg=dict(by_epoch=True, max_epochs=max_epochs),
        default_hooks=dict(checkpoint=dict(type='CheckpointHook', interval=1)),
        randomness=dict(seed=0),
        default_scope='mmpose',
        **kwargs)


@pytest.fixture(scope='module')
def saved_checkpoint(tmp_path_factory):
    work_dir = tmp_path_factory.mktemp('ckpt')
    runner = _runner(work_dir, max_epochs=2)
    runner.train()
    return work_dir / 'epoch_2.pth', runner


def test_plain_torch_load_fails_without_plugin(saved_checkpoint):
    """The premise: in a process without swahr_mmpose, torch.load refuses."""
    path, _ = saved_checkpoint
    code = ('import torch, sys\n'
            'try:\n'
            f'    torch.load({str(path)!r})\n'
            'except Exception as e:\n'
            '    print(type(e).__name__); sys.exit(3)\n')
    proc = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 3, proc.stdout + proc.stderr
    assert 'UnpicklingError' in proc.stdout


def test_checkpoint_holds_numpy_and_history_buffers(saved_checkpoint):
    from mmengine.logging import HistoryBuffer
    path, _ = saved_checkpoint
    ckpt = torch.load(str(path))  # weights_only=True is torch's default
    assert isinstance(ckpt['meta']['dataset_meta']['sigmas'], np.ndarray)
    buffers = ckpt['message_hub']['log_scalars']
    assert isinstance(buffers['train/loss'], HistoryBuffer)
    assert np.isfinite(buffers['train/loss'].mean())


def test_load_from_restores_weights(saved_checkpoint, tmp_path):
    path, trained = saved_checkpoint
    runner = _runner(tmp_path, max_epochs=3, load_from=str(path))
    runner.load_or_resume()
    for name, value in trained.model.state_dict().items():
        torch.testing.assert_close(runner.model.state_dict()[name], value)
    assert runner.epoch == 0  # load_from does not resume the loop


def test_resume_continues_training(saved_checkpoint, tmp_path):
    path, _ = saved_checkpoint
    runner = _runner(tmp_path, max_epochs=3, load_from=str(path), resume=True)
    runner.train()
    assert runner.epoch == 3
    assert runner.iter == 12  # 2 resumed epochs + 1 new, 4 iterations each
    ckpt = torch.load(str(tmp_path / 'epoch_3.pth'))
    assert ckpt['meta']['epoch'] == 3
    assert ckpt['meta']['dataset_meta']['sigmas'].dtype == np.float32


def test_weights_only_still_rejects_other_globals(tmp_path):
    """The allow-list is narrow: arbitrary objects and getattr calls fail."""
    path = tmp_path / 'evil.pth'
    torch.save({'f': np.random.default_rng}, str(path))
    with pytest.raises(pickle.UnpicklingError):
        torch.load(str(path))

    from mmengine.logging import HistoryBuffer

    from swahr_mmpose.utils.checkpoint import _restricted_getattr
    assert _restricted_getattr(HistoryBuffer, 'mean') is HistoryBuffer.mean
    with pytest.raises(pickle.UnpicklingError):
        _restricted_getattr(HistoryBuffer, '__init__')
    with pytest.raises(pickle.UnpicklingError):
        _restricted_getattr(np, 'load')
