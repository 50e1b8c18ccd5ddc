"""Distributed training: 2 processes, gloo, on the CPU, through ``tools/dist_train.sh`` (torch.distributed.run ->
tools/train.py -> MMPose's train.py -> MMEngine's Runner with ``--launcher pytorch``), then ``tools/dist_test.sh``,
then a single-process resume of the DDP checkpoint.

The test harness, and only it, changes two things that MMEngine hard-wires for GPUs:

* ``torch.cuda.set_device`` is a no-op (a ``sitecustomize`` on the workers' path): MMEngine's pytorch launcher
  calls it unconditionally; the workers see no GPU (``CUDA_VISIBLE_DEVICES=''``), so this runs the same on a GPU
  machine;
* ``model_wrapper_cfg=dict(type='MMDistributedDataParallel', device_ids=None)`` in the test config: MMEngine passes
  ``device_ids=[LOCAL_RANK]``, which torch's DDP rejects for a CPU module.

A probe hook (imported by the test config) records, per rank, the images each iteration trained on and the weights
before and after training. Checked: every rank trained on different images, both ranks end with identical
parameters and buffers, the checkpoint equals them, the distributed test produces COCO metrics, and a
plain ``tools/train.py --resume`` continues from the DDP checkpoint with exactly its weights.
"""
import json
import os
import socket
import subprocess
import textwrap

import pytest
import torch

from e2e_helpers import (PYTHON, REPO_ROOT, epoch_based_overrides, tiny_data_overrides, tiny_model_overrides,
                         train_records, write_config)

SITECUSTOMIZE = '''
# Test harness for CPU DDP: MMEngine's pytorch launcher calls torch.cuda.set_device(LOCAL_RANK) unconditionally.
import torch

torch.cuda.set_device = lambda device: None
'''

PROBE = '''
import json
import os

import torch
from mmengine.dist import get_rank, get_world_size
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmpose.registry import HOOKS


@HOOKS.register_module()
class DDPProbeHook(Hook):
    """Per rank: image ids of each training iteration, weights before and after training."""

    def __init__(self):
        self.seen = []

    def _dump(self, runner, stage):
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        torch.save(model.state_dict(), os.path.join(runner.work_dir, f'probe_rank{get_rank()}_{stage}.pth'))

    def before_train(self, runner):
        self._dump(runner, 'before')

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        self.seen.append([int(s.img_id) for s in data_batch['data_samples']])

    def after_train(self, runner):
        self._dump(runner, 'after')
        with open(os.path.join(runner.work_dir, f'probe_rank{get_rank()}.json'), 'w') as f:
            json.dump(dict(world_size=get_world_size(), seen=self.seen, iter=runner.iter), f)
'''

