"""Training memory: activation bytes per sample (device-independent), the largest batch a card holds, and on CUDA
the measured peak of a real step.

**Activation bytes** are the tensors autograd keeps for backward during one ``model.loss`` forward (data
preprocessor output -> backbone -> head -> losses), recorded with ``torch.autograd.graph.saved_tensors_hooks`` and
counted once per storage (an in-place ReLU's output and its input are one storage). Parameters and buffers are not
activations and are left out; under autocast, the low-precision copies of the weights (a tensor of a parameter's
shape in the autocast dtype) are counted apart, as a per-step fixed cost. The forward runs on the CPU at batch 1
(per sample: activations grow linearly with the batch); the bytes do not depend on the device, only on shapes and
dtypes. Mixed precision is ``torch.autocast`` with the given dtype on the CPU (same casting lists for float16 and
bfloat16 as on CUDA for convolutions, the bulk of the bytes).

**Largest batch** for a card of ``M`` bytes: ``floor((M - reserve - 16 P - weight copies) / activation bytes per
sample)`` with ``P`` parameters: float32 weights, gradients and Adam's two moments are ``4 + 4 + 8`` bytes per
parameter. ``reserve`` (default 1 GiB) stands for the CUDA context, cuDNN workspaces, allocator fragmentation and
the transient gradient buffers of backward, which saved-tensor bytes do not cover; on a GPU, compare with the
``max_memory_allocated`` column.
"""
import math
from typing import Callable, Dict, Optional

import torch
from torch import nn

GIB = 2**30
OPTIMIZER_BYTES_PER_PARAM = 16  # float32 weight + gradient + Adam exp_avg + exp_avg_sq


def saved_tensor_bytes(fn: Callable[[], object], model: nn.Module,
                       autocast_dtype: Optional[torch.dtype] = None) -> Dict[str, int]:
    """Bytes autograd saves for backward while ``fn()`` runs.

    Returns:
        ``activations`` (bytes, unique storages, parameters/buffers and weight copies excluded), ``weight_copies``
        (bytes of autocast weight casts), ``tensors`` (number of unique activation storages).
    """
    own = {t.untyped_storage().data_ptr() for t in list(model.parameters()) + list(model.buffers())}
    param_shapes = {tuple(p.shape) for p in model.parameters()}
    storages: Dict[int, int] = {}
    copies: Dict[int, int] = {}

    def pack(t: torch.Tensor) -> torch.Tensor:
        storage = t.untyped_storage()
        ptr = storage.data_ptr()
        if ptr in own or ptr == 0 or t.device.type == 'meta':
            return t
        is_copy = autocast_dtype is not None and t.dtype == autocast_dtype and tuple(t.shape) in param_shapes
        (copies if is_copy else storages)[ptr] = storage.nbytes()  # the graph holds t: no pointer is reused
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        out = fn()
    del out
    return dict(activations=sum(storages.values()), weight_copies=sum(copies.values()), tensors=len(storages))


def set_checkpointing(model: nn.Module, enabled: bool) -> None:
    """Switch gradient checkpointing of the HRNet backbone (MMPose's ``with_cp`` on every block) and of
    ``SWAHRHead``'s deconv block, on a built model (the config switch is ``model.backbone.with_cp`` /
    ``model.head.with_cp``)."""
    for module in model.backbone.modules():  # HRNet and its blocks read their own flag at forward
        if hasattr(module, 'with_cp'):
            module.with_cp = enabled
    if hasattr(model.head, 'with_cp'):  # the head's deconv block is checkpointed as one piece
        model.head.with_cp = enabled


def activation_bytes_per_sample(model: nn.Module, data: dict, autocast_dtype: Optional[torch.dtype] = None,
                                checkpointing: bool = False) -> Dict[str, int]:
    """:func:`saved_tensor_bytes` of one ``model.loss`` forward on the preprocessed batch ``data`` (batch 1; the
    model is in train mode, on ``data``'s device)."""
    model.train()
    set_checkpointing(model, checkpointing)
    device = data['inputs'].device

    def forward():
        with torch.autocast(device.type, dtype=autocast_dtype, enabled=autocast_dtype is not None):
            losses = model.loss(data['inputs'].requires_grad_(False), data['data_samples'])
        return sum(v for v in losses.values() if isinstance(v, torch.Tensor))

    try:
        return saved_tensor_bytes(forward, model, autocast_dtype)
    finally:
        set_checkpointing(model, False)


def largest_batch(memory_gb: float, num_params: int, per_sample: int, weight_copies: int = 0,
                  reserve_gb: float = 1.0) -> int:
    """Largest batch whose weights, gradients, Adam state and activations fit ``memory_gb`` GiB (module docstring);
    0 when not even one sample fits."""
    free = memory_gb * GIB - reserve_gb * GIB - OPTIMIZER_BYTES_PER_PARAM * num_params - weight_copies
    return max(0, math.floor(free / per_sample)) if per_sample > 0 else 0


def cuda_peak_bytes(step: Callable[[], object], device: torch.device) -> int:
    """``torch.cuda.max_memory_allocated`` over one call of ``step`` (a real train step), after a reset."""
    torch.cuda.synchronize(device)
    torch.cuda.reset_peak_memory_stats(device)
    step()
    torch.cuda.synchronize(device)
    return int(torch.cuda.max_memory_allocated(device))
