"""Stop training once a wall-clock budget is spent (used by the CPU quickstart)."""
import logging
import time
from typing import Optional

from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmpose.registry import HOOKS


@HOOKS.register_module()
class TrainingTimeBudgetHook(Hook):
    """Ask the train loop to stop after ``max_seconds`` of training.

    The loop checks its ``stop_training`` flag between epochs (epoch-based) or
    iterations (iteration-based), so an epoch-based run may overrun by up to
    one epoch. The stop is logged, with the progress reached, because results
    then depend on the machine's speed.

    Args:
        max_seconds: training time budget in seconds (validation excluded).
    """

    priority = 'VERY_LOW'

    def __init__(self, max_seconds: float) -> None:
        if max_seconds <= 0:
            raise ValueError(f'max_seconds must be positive, got {max_seconds}')
        self.max_seconds = float(max_seconds)
        self._start: Optional[float] = None
        self.stopped_early = False

    def before_train(self, runner) -> None:
        self._start = time.monotonic()

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None) -> None:
        if self.stopped_early or self._start is None:
            return
        elapsed = time.monotonic() - self._start
        if elapsed > self.max_seconds:
            self.stopped_early = True
            runner.train_loop.stop_training = True
            print_log(
                f'Training time budget of {self.max_seconds:.0f} s spent after '
                f'{runner.iter + 1} iterations (epoch {runner.epoch + 1}); '
                'stopping at the end of this epoch. The learning-rate schedule '
                'did not finish, so results are below those of a full run.',
                logger='current',
                level=logging.WARNING)
