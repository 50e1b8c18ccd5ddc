"""Median timing of a callable, with device synchronisation and a choice of clock."""
import statistics
import time
from typing import Callable, List, Optional

import torch

CLOCKS = dict(wall=time.perf_counter, cpu=time.process_time)


def median_seconds(fn: Callable[[], object],
                   repeats: int,
                   warmup: int = 1,
                   device: Optional[torch.device] = None,
                   clock: str = 'wall') -> float:
    """Median seconds of ``fn()`` over ``repeats`` runs after ``warmup`` untimed ones.

    Args:
        fn: the work to time.
        repeats: timed runs (>= 1).
        warmup: untimed runs first (allocations, caches, lazy imports).
        device: a CUDA device is synchronised before and after each run.
        clock: ``'wall'`` (``time.perf_counter``) or ``'cpu'`` (process CPU time, steadier on a shared machine; use
            it with one torch thread).
    """
    if repeats < 1:
        raise ValueError(f'repeats must be >= 1, got {repeats}')
    if clock not in CLOCKS:
        raise ValueError(f'clock must be one of {sorted(CLOCKS)}, got {clock!r}')
    timer = CLOCKS[clock]
    synchronize = device is not None and torch.device(device).type == 'cuda'
    times: List[float] = []
    for i in range(warmup + repeats):
        if synchronize:
            torch.cuda.synchronize(device)
        start = timer()
        fn()
        if synchronize:
            torch.cuda.synchronize(device)
        if i >= warmup:
            times.append(timer() - start)
    return statistics.median(times)
