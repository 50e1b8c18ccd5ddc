"""Training memory: activation bytes per sample (device-independent), the largest batch a card holds, and on CUDA
the measured peak of a real step.

**Activation bytes** are the tensors autograd keeps for backward during one training forward (backbone -> head ->
losses), recorded with ``torch.autograd.graph.saved_tensors_hooks`` and counted once per storage (an in-place ReLU's
output and its input are one storage). Parameters and buffers are not activations and are left out. They depend
only on shapes and dtypes, so :func:`activation_bytes_per_sample` gets them without computing anything: the network
runs on PyTorch's ``meta`` device (every parameter swapped for a meta tensor; shapes propagate, no arithmetic), and
the losses run on the CPU on leaf tensors of the head's output shapes and dtype, with the real targets of a sample.

* float32: the model as configured.
* mixed precision: the network's floating-point parameters and input in the autocast dtype (float16 / bfloat16
  store 2 bytes alike). Under ``torch.autocast`` convolutions, batch norm, ReLU, the fusion adds and upsampling then
  produce and keep the same 2-byte tensors; on top autocast keeps a 2-byte copy of every weight for the step, added
  to the fixed cost (``weight_copies`` = 2 bytes x parameters). On CUDA, :func:`activation_bytes_per_sample` with
  ``device='cuda'`` measures under real autocast instead (on this project's CPU machine, autocast kernels for 2-byte
  types are emulated: one W32-512 forward took minutes).
* gradient checkpointing (``with_cp``): only each checkpointed block's input is saved; the block runs again during
  backward (peak memory then also holds one block's activations; not counted).

**Largest batch** for a card of ``M`` bytes: ``floor((M - reserve - 16 P - weight copies) / activation bytes per
sample)`` with ``P`` parameters: float32 weights, gradients and Adam's two moments are ``4 + 4 + 8`` bytes per
parameter. ``reserve`` (default 1 GiB) stands for the CUDA context, cuDNN workspaces, allocator fragmentation and
the transient gradient buffers of backward, which saved-tensor bytes do not cover; on a GPU, compare with the
``max_memory_allocated`` column.
"""
import math
from typing import Callable, Dict, Optional, Sequence

import torch
from torch import nn

GIB = 2**30
OPTIMIZER_BYTES_PER_PARAM = 16  # float32 weight + gradient + Adam exp_avg + exp_avg_sq


def saved_tensor_bytes(fn: Callable[[], object],
                       model: nn.Module,
                       autocast_dtype: Optional[torch.dtype] = None,
                       exclude: Optional[Sequence[torch.Tensor]] = None) -> Dict[str, int]:
    """Bytes autograd saves for backward while ``fn()`` runs (``exclude``: the tensors standing for the parameters
    and buffers, default ``model``'s own).

    Returns:
        ``activations`` (bytes, unique storages, parameters/buffers and weight copies excluded), ``weight_copies``
        (bytes of autocast weight casts), ``tensors`` (number of unique activation storages).
    """
    tensors = list(exclude) if exclude is not None else list(model.parameters()) + list(model.buffers())
    own = {t.untyped_storage()._cdata for t in tensors}
    param_shapes = {tuple(p.shape) for p in model.parameters()}
    storages: Dict[int, int] = {}
    copies: Dict[int, int] = {}

    def pack(t: torch.Tensor) -> torch.Tensor:
        storage = t.untyped_storage()
        ptr = storage._cdata  # the StorageImpl: shared by views and in-place results, also on the meta device
        if ptr in own:
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


def _loss_on_outputs(model: nn.Module, outputs: Sequence[torch.Tensor], data_samples) -> torch.Tensor:
    """``model.head.loss`` with the head's forward replaced by ``outputs`` (the losses' own saved tensors)."""
    head = model.head
    head.forward = lambda feats: tuple(outputs)
    try:
        losses = head.loss(None, data_samples, train_cfg=model.train_cfg)
    finally:
        del head.forward
    return sum(v for v in losses.values() if isinstance(v, torch.Tensor))


def activation_bytes_per_sample(model: nn.Module,
                                data: dict,
                                dtype: Optional[torch.dtype] = None,
                                checkpointing: bool = False) -> Dict[str, int]:
    """Activation bytes of one training forward on the preprocessed batch-1 ``data`` (module docstring).

    Args:
        model: the estimator (its parameters stay untouched; train mode is set).
        data: ``model.data_preprocessor(batch, training=True)`` of one sample.
        dtype: ``None`` for float32, else the mixed-precision dtype.
        checkpointing: switch ``with_cp`` on (:func:`set_checkpointing`) for the measurement.

    Returns:
        ``activations`` (bytes), ``network`` / ``losses`` (its two parts), ``weight_copies`` (bytes autocast adds
        for the step) and ``tensors``, ``method`` (``'meta'`` or ``'autocast'``).
    """
    model.train()
    set_checkpointing(model, checkpointing)
    inputs, samples = data['inputs'], data['data_samples']
    try:
        if inputs.device.type == 'cuda':  # real autocast on the device

            def forward():
                with torch.autocast('cuda', dtype=dtype, enabled=dtype is not None):
                    return model.loss(inputs, samples)

            measured = saved_tensor_bytes(lambda: sum(forward().values()), model, dtype)
            return dict(measured, network=None, losses=None, method='autocast')

        def cast(t: torch.Tensor) -> torch.Tensor:
            out = torch.empty_like(t, device='meta', dtype=dtype if dtype and t.is_floating_point() else t.dtype)
            return out.requires_grad_(t.requires_grad)

        state = {f'model.{n}': cast(t) for n, t in list(model.named_parameters()) + list(model.named_buffers())}
        meta_inputs = torch.empty_like(inputs, device='meta', dtype=dtype or inputs.dtype)
        outputs = []

        def network():
            outputs.extend(torch.func.functional_call(_NetworkForward(model), state, (meta_inputs, )))
            return outputs

        net = saved_tensor_bytes(network, model, exclude=list(state.values()))
        leaves = [torch.zeros(o.shape, dtype=o.dtype, requires_grad=True) for o in outputs]
        losses = saved_tensor_bytes(lambda: _loss_on_outputs(model, leaves, samples), model, exclude=leaves)
        num_params = sum(p.numel() for p in model.parameters())
        return dict(
            activations=net['activations'] + losses['activations'],
            network=net['activations'],
            losses=losses['activations'],
            weight_copies=2 * num_params if dtype else 0,
            tensors=net['tensors'] + losses['tensors'],
            method='meta')
    finally:
        set_checkpointing(model, False)


class _NetworkForward(nn.Module):
    """``model._forward`` (backbone + head) as a module, for ``functional_call``."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, inputs: torch.Tensor):
        return self.model._forward(inputs)


def largest_batch(memory_gb: float,
                  num_params: int,
                  per_sample: int,
                  weight_copies: int = 0,
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
