"""ChannelsLastHook: the model's 4-D tensors change layout, not values, and training and inference give the same
numbers as in the default layout."""
import copy
from types import SimpleNamespace

import torch
from mmpose.registry import HOOKS

from tiny_synthetic import tiny_synthetic_model


def tiny_model():
    return tiny_synthetic_model(head_scale=30.0)


def test_hook_converts_in_place_and_keeps_outputs(one_torch_thread):
    model = tiny_model().eval()
    reference = copy.deepcopy(model)
    params_before = [id(p) for p in model.parameters()]
    hook = HOOKS.build(dict(type='ChannelsLastHook'))
    hook.before_val(SimpleNamespace(model=model))

    assert [id(p) for p in model.parameters()] == params_before  # an optimizer built earlier stays valid
    conv_weights = [m.weight for m in model.modules() if isinstance(m, torch.nn.Conv2d)]
    assert conv_weights and all(w.is_contiguous(memory_format=torch.channels_last) for w in conv_weights)
    assert not reference.backbone.conv1.weight.is_contiguous(memory_format=torch.channels_last)

    inputs = torch.rand(2, 3, 64, 64)
    with torch.no_grad():
        ours, theirs = model._forward(inputs), reference._forward(inputs)
    assert isinstance(ours, tuple) and len(ours) == len(theirs)
    for x, y in zip(ours, theirs):
        torch.testing.assert_close(x, y, rtol=1e-4, atol=1e-5)


def test_training_step_gives_the_same_loss_and_gradients(one_torch_thread):
    # float64: in float32 the two layouts sum in different orders, and batch norm's backward (a difference of
    # means) magnifies that to a few percent on small gradient entries; in float64 only the layout differs.
    model = tiny_model().train().double()
    reference = copy.deepcopy(model)
    HOOKS.build(dict(type='ChannelsLastHook')).before_train(SimpleNamespace(model=model))
    inputs = torch.rand(2, 3, 64, 64, dtype=torch.float64)
    feats, feats_ref = model.extract_feat(inputs), reference.extract_feat(inputs)
    out, out_ref = model.head.forward(feats), reference.head.forward(feats_ref)
    total = sum(t.square().sum() for t in out)
    total_ref = sum(t.square().sum() for t in out_ref)
    torch.testing.assert_close(total, total_ref, rtol=1e-10, atol=0)
    total.backward()
    total_ref.backward()
    for (name, p), q in zip(model.named_parameters(), reference.parameters()):
        torch.testing.assert_close(p.grad, q.grad, rtol=1e-7, atol=1e-9, msg=name)
