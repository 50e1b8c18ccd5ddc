"""Parameters and GFLOPs of a SWAHR / HigherHRNet network (backbone + head).

Usage::

    python tools/get_flops.py CONFIG [--input-size 512 [W]] [--json OUT]

Counts one forward pass of backbone + head on a (1, 3, H, W) input: no flip,
no test-time aggregation, no decoding. Two FLOP numbers are printed:

* **MMEngine** (``mmengine.analysis.FlopAnalyzer``, fvcore rules): 1 FLOP = 1
  multiply-add; convs, BatchNorm and the nearest upsampling in HRNet's fusion
  layers are counted; a transposed conv costs ``weight.numel() * H_in * W_in``
  (its true multiply-adds).
* **official** (the convention of HigherHRNet's ``get_model_summary``, which
  produced the GFLOPs in the HigherHRNet and SWAHR papers): multiply-adds of
  Conv* and Linear layers only, each conv counted as ``weight.numel() *
  H_out * W_out``. For the stride-2 ConvTranspose2d of the deconv module that
  is 4x its real cost, which is most of the gap between the two numbers.
"""
import argparse
import copy
import json
import os.path as osp
import sys
from typing import Dict, Sequence, Tuple

import torch
from torch import Tensor, nn

REPO_ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
if REPO_ROOT not in sys.path:  # run from a checkout without `pip install -e .`
    sys.path.insert(0, REPO_ROOT)


class NetworkForward(nn.Module):
    """Backbone + head as one module returning a flat tuple of tensors.

    ``SWAHRHead.forward`` returns a NamedTuple of lists (``SWAHROutputs``),
    which the JIT tracer behind MMEngine's analyzers cannot return; the order
    here is heatmaps (per level), tags, then scale maps (per level, SWAHR only).
    """

    def __init__(self, pose_model: nn.Module):
        super().__init__()
        self.backbone = pose_model.backbone
        self.neck = getattr(pose_model, 'neck', None)
        self.head = pose_model.head

    def forward(self, inputs: Tensor) -> Tuple[Tensor, ...]:
        """inputs: (B, 3, H, W) normalised images."""
        feats = self.backbone(inputs)
        if self.neck is not None:
            feats = self.neck(feats)
        outputs = self.head(feats)
        flat = list(outputs.heatmaps) + [outputs.tags]
        if outputs.scales is not None:
            flat += list(outputs.scales)
        return tuple(flat)


def build_network(config) -> NetworkForward:
    """Build ``config``'s model (decoder dropped: it has no weights or FLOPs)."""
    from mmengine.config import Config
    from mmengine.utils import import_modules_from_strings
    from mmpose.registry import MODELS
    from mmpose.utils import register_all_modules

    import swahr_mmpose  # noqa: F401  registers SWAHRHead etc.

    cfg = config if isinstance(config, Config) else Config.fromfile(config)
    if cfg.get('custom_imports'):
        import_modules_from_strings(**cfg.custom_imports)
    register_all_modules(init_default_scope=True)
    model_cfg = copy.deepcopy(cfg.model)
    model_cfg.head.decoder = None
    return NetworkForward(MODELS.build(model_cfg)).eval()


def count_parameters(network: NetworkForward) -> Dict[str, int]:
    """Parameter counts: total, backbone, head and SWAHR's scale branches."""

    def numel(module) -> int:
        return sum(p.numel() for p in module.parameters()) if module else 0

    return dict(
        total=numel(network),
        backbone=numel(network.backbone),
        head=numel(network.head),
        scale_branches=numel(getattr(network.head, 'conv_scale_layers', None)))


def official_convention_flops(network: nn.Module,
                              input_shape: Sequence[int]) -> int:
    """Multiply-adds as HigherHRNet's ``get_model_summary`` counts them.

    Every ``Conv*`` layer: ``weight.numel() * prod(output spatial size)``
    (also for transposed convs); Linear: ``output.numel() * in_features``.
    Runs on ``meta`` tensors (shapes only, no arithmetic; see
    :func:`meta_forward`).
    """
    total = 0

    def hook(module, inputs, output):
        nonlocal total
        if isinstance(module, nn.Linear):
            total += output.numel() * module.in_features
        else:
            total += module.weight.numel() * output.shape[2:].numel()

    handles = [
        m.register_forward_hook(hook) for m in network.modules()
        if isinstance(m, (nn.Linear, nn.modules.conv._ConvNd))
    ]
    try:
        with torch.no_grad():
            meta_forward(network, torch.empty(*input_shape, device='meta'))
    finally:
        for h in handles:
            h.remove()
    return int(total)


