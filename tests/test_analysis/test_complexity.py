"""Parameter counts (spec 1.5) and FLOP conventions of the real configs (swahr_mmpose.analysis.complexity), and the
tools/get_flops.py command line over it."""
import functools
import json
import os.path as osp
import runpy

import pytest
import torch
from mmengine.config import Config
from mmpose.apis import init_model

from swahr_mmpose.analysis import complexity

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIGS = {
    (32, True): 'configs/swahr_hrnet_w32_coco.py',
    (32, False): 'configs/higherhrnet_hrnet_w32_coco.py',
    (48, True): 'configs/swahr_hrnet_w48_coco.py',
    (48, False): 'configs/higherhrnet_hrnet_w48_coco.py',
}


@functools.lru_cache(maxsize=None)
def network(width: int, with_scale: bool = True, num_keypoints: int = 17):
    """The config's pose estimator, built once per variant for the whole file (tests only read it)."""
    path = 'configs/swahr_hrnet_w48_crowdpose.py' if num_keypoints == 14 else CONFIGS[(width, with_scale)]
    return init_model(Config.fromfile(osp.join(REPO, path)), checkpoint=None, device='cpu')


# (width, with_scale, K) -> parameters measured on the official model (spec 1.5)
SPEC_PARAMS = {
    (32, True, 17): 28_649_309,
    (32, False, 17): 28_645_331,
    (48, True, 17): 63_831_661,
    (48, False, 17): 63_827_139,
    (48, True, 14): 63_825_814,
}


@pytest.mark.parametrize('variant', list(SPEC_PARAMS))
def test_parameter_counts_match_official(variant):
    width, with_scale, k = variant
    params = complexity.count_parameters(network(*variant))
    assert params['total'] == SPEC_PARAMS[variant]
    assert params['total'] == params['backbone'] + params['head']
    # spec 1.5: each scale branch = 1x1 conv + bias, BN, depthwise 9x9 + bias
    per_branch = width * k + k + 2 * k + k * 81 + k
    assert params['scale_branches'] == (2 * per_branch if with_scale else 0)


def _scale_branch_macs(width, k, h, w):
    """1x1 conv C->K + depthwise 9x9 at 1/4 and 1/2 resolution."""
    return (width * k + 81 * k) * ((h // 4) * (w // 4) + (h // 2) * (w // 2))


# papers' GFLOPs (SWAHR README, spec 8): rounded to 0.1 G
@pytest.mark.parametrize('width,with_scale,size,paper', [
    (32, True, 512, 48.0),
    (32, False, 512, 47.9),
    (48, True, 640, 154.6),
    (48, False, 640, 154.3),
])
def test_official_convention_reproduces_paper_gflops(width, with_scale, size, paper):
    net = network(width, with_scale)
    flops = complexity.official_convention_flops(net, (1, 3, size, size))
    assert round(flops / 1e9, 1) == paper
    # the network itself is untouched (the count runs on meta tensors)
    assert next(net.parameters()).device.type == 'cpu'


def test_official_convention_scales_and_scale_branch_cost():
    swahr, higher = network(32, True), network(32, False)
    f = complexity.official_convention_flops
    # every layer's cost is proportional to the input area (multiples of 64)
    assert f(swahr, (1, 3, 512, 512)) == 16 * f(swahr, (1, 3, 128, 128))
    assert f(swahr, (1, 3, 256, 384)) - f(higher, (1, 3, 256, 384)) == \
        _scale_branch_macs(32, 17, 256, 384)


def test_mmengine_count_vs_official_convention():
    """The two conventions differ by BN + upsampling and the 4x deconv."""
    size = 64
    result = complexity.mmengine_flops(network(32), (1, 3, size, size))
    official = complexity.official_convention_flops(network(32), (1, 3, size, size))
    ops = result['by_operator']
    assert set(ops) == {'conv', 'batch_norm', 'upsample_nearest2d'}
    assert result['total'] == sum(ops.values())
    assert result['total'] == result['backbone'] + result['head']
    c, k = 32, 17
    deconv_true_macs = (c + 2 * k) * c * 16 * (size // 4)**2
    assert result['deconv'] == deconv_true_macs
    # official counts the stride-2 transposed conv at its output size (4x)
    assert official == ops['conv'] + 3 * deconv_true_macs
    assert result['scale_branches'] > _scale_branch_macs(c, k, size, size)


def test_tensor_forward_is_the_heads_tuple():
    out = complexity.meta_forward(complexity._TensorForward(network(32)), torch.empty(1, 3, 128, 192, device='meta'))
    assert [tuple(o.shape) for o in out] == [
        (1, 17, 32, 48),
        (1, 17, 64, 96),  # heatmaps per level
        (1, 17, 32, 48),  # tags
        (1, 17, 32, 48),
        (1, 17, 64, 96),  # scale maps per level
    ]
    higher = complexity._TensorForward(network(32, False))
    assert len(complexity.meta_forward(higher, torch.empty(1, 3, 64, 64, device='meta'))) == 3
    # the real network is untouched by meta runs
    assert all(p.device.type == 'cpu' for p in network(32).parameters())


def test_cli(tmp_path, capsys):
    out_json = tmp_path / 'flops.json'
    tool = runpy.run_path(osp.join(REPO, 'tools', 'get_flops.py'))
    config = osp.join(REPO, CONFIGS[(32, True)])
    assert tool['main']([config, '--input-size', '128', '192', '--skip-mmengine', '--json', str(out_json)]) == 0
    text = capsys.readouterr().out
    assert 'Parameters: 28,649,309' in text
    assert 'Input shape: (1, 3, 128, 192)' in text
    data = json.loads(out_json.read_text())
    assert data['params']['total'] == 28_649_309
    assert data['official_flops'] == complexity.official_convention_flops(network(32), (1, 3, 128, 192))
    assert 'mmengine_flops' not in data
