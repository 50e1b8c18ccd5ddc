"""SWAHRHead: output contract (a plain, traceable tuple), init, losses, gradient flow and config checks."""
import copy

import numpy as np
import pytest
import torch
from mmengine.structures import InstanceData
from mmpose.registry import MODELS
from mmpose.structures import MultilevelPixelData, PoseDataSample

from swahr_mmpose.models.heads import SWAHRHead
from swahr_mmpose.testing import tiny_hrnet

K = 17


def build_model(with_scale=True, num_keypoints=K, width=8):
    cfg = dict(
        type='BottomupPoseEstimator',
        data_preprocessor=dict(
            type='PoseDataPreprocessor', mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375], bgr_to_rgb=True),
        backbone=tiny_hrnet(width),
        head=dict(type='SWAHRHead', in_channels=width, num_keypoints=num_keypoints, with_scale=with_scale))
    model = MODELS.build(cfg)
    model.init_weights()
    return model


def make_sample(input_size=64, num_people=3, seed=0, k=K) -> PoseDataSample:
    """A data sample with Gaussian GT at 1/4 and 1/2 res and AE indices."""
    rng = np.random.default_rng(seed)
    sizes = [input_size // 4, input_size // 2]
    heatmaps, masks = [], []
    for s in sizes:
        hm = np.zeros((k, s, s), np.float32)
        ys, xs = np.mgrid[:s, :s]
        for _ in range(num_people):
            cx, cy = rng.uniform(2, s - 2, size=2)
            hm = np.maximum(hm, np.exp(-((xs - cx)**2 + (ys - cy)**2) / 8.0)[None])
        heatmaps.append(hm.astype(np.float32))
        mask = np.ones((s, s), np.float32)
        mask[:2, :2] = 0
        masks.append(mask)
    s0 = sizes[0]
    xy = rng.integers(0, s0, size=(num_people, k, 2))
    valid = rng.random((num_people, k)) > 0.2
    indices = np.stack([xy[..., 1] * s0 + xy[..., 0], valid], -1).astype(np.int64)
    sample = PoseDataSample(metainfo=dict(input_size=(input_size, input_size)))
    sample.gt_fields = MultilevelPixelData(heatmaps=heatmaps, heatmap_mask=masks).to_tensor()
    sample.gt_instance_labels = InstanceData(
        keypoint_indices=indices, keypoint_weights=valid.astype(np.float32)).to_tensor()
    return sample


@pytest.mark.parametrize('with_scale', [True, False])
def test_forward_structure_and_shapes(with_scale):
    model = build_model(with_scale)
    out = model(torch.randn(2, 3, 64, 96), None, mode='tensor')
    assert type(out) is tuple and all(isinstance(t, torch.Tensor) for t in out)
    shapes = [tuple(t.shape) for t in out]
    # (heatmaps_0, heatmaps_1, tags[, scales_0, scales_1]); tags channels-first, one map per joint
    assert shapes[:3] == [(2, K, 16, 24), (2, K, 32, 48), (2, K, 16, 24)]
    heatmaps, tags, scales = model.head.split_outputs(out)
    assert heatmaps[0] is out[0] and heatmaps[1] is out[1] and tags is out[2]
    if with_scale:
        assert shapes[3:] == [(2, K, 16, 24), (2, K, 32, 48)]
        assert scales[0] is out[3] and scales[1] is out[4]
        # The scale branches' last conv is zero-initialised: s == 0 exactly.
        assert all(torch.count_nonzero(s) == 0 for s in scales)
    else:
        assert len(out) == 3 and scales is None
        assert not hasattr(model.head, 'conv_scale_layers')


@pytest.mark.parametrize('with_scale', [True, False])
def test_forward_is_traceable(with_scale):
    """A plain tuple of tensors: torch.jit.trace reproduces it (what FLOP counting and ONNX export need)."""
    model = build_model(with_scale).eval()

    class Network(torch.nn.Module):  # backbone + head, as exporters see them

        def __init__(self):
            super().__init__()
            self.model = model

        def forward(self, inputs):
            return self.model(inputs, None, mode='tensor')

    x = torch.randn(1, 3, 64, 64)
    traced = torch.jit.trace(Network(), (x, ))
    for a, b in zip(traced(x), model(x, None, mode='tensor')):
        torch.testing.assert_close(a, b)


def test_deconv_input_excludes_scale_maps():
    """Level 1 must not change when only the scale branches change."""
    model = build_model(True).eval()
    x = torch.randn(1, 3, 64, 64)
    before = model(x, None, mode='tensor')
    with torch.no_grad():
        for branch in model.head.conv_scale_layers:
            branch[-1].weight.normal_()
    after = model(x, None, mode='tensor')
    torch.testing.assert_close(after[1], before[1])  # level-1 heatmaps
    assert torch.count_nonzero(after[3]) > 0  # level-0 scale maps


def test_parameter_layout_matches_official_keys():
    head = build_model(True, width=32).head
    shapes = {k: tuple(v.shape) for k, v in head.state_dict().items()}
    assert shapes['final_layers.0.weight'] == (34, 32, 1, 1)
    assert shapes['final_layers.1.weight'] == (17, 32, 1, 1)
    assert shapes['deconv_layers.0.0.0.weight'] == (66, 32, 4, 4)
    assert shapes['deconv_layers.0.4.0.conv2.weight'] == (32, 32, 3, 3)
    assert shapes['conv_scale_layers.1.0.weight'] == (17, 32, 1, 1)
    assert shapes['conv_scale_layers.1.3.weight'] == (17, 1, 9, 9)
    scale_params = sum(v.numel() for k, v in head.named_parameters() if k.startswith('conv_scale_layers'))
    assert scale_params == 3978  # spec 1.5: 2 x (32*17+17 + 2*17 + 17*81+17)
    # 18 conv_scale_layers entries incl. BN buffers (spec 1.6).
    assert sum(k.startswith('conv_scale_layers') for k in shapes) == 18


def test_loss_keys_and_values():
    model = build_model(True)
    samples = [make_sample(seed=i) for i in range(2)]
    inputs = torch.randn(2, 3, 64, 64)
    losses = model(inputs, samples, mode='loss')
    assert set(losses) == {
        'loss_heatmap_l0', 'loss_scale_l0', 'loss_heatmap_l1', 'loss_scale_l1', 'loss_ae_pull', 'loss_ae_push'
    }
    assert losses['loss_scale_l0'].item() == 0.0  # s == 0 at init
    assert losses['loss_heatmap_l0'].item() > 0
    # With s == 0 the heatmap loss is the WAHR-weighted masked MSE vs G.
    out = model(inputs, None, mode='tensor')
    gt = torch.stack([s.gt_fields[0].heatmaps for s in samples])
    mask = torch.stack([s.gt_fields[0].heatmap_mask for s in samples])[:, None]
    pred = out[0]
    g_gamma = gt.pow(0.01)
    weight = (1 - pred).abs() * g_gamma + pred.abs() * (1 - g_gamma)
    expected = (mask * weight * (pred - gt)**2).mean(dim=(1, 2, 3)).mean()
    torch.testing.assert_close(losses['loss_heatmap_l0'], expected)

    baseline = build_model(False)
    assert set(baseline(inputs, samples,
                        mode='loss')) == {'loss_heatmap_l0', 'loss_heatmap_l1', 'loss_ae_pull', 'loss_ae_push'}


def test_gradient_reaches_scale_branches_after_one_step():
    torch.manual_seed(0)
    model = build_model(True)
    model.train()
    samples = [make_sample(seed=i) for i in range(2)]
    inputs = torch.randn(2, 3, 64, 64)
    optim = torch.optim.Adam(model.parameters(), lr=1e-3)

    def scale_grads():
        optim.zero_grad()
        losses = model(inputs, copy.deepcopy(samples), mode='loss')
        sum(losses.values()).backward()
        branch = model.head.conv_scale_layers[0]
        return branch[0].weight.grad.abs().sum().item(), branch[3].weight.grad.abs().sum().item()

    first_conv, last_conv = scale_grads()
    # At init s == 0: the zero last conv blocks gradients to the layers before
    # it, but receives gradient itself (dT/ds = G ln G != 0 inside windows).
    assert first_conv == 0.0
    assert last_conv > 0.0
    optim.step()
    first_conv, last_conv = scale_grads()
    assert first_conv > 0.0 and last_conv > 0.0
    _, _, scales = model.head.split_outputs(model(inputs, None, mode='tensor'))
    assert torch.count_nonzero(scales[0]) > 0


def test_loss_rejects_wrong_targets_with_the_setting_to_change():
    model = build_model(True)
    with pytest.raises(ValueError, match=r"level 0 target heatmaps .* codec's heatmap_size"):
        model(torch.randn(1, 3, 64, 64), [make_sample(input_size=128, seed=0)], mode='loss')
    with pytest.raises(ValueError, match=r'targets have K=14 joints .* model.head.num_keypoints'):
        model(torch.randn(1, 3, 64, 64), [make_sample(seed=0, k=14)], mode='loss')
    one_level = make_sample(seed=0)
    one_level.gt_fields = MultilevelPixelData(
        heatmaps=[one_level.gt_fields[0].heatmaps], heatmap_mask=[one_level.gt_fields[0].heatmap_mask])
    with pytest.raises(ValueError, match=r'ground truth at 2 levels .* 1 level\(s\)'):
        model(torch.randn(1, 3, 64, 64), [one_level], mode='loss')


def test_decoder_must_describe_the_head():
    codec = dict(type='MultiLevelAssociativeEmbedding', input_size=64, heatmap_size=[(16, 16), (32, 32)])
    SWAHRHead(in_channels=8, num_keypoints=K, decoder=dict(codec, num_keypoints=K))
    with pytest.raises(ValueError, match=r'num_keypoints=17 but its codec .* num_keypoints=14'):
        SWAHRHead(in_channels=8, num_keypoints=K, decoder=dict(codec, num_keypoints=14))
    with pytest.raises(ValueError, match='predicts 2 heatmap levels'):
        SWAHRHead(in_channels=8, num_keypoints=K, decoder=dict(codec, heatmap_size=(16, 16)))
    with pytest.raises(ValueError, match=r'doubles the resolution'):
        SWAHRHead(in_channels=8, num_keypoints=K, decoder=dict(codec, heatmap_size=[(16, 16), (16, 16)]))


def test_unknown_test_cfg_key_is_rejected():
    cfg = dict(
        type='MultiScaleBottomupPoseEstimator',
        backbone=tiny_hrnet(8),
        head=dict(type='SWAHRHead', in_channels=8, num_keypoints=K),
        test_cfg=dict(flip_tset=True))
    with pytest.raises(ValueError, match=r"unknown key\(s\) \['flip_tset'\]"):
        MODELS.build(cfg)


@pytest.mark.parametrize('num_keypoints,width', [(17, 32), (17, 48), (14, 48)])
def test_full_width_head_shapes(num_keypoints, width):
    """W32 / W48 COCO and W48 CrowdPose heads on stand-in 1/4-res features."""
    head = SWAHRHead(in_channels=width, num_keypoints=num_keypoints)
    head.init_weights()
    out = head((torch.randn(1, width, 20, 20), ))
    assert [tuple(h.shape) for h in out[:2]] == [(1, num_keypoints, 20, 20), (1, num_keypoints, 40, 40)]
    assert head.deconv_layers[0][0][0].weight.shape == (width + 2 * num_keypoints, width, 4, 4)


def test_depthwise_scale_conv_equals_the_plain_convolution():
    """The scale branch's channels-last depthwise conv (a CPU speed-up) computes the plain convolution."""
    from swahr_mmpose.models.heads.swahr_head import DepthwiseConv2d

    torch.manual_seed(0)
    conv = DepthwiseConv2d(5, 5, 9, padding=4, groups=5)
    plain = torch.nn.Conv2d(5, 5, 9, padding=4, groups=5)
    plain.load_state_dict(conv.state_dict())
    x = torch.randn(2, 5, 20, 24, requires_grad=True)
    y = conv(x)
    assert y.is_contiguous()
    torch.testing.assert_close(y, plain(x), rtol=1e-5, atol=1e-6)
    grad, = torch.autograd.grad(y.square().sum(), conv.weight)
    grad_plain, = torch.autograd.grad(plain(x).square().sum(), plain.weight)
    torch.testing.assert_close(grad, grad_plain, rtol=1e-4, atol=1e-5)


def test_shift_width_moves_columns_with_linear_interpolation():
    from swahr_mmpose.models.heads.swahr_head import shift_width

    maps = torch.arange(12.0).reshape(1, 2, 6)  # rows [0..5], [6..11]
    assert torch.equal(shift_width(maps, 0.0), maps)
    assert torch.equal(shift_width(maps, 1.0)[0, 0], torch.tensor([0., 0., 1., 2., 3., 4.]))  # edge repeated
    assert torch.equal(shift_width(maps, -2.0)[0, 1], torch.tensor([8., 9., 10., 11., 11., 11.]))
    torch.testing.assert_close(shift_width(maps, -0.5)[0, 0], torch.tensor([0.5, 1.5, 2.5, 3.5, 4.5, 5.0]))
    torch.testing.assert_close(shift_width(maps, 0.25)[0, 0], torch.tensor([0., 0.75, 1.75, 2.75, 3.75, 4.75]))


def test_flip_shift_moves_only_the_flipped_pass():
    """test_cfg.flip_shift (level-1 px) shifts the flipped-back heatmaps and tags before the passes are combined;
    0 is the reference aggregation."""
    from mmpose.models.utils.tta import aggregate_heatmaps, flip_heatmaps

    from swahr_mmpose.models.heads.swahr_head import shift_width

    torch.manual_seed(0)
    model = build_model().eval()
    for p in model.head.parameters():  # N(0, 0.001) init gives flat maps; scaled weights make them vary
        p.data.mul_(30.0)
    flip_indices = [0, 2, 1, 4, 3, 6, 5, 8, 7, 10, 9, 12, 11, 14, 13, 16, 15]
    image = torch.rand(1, 3, 64, 64)
    head = model.head
    with torch.no_grad():
        passes = [model.extract_feat(image), model.extract_feat(image.flip(-1))]
        reference = head.aggregate_passes(passes, (64, 64), flip_indices)
        shifted = head.aggregate_passes(passes, (64, 64), flip_indices, flip_shift=-0.5)
        plain_hm, plain_tags = head._average_levels(passes[0], False)
        flip_hm, flip_tags = head._average_levels(passes[1], False)
        flip_hm = shift_width(flip_heatmaps(flip_hm, flip_indices, shift_heatmap=False), -0.5)
        flip_tags = shift_width(flip_heatmaps(flip_tags, flip_indices, shift_heatmap=False), -0.5)
    torch.testing.assert_close(shifted[0], aggregate_heatmaps([plain_hm, flip_hm], (64, 64), False, mode='average'))
    torch.testing.assert_close(shifted[1], aggregate_heatmaps([plain_tags, flip_tags], (64, 64), False, mode='concat'))
    assert not torch.allclose(shifted[0], reference[0])
    torch.testing.assert_close(shifted[1][:, :K], reference[1][:, :K])  # the plain pass's tags are untouched
