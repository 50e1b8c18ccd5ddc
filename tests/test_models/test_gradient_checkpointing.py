"""Gradient checkpointing (``model.backbone.with_cp`` = MMPose's HRNet switch, ``model.head.with_cp`` = SWAHRHead's
deconv block): the same losses and gradients as without it, in float64 so that only the recomputation differs, and
fewer bytes saved for backward."""
import copy

import pytest
import torch
from mmpose.registry import MODELS
from test_swahr_head import make_sample

from swahr_mmpose.benchmark.memory import saved_tensor_bytes
from swahr_mmpose.testing import tiny_hrnet

pytestmark = pytest.mark.usefixtures('one_torch_thread')


def build(with_cp: bool):
    torch.manual_seed(0)
    backbone = dict(tiny_hrnet(8), with_cp=with_cp)
    model = MODELS.build(
        dict(
            type='BottomupPoseEstimator',
            data_preprocessor=dict(type='PoseDataPreprocessor', mean=[0, 0, 0], std=[1, 1, 1]),
            backbone=backbone,
            head=dict(type='SWAHRHead', in_channels=8, num_keypoints=17, with_cp=with_cp)))
    model.init_weights()
    for p in model.head.parameters():  # non-trivial maps and scale branches (the reference init is near zero)
        p.data.add_(0.05 * torch.randn_like(p))
    return model.double().train()


def losses_and_grads(model, inputs, samples):
    losses = model.loss(inputs, samples)
    sum(losses.values()).backward()
    return ({k: v.detach()
             for k, v in losses.items()},
            {n: p.grad.clone()
             for n, p in model.named_parameters() if p.grad is not None})


def test_checkpointing_gives_the_same_losses_and_gradients_in_float64():
    plain, checkpointed = build(False), build(True)
    checkpointed.load_state_dict(plain.state_dict())
    assert checkpointed.head.with_cp and checkpointed.backbone.with_cp
    inputs = torch.rand(2, 3, 64, 64, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    samples = [make_sample(64, seed=s) for s in (0, 1)]
    for sample in samples:
        sample.gt_fields = sample.gt_fields.to(torch.float64)
    ref_losses, ref_grads = losses_and_grads(plain, inputs, copy.deepcopy(samples))
    losses, grads = losses_and_grads(checkpointed, inputs, copy.deepcopy(samples))
    assert losses.keys() == ref_losses.keys() and len(losses) == 6
    for k in losses:
        torch.testing.assert_close(losses[k], ref_losses[k], rtol=1e-12, atol=1e-15)
    assert grads.keys() == ref_grads.keys()
    assert any(n.startswith('head.deconv_layers') for n in grads) and any(n.startswith('backbone.') for n in grads)
    for n in grads:
        torch.testing.assert_close(grads[n], ref_grads[n], rtol=1e-9, atol=1e-12, msg=n)


def test_checkpointing_saves_fewer_bytes_for_backward_and_only_while_training():
    model = build(False).float()
    inputs = torch.rand(1, 3, 64, 64)
    samples = [make_sample(64)]

    def forward():
        return sum(model.loss(inputs, samples).values())

    plain = saved_tensor_bytes(forward, model)['activations']
    model.head.with_cp = True
    head_only = saved_tensor_bytes(forward, model)['activations']
    for m in model.backbone.modules():  # what HRNet(with_cp=True) sets on its blocks
        if hasattr(m, 'with_cp'):
            m.with_cp = True
    both = saved_tensor_bytes(forward, model)['activations']
    # the tiny HRNet has one block per branch, so its stem, transitions and fusions (never checkpointed) weigh more
    # than in W32 / W48; docs/benchmark.md has the real models' savings
    assert 0 < both < head_only < 0.9 * plain
    model.eval()  # inference never checkpoints: no graph to save
    with torch.no_grad():
        model._forward(inputs)