RUN = '''
custom_imports = dict(imports=['swahr_mmpose', 'ddp_probe'], allow_failed_imports=False)
custom_hooks = _base_.custom_hooks + [dict(type='DDPProbeHook')]
env_cfg = dict(dist_cfg=dict(backend='gloo'))
model_wrapper_cfg = dict(type='MMDistributedDataParallel', device_ids=None)
randomness = dict(seed=0)  # validation: through dist_test.sh below
'''


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def _run(cmd, env, cwd=REPO_ROOT, timeout=600):
    proc = subprocess.run(cmd, cwd=str(cwd), env=env, capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, f'{" ".join(map(str, cmd))} failed ({proc.returncode}):\n' \
        f'{proc.stdout[-4000:]}\n{proc.stderr[-6000:]}'
    return proc.stdout + proc.stderr


@pytest.fixture(scope='module')
def harness(tiny_coco, tmp_path_factory):
    tmp = tmp_path_factory.mktemp('ddp')
    (tmp / 'sitecustomize.py').write_text(textwrap.dedent(SITECUSTOMIZE))
    (tmp / 'ddp_probe.py').write_text(textwrap.dedent(PROBE))
    cfg = write_config(
        tmp / 'cfg.py', 'swahr_hrnet_w32_synthetic.py',
        tiny_data_overrides(tiny_coco, input_size=64) + tiny_model_overrides() + epoch_based_overrides(2) + RUN)
    env = dict(
        os.environ,
        PYTHON=PYTHON,
        PYTHONPATH=os.pathsep.join([str(tmp), str(REPO_ROOT)]),
        CUDA_VISIBLE_DEVICES='',
        OMP_NUM_THREADS='1',
        PYTHONUNBUFFERED='1')
    return tmp, cfg, env


@pytest.fixture(scope='module')
def ddp_run(harness):
    tmp, cfg, env = harness
    work_dir = tmp / 'ddp'
    log = _run(['bash', 'tools/dist_train.sh',
                str(cfg), '2', '--work-dir', str(work_dir)], dict(env, PORT=str(_free_port())))
    return work_dir, log


def _load(path):
    return torch.load(str(path), map_location='cpu')


def test_two_ranks_train_on_different_images_and_end_identical(ddp_run):
    work_dir, log = ddp_run
    probes = [json.loads((work_dir / f'probe_rank{r}.json').read_text()) for r in (0, 1)]
    assert [p['world_size'] for p in probes] == [2, 2]
    # 6 images, 2 ranks, batch 2: 2 iterations per epoch on each rank, 2 epochs
    assert [len(p['seen']) for p in probes] == [4, 4] and probes[0]['iter'] == 4
    for it in range(4):
        assert not set(probes[0]['seen'][it]) & set(probes[1]['seen'][it]), 'ranks trained on the same images'
    before = [_load(work_dir / f'probe_rank{r}_before.pth') for r in (0, 1)]
    after = [_load(work_dir / f'probe_rank{r}_after.pth') for r in (0, 1)]
    changed = [name for name, value in after[0].items() if not torch.equal(value, before[0][name])]
    assert 'head.final_layers.1.weight' in changed  # training moved the weights
    for name, value in after[0].items():
        assert torch.equal(value, after[1][name]), f'{name} differs between ranks'
    checkpoint = _load(work_dir / 'epoch_2.pth')
    assert checkpoint['meta']['iter'] == 4
    for name, value in after[0].items():
        assert torch.equal(checkpoint['state_dict'][name], value), name
    assert 'Distributed launcher: pytorch' in log


def test_dist_test_evaluates_the_checkpoint(harness, ddp_run):
    tmp, cfg, env = harness
    work_dir, _ = ddp_run
    log = _run([
        'bash', 'tools/dist_test.sh',
        str(cfg),
        str(work_dir / 'epoch_2.pth'), '2', '--work-dir',
        str(tmp / 'ddp_test')
    ], dict(env, PORT=str(_free_port())))
    assert 'Distributed launcher: pytorch' in log
    assert 'coco/AP:' in log  # CocoMetric gathered the predictions of both ranks


def test_ddp_checkpoint_resumes_in_one_process(harness, ddp_run):
    tmp, cfg, env = harness
    work_dir, _ = ddp_run
    resumed = tmp / 'resumed'
    log = _run([
        PYTHON, 'tools/train.py',
        str(cfg), '--work-dir',
        str(resumed), '--resume',
        str(work_dir / 'epoch_2.pth'), '--cfg-options', 'train_cfg.max_epochs=3'
    ], env)
    assert 'resumed epoch: 2, iter: 4' in log
    probe = json.loads((resumed / 'probe_rank0.json').read_text())
    assert probe['world_size'] == 1 and probe['iter'] == 7  # one process: 3 iterations for the 6 images
    assert [r['iter'] for r in train_records(resumed)] == [5, 6, 7]
    start = _load(resumed / 'probe_rank0_before.pth')
    for name, value in _load(work_dir / 'epoch_2.pth')['state_dict'].items():
        assert torch.equal(start[name], value), f'{name} was not restored'
