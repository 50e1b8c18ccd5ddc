"""The loops a run starts, read through the Runner's public properties (for hooks that check them once)."""
from typing import List, Set, Tuple

from mmengine.runner import BaseLoop

# The loops each of Runner.train(), val() and test() builds before its loop's ``before_<stage>`` hook.
_STAGE_LOOPS = {'train': ('train', 'val'), 'val': ('val', ), 'test': ('test', )}


def loops_of_stage(runner, stage: str, seen: Set[int]) -> List[Tuple[str, BaseLoop]]:
    """(name, loop) of the loops that start with ``before_<stage>`` and are not in ``seen`` (ids; updated).

    Called from ``before_train`` / ``before_val`` / ``before_test``: by then ``Runner.train()`` has built its train
    and val loops and ``val()`` / ``test()`` theirs, so ``runner.train_loop`` etc. return them and build nothing (in
    ``before_run`` a property could build a loop the run does not use). The val loop starts again at every
    validation of a training run; ``seen`` makes it count once.
    """
    loops = []
    for name in _STAGE_LOOPS[stage]:
        loop = getattr(runner, f'{name}_loop')
        if isinstance(loop, BaseLoop) and id(loop) not in seen:
            seen.add(id(loop))
            loops.append((name, loop))
    return loops
