"""Train-step speed: forward + backward + optimizer as MMEngine runs them, and a whole training iteration of a config
split into data / forward / backward / optimizer / hooks.

:func:`time_train_step` does what ``BaseModel.train_step`` + ``OptimWrapper.update_params`` do (data preprocessor
and forward under the optimizer wrapper's context, ``parse_losses``, backward, ``step``, ``zero_grad``) with the
config's optimizer (Adam), timing the three phases. Mixed precision: on CUDA MMEngine's ``AmpOptimWrapper`` (what
``--amp`` selects: autocast + dynamic loss scaling for float16); on the CPU, where that wrapper refuses to be built,
:class:`~swahr_mmpose.engine.optim_wrappers.NativeBF16OptimWrapper` forced to bfloat16 (autocast around the forward,
no loss scaling). Channels-last converts the model as ``ChannelsLastHook`` does.

:func:`iteration_split` runs MMEngine's own ``Runner`` on a config for a few iterations with every hook of the config,
and splits each iteration: **data** (the loader's ``next()``: with ``num_workers=0`` the pipeline itself),
**forward** (data preprocessor + forward + losses), **backward**, **optimizer** (step + zero_grad) and **hooks** (all
``before_train_iter`` / ``after_train_iter`` hooks: logging, LR schedulers, divergence guard, ...).
"""
import contextlib
import copy
import sys
import tempfile
import time
from typing import Dict, List, Optional

import torch
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.hooks import Hook

PHASES = ('forward', 'backward', 'optimizer')


def _sync(device: torch.device) -> None:
    if device.type == 'cuda':
        torch.cuda.synchronize(device)


def build_optim_wrapper(cfg: Config, model, amp_dtype: Optional[str], device: torch.device):
    """The config's optimizer in MMEngine's ``OptimWrapper``; with ``amp_dtype``, ``AmpOptimWrapper`` on CUDA and
    ``NativeBF16OptimWrapper(precision='bfloat16')`` on the CPU (bfloat16 only there)."""
    from mmengine.optim import build_optim_wrapper as build

    optim_cfg = copy.deepcopy(cfg.optim_wrapper)
    optim_cfg = optim_cfg.to_dict() if hasattr(optim_cfg, 'to_dict') else dict(optim_cfg)
    for key in ('type', 'dtype', 'precision', 'loss_scale'):
        optim_cfg.pop(key, None)
    if not amp_dtype:
        optim_cfg.update(type='OptimWrapper')
    elif device.type == 'cuda':
        optim_cfg.update(type='AmpOptimWrapper', dtype=amp_dtype, loss_scale='dynamic')
    elif amp_dtype == 'bfloat16':
        optim_cfg.update(type='NativeBF16OptimWrapper', precision='bfloat16')
    else:
        raise ValueError(f'mixed precision on {device.type} is bfloat16 only, got amp_dtype={amp_dtype!r}')
    return build(model, optim_cfg)


class TrainStepTimer:
    """Times :meth:`step` phase by phase (see the module docstring)."""

    def __init__(self, model, optim_wrapper, device: torch.device):
        self.model, self.optim_wrapper, self.device = model, optim_wrapper, device

    def step(self, batch: dict) -> Dict[str, float]:
        """One training step on a collated ``batch``; returns seconds per phase and the losses."""
        model, wrapper, device = self.model, self.optim_wrapper, self.device
        times = {}
        _sync(device)
        start = time.perf_counter()
        with wrapper.optim_context(model):  # autocast, when the wrapper is a mixed-precision one
            data = model.data_preprocessor(batch, True)
            losses = model(**data, mode='loss')
        parsed, log_vars = model.parse_losses(losses)
        _sync(device)
        times['forward'] = time.perf_counter() - start
        start = time.perf_counter()
        wrapper.backward(wrapper.scale_loss(parsed))
        _sync(device)
        times['backward'] = time.perf_counter() - start
        start = time.perf_counter()
        wrapper.step()
        wrapper.zero_grad()
        _sync(device)
        times['optimizer'] = time.perf_counter() - start
        times['loss'] = float(parsed.detach())
        times['log_vars'] = log_vars
        return times


def build_train_model(cfg: Config, device: torch.device):
    """The config's model with random weights (no pretrained download), in train mode, SyncBN reverted as MMEngine's
    Runner does on one process."""
    from mmengine.model import revert_sync_batchnorm
    from mmpose.apis import init_model

    model = revert_sync_batchnorm(init_model(cfg, None, device=str(device)))
    return model.train()