def meta_forward(network: nn.Module, inputs: Tensor):
    """Run ``network`` with every parameter and buffer swapped for a ``meta``
    tensor of the same shape: shapes propagate, nothing is computed or copied,
    and the network itself is left untouched."""
    meta_state = {
        name: torch.empty_like(t, device='meta')
        for name, t in list(network.named_parameters()) +
        list(network.named_buffers())
    }
    return torch.func.functional_call(network, meta_state, (inputs, ))


def mmengine_flops(network: NetworkForward,
                   input_shape: Sequence[int]) -> Dict[str, object]:
    """MMEngine's FlopAnalyzer on a random input on the network's device."""
    from mmengine.analysis import FlopAnalyzer

    device = next(network.parameters()).device
    inputs = torch.randn(*input_shape, device=device)
    with torch.no_grad():
        analyzer = FlopAnalyzer(network, (inputs, ))
        analyzer.unsupported_ops_warnings(False)  # elementwise adds: 0 FLOPs
        analyzer.uncalled_modules_warnings(False)  # the loss modules
        by_module = analyzer.by_module()
        return dict(
            total=int(analyzer.total()),
            by_operator={k: int(v) for k, v in analyzer.by_operator().items()},
            backbone=int(by_module['backbone']),
            head=int(by_module['head']),
            scale_branches=int(by_module.get('head.conv_scale_layers', 0)),
            deconv=int(by_module['head.deconv_layers.0.0.0']))


def get_complexity(config, input_size: Tuple[int, int],
                   with_mmengine: bool = True) -> Dict[str, object]:
    """Everything :func:`main` prints, as a dict (input_size = (H, W))."""
    network = build_network(config)
    input_shape = (1, 3, *input_size)
    result: Dict[str, object] = dict(
        input_shape=list(input_shape),
        params=count_parameters(network),
        official_flops=official_convention_flops(network, input_shape))
    if with_mmengine:
        result['mmengine_flops'] = mmengine_flops(network, input_shape)
    return result


def _g(value: int) -> str:
    return f'{value / 1e9:.2f} G'


def format_report(config: str, result: Dict[str, object]) -> str:
    params = result['params']
    lines = [
        f'Config: {config}',
        f'Input shape: {tuple(result["input_shape"])}',
        f'Parameters: {params["total"]:,} (backbone {params["backbone"]:,}, '
        f'head {params["head"]:,}, of which SWAHR scale branches '
        f'{params["scale_branches"]:,})',
    ]
    mm = result.get('mmengine_flops')
    if mm:
        ops = ', '.join(f'{k} {_g(v)}' for k, v in mm['by_operator'].items())
        lines += [
            f'FLOPs (MMEngine FlopAnalyzer, 1 FLOP = 1 multiply-add): '
            f'{_g(mm["total"])}  [{ops}]',
            f'  backbone {_g(mm["backbone"])}, head {_g(mm["head"])}, '
            f'scale branches {_g(mm["scale_branches"])}, '
            f'transposed conv {_g(mm["deconv"])}',
        ]
    lines.append(
        'FLOPs (official HigherHRNet/SWAHR convention, as the papers\' '
        f'"GFLOPs"): {_g(result["official_flops"])}  [conv multiply-adds '
        'only, transposed conv counted at its output resolution]')
    return '\n'.join(lines)


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Parameters and FLOPs of backbone + head (no decoding).')
    parser.add_argument('config', help='model config file')
    parser.add_argument(
        '--input-size',
        type=int,
        nargs='+',
        default=[512],
        help='input height [width] in px (default 512; the papers use 512 '
        'for W32 and 640 for W48)')
    parser.add_argument(
        '--skip-mmengine',
        action='store_true',
        help='only parameters and the official-convention count (no trace)')
    parser.add_argument('--json', help='also write the numbers to this file')
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    if len(args.input_size) not in (1, 2):
        raise SystemExit('--input-size takes H or H W')
    size = tuple(args.input_size) * (3 - len(args.input_size))
    result = get_complexity(args.config, size, not args.skip_mmengine)
    print(format_report(args.config, result))
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(dict(config=args.config, **result), f, indent=2)
    return 0


if __name__ == '__main__':
    sys.exit(main())
