"""Let MMEngine 0.10.7 load its own checkpoints under torch >= 2.6.

torch 2.6 switched ``torch.load`` to ``weights_only=True`` by default, and
MMEngine 0.10.7 calls ``torch.load`` without the argument. Its checkpoints hold,
besides tensors and plain containers:

* NumPy arrays, dtypes and scalars (``meta.dataset_meta``, e.g. OKS sigmas and
  colours; ``message_hub``);
* ``mmengine.logging.HistoryBuffer`` objects (``message_hub.log_scalars``), which
  pickle their statistics methods as ``getattr(HistoryBuffer, 'mean')`` etc.

So ``load_from``, ``resume`` and ``mim test`` fail on checkpoints MMEngine saved.
Rather than turning ``weights_only`` off for every load, we add exactly those
objects to torch's allow-list. ``getattr`` is allow-listed as a *restricted*
stand-in that only resolves registered statistics methods of ``HistoryBuffer``
and raises ``UnpicklingError`` for anything else.
"""
from typing import Any, Callable, List, Tuple, Union

import numpy as np
import torch

_REGISTERED = False
_DEFAULT_HISTORY_STATISTICS = frozenset({'min', 'max', 'current', 'mean'})


def _numpy_core():
    """NumPy >= 2 moved ``numpy.core`` to ``numpy._core``; pickles may use either."""
    return getattr(np, '_core', None) or np.core


def _restricted_getattr(obj: Any, name: str) -> Any:
    """``getattr`` for unpickling that only serves ``HistoryBuffer`` statistics."""
    from mmengine.logging import HistoryBuffer

    # The defaults are registered lazily by the first instance; custom ones via
    # ``HistoryBuffer.register_statistics``.
    allowed = _DEFAULT_HISTORY_STATISTICS | set(HistoryBuffer._statistics_methods)
    if obj is HistoryBuffer and name in allowed:
        return getattr(HistoryBuffer, name)
    raise torch.serialization.pickle.UnpicklingError(
        f'swahr_mmpose: refusing getattr({obj!r}, {name!r}) while loading a '
        'checkpoint with weights_only=True; only HistoryBuffer statistics '
        'methods are allow-listed.')


def mmengine_checkpoint_safe_globals() -> List[Union[Callable, Tuple[Callable, str]]]:
    """The globals found in MMEngine checkpoints, in ``add_safe_globals`` form.

    Each pickled name maps to one object; NumPy's private module is registered
    under both its NumPy 1 and NumPy 2 paths so checkpoints from either load.
    """
    from mmengine.logging import HistoryBuffer

    core = _numpy_core()
    globals_: List[Union[Callable, Tuple[Callable, str]]] = [
        np.ndarray,
        np.dtype,
        HistoryBuffer,
        (_restricted_getattr, 'builtins.getattr'),
    ]
    for module in ('numpy.core.multiarray', 'numpy._core.multiarray'):
        globals_.append((core.multiarray._reconstruct, f'{module}._reconstruct'))
        globals_.append((core.multiarray.scalar, f'{module}.scalar'))
    # NumPy >= 1.25 pickles dtypes of some arrays via their DType classes.
    dtypes = getattr(np, 'dtypes', None)
    if dtypes is not None:
        for name in dir(dtypes):
            cls = getattr(dtypes, name)
            if isinstance(cls, type) and issubclass(cls, np.dtype):
                globals_.append(cls)
    return globals_


def allow_mmengine_checkpoints() -> None:
    """Allow-list MMEngine checkpoint contents for ``torch.load`` (idempotent).

    A no-op on torch versions without ``torch.serialization.add_safe_globals``
    (< 2.4), which load checkpoints without restriction anyway.
    """
    global _REGISTERED
    add_safe_globals = getattr(torch.serialization, 'add_safe_globals', None)
    if _REGISTERED or add_safe_globals is None:
        return
    add_safe_globals(mmengine_checkpoint_safe_globals())
    _REGISTERED = True