def time_train_step(cfg: Config,
                    samples: List[dict],
                    device: torch.device,
                    amp_dtype: Optional[str] = None,
                    channels_last: bool = False,
                    repeats: int = 2,
                    warmup: int = 1,
                    model=None) -> Dict[str, float]:
    """Median seconds per sample of a train step on ``samples`` (pipeline outputs, one batch).

    Returns:
        ``s_per_sample`` and ``<phase>_s`` (per sample, median of ``repeats``), ``batch``, ``loss`` (last step).
    """
    model = model or build_train_model(cfg, device)
    if channels_last:
        model.to(memory_format=torch.channels_last)
    timer = TrainStepTimer(model, build_optim_wrapper(cfg, model, amp_dtype, device), device)
    batch = pseudo_collate(samples)
    runs = [timer.step(batch) for _ in range(warmup + repeats)][warmup:]
    if channels_last:
        model.to(memory_format=torch.contiguous_format)
    n = len(samples)
    result = {f'{p}_s': sorted(r[p] for r in runs)[len(runs) // 2] / n for p in PHASES}
    result['s_per_sample'] = sorted(sum(r[p] for p in PHASES) for r in runs)[len(runs) // 2] / n
    result.update(batch=n, loss=runs[-1]['loss'], repeats=repeats)
    return result


class _IterationClock(Hook):
    """Two instances (highest and lowest priority) bracket every train-iteration hook call; the first also wraps the
    model's ``train_step`` to time its phases."""

    def __init__(self, record: dict, first: bool) -> None:
        self.record, self.first = record, first
        self.priority = 'HIGHEST' if first else 'LOWEST'

    def before_train(self, runner) -> None:
        if not self.first:
            return
        model = runner.model.module if hasattr(runner.model, 'module') else runner.model
        device = next(model.parameters()).device
        record = self.record

        def train_step(data, optim_wrapper):
            times = TrainStepTimer(model, optim_wrapper, device).step(data)
            record['steps'].append(times)
            return times['log_vars']

        model.train_step = train_step

    def before_train_iter(self, runner, batch_idx, data_batch=None) -> None:
        now = time.perf_counter()
        if self.first:
            self.record['data'].append(now - self.record.pop('t_after', now))
            self.record['t_hook'] = now
        else:
            self.record['hooks_before'].append(now - self.record['t_hook'])

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None) -> None:
        now = time.perf_counter()
        if self.first:
            self.record['t_hook'] = now
        else:
            self.record['hooks_after'].append(now - self.record['t_hook'])
            self.record['t_after'] = time.perf_counter()


def iteration_split(cfg: Config, data_root: str, iters: int = 6, warmup: int = 2) -> Dict[str, float]:
    """Run ``warmup + iters`` iterations of ``cfg`` with MMEngine's Runner on a synthetic data root written by
    ``make_synthetic_coco`` (train and val splits) and return mean seconds per iteration of data / forward /
    backward / optimizer / hooks over the last ``iters`` (module docstring)."""
    from mmengine.runner import Runner

    cfg = copy.deepcopy(cfg)
    with tempfile.TemporaryDirectory(prefix='swahr_iter_split_') as work_dir:
        cfg.work_dir = work_dir
        cfg.train_cfg = dict(type='IterBasedTrainLoop', max_iters=warmup + iters, val_interval=10**9)
        cfg.default_hooks.checkpoint = dict(type='CheckpointHook', by_epoch=False, interval=10**9, save_last=False)
        cfg.default_hooks.logger = dict(type='LoggerHook', interval=10**9)
        cfg.visualizer.vis_backends = [dict(type='LocalVisBackend')]
        for loader, split in ((cfg.train_dataloader, 'train'), (cfg.val_dataloader, 'val'), (cfg.test_dataloader,
                                                                                             'val')):
            loader.dataset.data_root = data_root
            loader.dataset.ann_file = f'annotations/person_keypoints_{split}.json'
            loader.dataset.data_prefix = dict(img=f'images/{split}/')
        for evaluator in (cfg.val_evaluator, cfg.test_evaluator):
            evaluator.ann_file = f'{data_root}/annotations/person_keypoints_val.json'
        record = dict(data=[], hooks_before=[], hooks_after=[], steps=[])
        cfg.custom_hooks = list(cfg.get('custom_hooks', []))
        cfg.log_level = 'WARNING'
        runner = Runner.from_cfg(cfg)
        runner.register_hook(_IterationClock(record, True))
        runner.register_hook(_IterationClock(record, False))
        with contextlib.redirect_stdout(sys.stderr):  # COCO evaluation prints: keep stdout for the tables
            runner.train()
    keep = slice(warmup, None)
    mean = lambda values: sum(values[keep]) / len(values[keep])  # noqa: E731
    split = dict(
        data=mean(record['data']),
        forward=mean([s['forward'] for s in record['steps']]),
        backward=mean([s['backward'] for s in record['steps']]),
        optimizer=mean([s['optimizer'] for s in record['steps']]),
        hooks=mean([a + b for a, b in zip(record['hooks_before'], record['hooks_after'])]))
    split['iteration'] = sum(split.values())
    split.update(iters=iters, batch=cfg.train_dataloader.batch_size)
    return split
