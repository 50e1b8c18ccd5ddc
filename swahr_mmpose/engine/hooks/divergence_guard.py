"""Stop a diverged run with a clear error, and never save a diverged model.

mmdet's ``CheckInvalidLossHook`` asserts that the summed loss is finite every 50 iterations. It names neither the
term nor the rank, an ``assert`` disappears under ``python -O``, a NaN on one rank leaves the other ranks waiting
in the next all-reduce, and a checkpoint written in between (``best_*.pth`` included) may hold the diverged model.
Its one method would be replaced, so this is an equivalent hook on MMEngine's ``Hook`` rather than a subclass.
"""
import math
from typing import Dict, Optional

import torch
from mmengine.dist import all_gather_object, all_reduce, get_rank, get_world_size
from mmengine.hooks import Hook
from mmpose.registry import HOOKS


class DivergenceError(FloatingPointError):
    """Training diverged: a non-finite (or, with ``max_loss``, huge) loss, metric or weight."""


def _as_float(value) -> Optional[float]:
    if isinstance(value, torch.Tensor):
        return float(value.detach().float().mean()) if value.numel() else None
    if isinstance(value, (int, float)):
        return float(value)
    return None


@HOOKS.register_module()
class DivergenceGuardHook(Hook):
    """Raise :class:`DivergenceError` when training diverges, before anything of the diverged model is saved.

    * ``after_train_iter`` (every ``interval`` iterations, default every one): every loss term in the train step's
      outputs (``loss`` and each ``loss_*``) must be finite and, with ``max_loss``, at most ``max_loss``. The
      verdict is all-reduced, so in distributed training every rank stops at the same iteration with the same
      message (naming the rank, the iteration and the terms), instead of the other ranks waiting for the failed
      one. It runs before the ``CheckpointHook``, so the iteration's checkpoint is not written.
    * ``after_val_epoch`` (before the ``CheckpointHook`` picks ``best_*.pth``, which first deletes the previous
      best): the metrics must be finite and the weights too.
    * ``before_save_checkpoint``: the saved weights must be finite (any other checkpoint).

    Checking the outputs costs one scalar all-reduce per checked iteration; the logger reads the same values anyway.

    Args:
        interval: check the loss every ``interval`` training iterations.
        max_loss: also stop when a loss term exceeds this (``None``: only non-finite values stop).
        check_weights: check the weights before validation results are used and before checkpoints are saved.
    """

    priority = 'ABOVE_NORMAL'  # before CheckpointHook (VERY_LOW) and LoggerHook (BELOW_NORMAL)

    def __init__(self, interval: int = 1, max_loss: Optional[float] = None, check_weights: bool = True) -> None:
        if interval < 1:
            raise ValueError(f'interval must be >= 1, got {interval}')
        if max_loss is not None and not max_loss > 0:
            raise ValueError(f'max_loss must be > 0 or None, got {max_loss}')
        self.interval = int(interval)
        self.max_loss = None if max_loss is None else float(max_loss)
        self.check_weights = bool(check_weights)

    # ----------------------------------------------------------------------------------------------------- loss
    def bad_terms(self, outputs: Optional[Dict]) -> Dict[str, float]:
        """The loss terms of ``outputs`` that are non-finite or above ``max_loss``."""
        bad = {}
        for name, value in (outputs or {}).items():
            if 'loss' not in name:
                continue
            number = _as_float(value)
            if number is None:
                continue
            if not math.isfinite(number) or (self.max_loss is not None and number > self.max_loss):
                bad[name] = number
        return bad

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs: Optional[Dict] = None) -> None:
        if not self.every_n_train_iters(runner, self.interval):
            return
        bad = self.bad_terms(outputs)
        if not _any_rank(bool(bad)):
            return
        reports = all_gather_object((get_rank(), bad)) if get_world_size() > 1 else [(get_rank(), bad)]
        details = '; '.join(f'rank {rank}: ' + ', '.join(f'{k}={v:.4g}' for k, v in terms.items())
                            for rank, terms in reports if terms)
        limit = 'non-finite' if self.max_loss is None else f'non-finite or above max_loss={self.max_loss:g}'
        raise DivergenceError(
            f'Training diverged at iteration {runner.iter + 1} (epoch {runner.epoch + 1}, iteration {batch_idx + 1} '
            f'of the epoch): {limit} loss {details}. Training stopped before this iteration\'s checkpoint; the '
            f'newest checkpoint in {runner.work_dir} predates it. Resume from it (--resume) with a lower learning '
            'rate, or check the data (python tools/check_dataset.py CONFIG).')

    # -------------------------------------------------------------------------------------------------- weights
    def after_val_epoch(self, runner, metrics: Optional[Dict[str, float]] = None) -> None:
        if not self.check_weights:
            return
        bad_metrics = {k: v for k, v in (metrics or {}).items()
                       if isinstance(v, (int, float)) and not math.isfinite(float(v))}
        bad_weights = _non_finite_tensors(runner.model.state_dict())
        if bad_metrics or bad_weights:
            raise DivergenceError(
                f'Validation after iteration {runner.iter} (epoch {runner.epoch}) found a diverged model: '
                f'non-finite metrics {bad_metrics or "none"}, non-finite weights in {bad_weights[:5] or "none"}. '
                'Stopped before a best checkpoint is chosen; resume from the newest checkpoint in '
                f'{runner.work_dir} with a lower learning rate.')

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        if not self.check_weights:
            return
        bad_weights = _non_finite_tensors(checkpoint.get('state_dict', {}))
        if bad_weights:
            raise DivergenceError(
                f'Refusing to save a checkpoint at iteration {runner.iter} (epoch {runner.epoch}): non-finite '
                f'weights in {bad_weights[:5]}{" ..." if len(bad_weights) > 5 else ""}; the run diverged. Resume from '
                f'the newest checkpoint in {runner.work_dir} with a lower learning rate.')


def _any_rank(flag: bool) -> bool:
    """``flag`` or'ed over all ranks (no communication when not distributed)."""
    if get_world_size() == 1:
        return flag
    value = torch.tensor([1.0 if flag else 0.0])
    all_reduce(value, op='max')  # mmengine moves it to the backend's device (nccl: GPU)
    return bool(value.item() > 0)


def _non_finite_tensors(state_dict: Dict[str, torch.Tensor]) -> list:
    """Names of the floating-point tensors that hold a NaN or inf."""
    return [name for name, tensor in state_dict.items()
            if isinstance(tensor, torch.Tensor) and tensor.is_floating_point() and not torch.isfinite(tensor).all()]


__all__ = ['DivergenceGuardHook', 'DivergenceError']
