"""Parameters and FLOPs of a SWAHR / HigherHRNet network (backbone + head), the logic of ``tools/get_flops.py``.

One forward pass of backbone + head on a (1, 3, H, W) input is counted (``model._forward``, as MMPose's own
``get_flops.py``): no flip, no test-time aggregation, no decoding. Two FLOP numbers:

* **MMEngine** (``mmengine.analysis.FlopAnalyzer``, fvcore rules): 1 FLOP = 1 multiply-add; convs, BatchNorm and the
  nearest upsampling in HRNet's fusion layers are counted; a transposed conv costs ``weight.numel() * H_in * W_in``
  (its true multiply-adds).
* **official** (the convention of HigherHRNet's ``get_model_summary``, which produced the GFLOPs in the HigherHRNet
  and SWAHR papers): multiply-adds of Conv* and Linear layers only, each conv counted as ``weight.numel() * H_out *
  W_out``. For the stride-2 ConvTranspose2d of the deconv module that is 4x its real cost, which is most of the gap
  between the two numbers.
"""
from typing import Dict, Optional, Sequence, Tuple

import torch
from mmpose.apis import init_model
from torch import Tensor, nn


class _TensorForward(nn.Module):
    """``model._forward`` (backbone -> neck -> head, a tuple of tensors) as a module, for tracing and hooks."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, inputs: Tensor) -> Tuple[Tensor, ...]:
        return self.model._forward(inputs)


def count_parameters(model: nn.Module) -> Dict[str, int]:
    """Parameter counts: total, backbone, head and SWAHR's scale branches."""

    def numel(module: Optional[nn.Module]) -> int:
        return sum(p.numel() for p in module.parameters()) if module is not None else 0

    return dict(
        total=numel(model),
        backbone=numel(model.backbone),
        head=numel(model.head),
        scale_branches=numel(getattr(model.head, 'conv_scale_layers', None)))


def meta_forward(network: nn.Module, inputs: Tensor):
    """Run ``network`` with every parameter and buffer swapped for a ``meta`` tensor of the same shape: shapes
    propagate, nothing is computed or copied, and the network itself is left untouched."""
    meta_state = {
        name: torch.empty_like(t, device='meta')
        for name, t in list(network.named_parameters()) + list(network.named_buffers())
    }
    return torch.func.functional_call(network, meta_state, (inputs, ))


def official_convention_flops(model: nn.Module, input_shape: Sequence[int]) -> int:
    """Multiply-adds as HigherHRNet's ``get_model_summary`` counts them (see the module docstring).

    Every ``Conv*`` layer: ``weight.numel() * prod(output spatial size)`` (also for transposed convs); Linear:
    ``output.numel() * in_features``. Runs on ``meta`` tensors (shapes only).
    """
    total = 0

    def hook(module, inputs, output):
        nonlocal total
        if isinstance(module, nn.Linear):
            total += output.numel() * module.in_features
        else:
            total += module.weight.numel() * output.shape[2:].numel()

    network = _TensorForward(model)
    handles = [
        m.register_forward_hook(hook) for m in network.modules() if isinstance(m, (nn.Linear, nn.modules.conv._ConvNd))
    ]
    try:
        with torch.no_grad():
            meta_forward(network, torch.empty(*input_shape, device='meta'))
    finally:
        for h in handles:
            h.remove()
    return int(total)


def mmengine_flops(model: nn.Module, input_shape: Sequence[int]) -> Dict[str, object]:
    """MMEngine's FlopAnalyzer on a random input on the model's device."""
    from mmengine.analysis import FlopAnalyzer

    network = _TensorForward(model)
    device = next(model.parameters()).device
    inputs = torch.randn(*input_shape, device=device)
    with torch.no_grad():
        analyzer = FlopAnalyzer(network, (inputs, ))
        analyzer.unsupported_ops_warnings(False)  # elementwise adds: 0 FLOPs
        analyzer.uncalled_modules_warnings(False)  # the loss modules
        by_module = analyzer.by_module()
        return dict(
            total=int(analyzer.total()),
            by_operator={k: int(v)
                         for k, v in analyzer.by_operator().items()},
            backbone=int(by_module['model.backbone']),
            head=int(by_module['model.head']),
            scale_branches=int(by_module.get('model.head.conv_scale_layers', 0)),
            deconv=int(by_module.get('model.head.deconv_layers.0.0.0', 0)))


def get_complexity(config,
                   input_size: Tuple[int, int],
                   with_mmengine: bool = True,
                   device: str = 'cpu') -> Dict[str, object]:
    """Parameters and FLOPs of ``config``'s network for an (H, W) input, as a dict (see :func:`format_report`).

    The model is built with MMPose's ``init_model`` (no checkpoint: counts do not depend on the weights).
    """
    model = init_model(config, checkpoint=None, device=device)
    input_shape = (1, 3, *input_size)
    result: Dict[str, object] = dict(
        input_shape=list(input_shape),
        params=count_parameters(model),
        official_flops=official_convention_flops(model, input_shape))
    if with_mmengine:
        result['mmengine_flops'] = mmengine_flops(model, input_shape)
    return result


def _g(value: int) -> str:
    return f'{value / 1e9:.2f} G'


def format_report(config: str, result: Dict[str, object]) -> str:
    """The text ``tools/get_flops.py`` prints."""
    params = result['params']
    lines = [
        f'Config: {config}',
        f'Input shape: {tuple(result["input_shape"])}',
        f'Parameters: {params["total"]:,} (backbone {params["backbone"]:,}, head {params["head"]:,}, of which SWAHR '
        f'scale branches {params["scale_branches"]:,})',
    ]
    mm = result.get('mmengine_flops')
    if mm:
        ops = ', '.join(f'{k} {_g(v)}' for k, v in mm['by_operator'].items())
        lines += [
            f'FLOPs (MMEngine FlopAnalyzer, 1 FLOP = 1 multiply-add): {_g(mm["total"])}  [{ops}]',
            f'  backbone {_g(mm["backbone"])}, head {_g(mm["head"])}, scale branches {_g(mm["scale_branches"])}, '
            f'transposed conv {_g(mm["deconv"])}',
        ]
    lines.append('FLOPs (official HigherHRNet/SWAHR convention, as the papers\' "GFLOPs"): '
                 f'{_g(result["official_flops"])}  [conv multiply-adds only, transposed conv counted at its output '
                 'resolution]')
    return '\n'.join(lines)
