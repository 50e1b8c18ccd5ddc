"""``NativeBF16OptimWrapper``: bfloat16 autocast for training where the device has native bfloat16 kernels.

MMEngine's ``AmpOptimWrapper`` refuses to be built without CUDA / NPU / MLU / MUSA, and on a CPU without native
bfloat16 kernels autocast is emulated and many times slower than float32. This wrapper decides at the first training
step, from the device of the model's parameters, and logs the decision once:

* ``precision='auto'`` (default): bfloat16 autocast where :func:`~swahr_mmpose.utils.precision.native_bf16` is
  true (CPUs with AVX512-BF16 / AMX, CUDA GPUs with compute capability >= 8.0), float32 otherwise;
* ``'bfloat16'``: always (also emulated); ``'float32'``: never.

bfloat16 has float32's exponent range, so no loss scaling is needed (MMEngine's wrapper scales for float16). Autocast
covers the forward and the losses (``optim_context``, as ``AmpOptimWrapper``); the losses that need float32 cast
their inputs themselves (SWAHR's weight-adaptive MSE with its ``G^gamma`` weight, the AE push/pull), and validation
runs outside it, in float32.
"""
from contextlib import contextmanager
from typing import Iterator, Optional

import torch
import torch.nn as nn
from mmengine.logging import MMLogger
from mmengine.optim import OptimWrapper
from mmpose.registry import OPTIM_WRAPPERS

from ...utils.precision import native_bf16

PRECISIONS = ('auto', 'bfloat16', 'float32')


@OPTIM_WRAPPERS.register_module()
class NativeBF16OptimWrapper(OptimWrapper):
    """An ``OptimWrapper`` that trains under bfloat16 autocast where it runs natively (see the module docstring).

    Args:
        precision: ``'auto'``, ``'bfloat16'`` or ``'float32'``.
        **kwargs: ``OptimWrapper``'s arguments (``optimizer``, ``clip_grad``, ``accumulative_counts``).

    Attributes:
        autocast_dtype: ``torch.bfloat16`` or ``None`` (float32), set at the first :meth:`optim_context`.
    """

    def __init__(self, precision: str = 'auto', **kwargs) -> None:
        if precision not in PRECISIONS:
            raise ValueError(f'precision must be one of {PRECISIONS}, got {precision!r}')
        super().__init__(**kwargs)
        self.precision = precision
        self.autocast_dtype: Optional[torch.dtype] = None
        self._device: Optional[torch.device] = None

    def _decide(self, model: nn.Module) -> torch.device:
        parameter = next(model.parameters(), None)
        device = parameter.device if parameter is not None else torch.device('cpu')
        native = native_bf16(device)
        use_bf16 = self.precision == 'bfloat16' or (self.precision == 'auto' and native)
        self.autocast_dtype = torch.bfloat16 if use_bf16 else None
        kernels = 'native bfloat16 kernels' if native else 'no native bfloat16 kernels'
        MMLogger.get_current_instance().info(
            f'NativeBF16OptimWrapper(precision={self.precision!r}): {device.type} has {kernels}; training in '
            f'{"bfloat16 autocast" if use_bf16 else "float32"}')
        return device

    @contextmanager
    def optim_context(self, model: nn.Module) -> Iterator[None]:
        """``OptimWrapper``'s context (gradient accumulation), plus bfloat16 autocast when it was decided."""
        if self._device is None:
            self._device = self._decide(model)
        with super().optim_context(model):
            if self.autocast_dtype is None:
                yield
            else:
                with torch.autocast(self._device.type, dtype=self.autocast_dtype):
                    yield
