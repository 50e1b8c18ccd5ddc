"""WeightAdaptiveMSELoss and ScaleRegularizationLoss against the reference formulas
(docs/reference_behaviour.md#4-loss), written out independently here in NumPy float64."""
import numpy as np
import pytest
import torch
from mmpose.models.losses import KeypointMSELoss
from mmpose.registry import MODELS

from swahr_mmpose.models.losses import ScaleRegularizationLoss, WeightAdaptiveMSELoss


# --------------------------------------------------------------------------------------------------------------------
# Independent reference (spec §3), float64 NumPy, per sample.
def reference_losses_np(pred,
                        gt,
                        scale,
                        mask,
                        target_weights=None,
                        gamma=0.01,
                        weight_mode='soft',
                        target_mode='taylor'):
    """Returns (heatmap_loss (B,), scale_loss (B,)). mask is (B, H, W); target_weights (B, K) or None."""
    pred, gt, scale, mask = (np.asarray(a, dtype=np.float64) for a in (pred, gt, scale, mask))
    s_hat = scale * (gt > 0)
    dis = np.log(np.where(gt > 0, gt, gt + 1.0))  # the reference's ln G, with ln(G + 1) = 0 at G == 0
    if target_mode == 'taylor':
        target = gt + gt * dis * s_hat + 0.5 * gt * dis**2 * s_hat**2
    else:
        with np.errstate(divide='ignore'):
            target = np.where(gt > 0, np.power(gt, 1.0 + s_hat), 0.0)
    if weight_mode == 'soft':
        weight = np.abs(1 - pred) * gt**gamma + np.abs(pred) * (1 - gt**gamma)
    elif weight_mode == 'hard':  # the .pyc variant, split on the modulated target
        weight = np.where(target > 0, np.abs(1 - pred), np.abs(pred))
    else:
        weight = np.ones_like(pred)
    full_mask = mask[:, None] * np.ones_like(pred)
    if target_weights is not None:
        full_mask = full_mask * np.asarray(target_weights, dtype=np.float64)[:, :, None, None]
    heatmap = (full_mask * weight * (pred - target)**2).mean(axis=(1, 2, 3))
    scale_reg = (full_mask * s_hat**2).mean(axis=(1, 2, 3))
    return heatmap, scale_reg


def make_inputs(batch=2, keypoints=3, size=16, dtype=torch.float64, seed=0, scale_std=0.3):
    """Reference-like GT (sigma 2, 15x15 windows: G > 0 down to 4.8e-6 inside, exactly 0 outside), predictions,
    scales and a binary mask."""
    gen = torch.Generator().manual_seed(seed)
    ys, xs = torch.meshgrid(torch.arange(size), torch.arange(size), indexing='ij')
    gt = torch.zeros(batch, keypoints, size, size, dtype=torch.float64)
    for b in range(batch):
        for k in range(keypoints):
            cy, cx = torch.randint(0, size, (2, ), generator=gen)
            gaussian = torch.exp(-((ys - cy)**2 + (xs - cx)**2) / (2 * 2.0**2))
            window = ((ys - cy).abs() <= 7) & ((xs - cx).abs() <= 7)
            gt[b, k] = torch.maximum(gt[b, k], gaussian * window)
    pred = torch.rand(batch, keypoints, size, size, generator=gen, dtype=torch.float64) * 1.4 - 0.2
    scale = torch.randn(batch, keypoints, size, size, generator=gen, dtype=torch.float64) * scale_std
    mask = (torch.rand(batch, size, size, generator=gen) > 0.2).to(torch.float64)
    return pred.to(dtype), gt.to(dtype), scale.to(dtype), mask.to(dtype)


def to_np(t):
    return t.detach().to(torch.float64).numpy()


class SWAHRLosses:
    """What SWAHRHead computes per level: WeightAdaptiveMSELoss and ScaleRegularizationLoss on the same inputs,
    returned as (heatmap loss, scale regulariser) like the reference's HeatmapLoss + ScaleLoss."""

    def __init__(self, scale_loss_weight=1.0, **kwargs):
        kwargs.setdefault('use_target_weight', True)
        self.heatmap = WeightAdaptiveMSELoss(**kwargs)
        self.regulariser = ScaleRegularizationLoss(scale_loss_weight, kwargs.get('reduction', 'mean'))

    def __call__(self, output, target, target_weights=None, mask=None, scale=None):
        heatmap = self.heatmap(output, target, target_weights=target_weights, mask=mask, scale=scale)
        return heatmap, self.regulariser(scale, target, target_weights=target_weights, mask=mask)


# --------------------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize('dtype,rtol', [(torch.float64, 1e-6), (torch.float32, 1e-5)])
@pytest.mark.parametrize('target_mode', ['taylor', 'exact'])
@pytest.mark.parametrize('weight_mode', ['soft', 'hard', 'none'])
def test_per_sample_values_match_reference(dtype, rtol, target_mode, weight_mode):
    pred, gt, scale, mask = make_inputs(dtype=dtype)
    loss = SWAHRLosses(target_mode=target_mode, weight_mode=weight_mode, reduction='none')
    heatmap, scale_reg = loss(pred, gt, mask=mask, scale=scale)
    ref_heatmap, ref_scale = reference_losses_np(
        to_np(pred), to_np(gt), to_np(scale), to_np(mask), weight_mode=weight_mode, target_mode=target_mode)
    assert heatmap.shape == scale_reg.shape == (2, )
    assert heatmap.dtype == scale_reg.dtype == dtype
    np.testing.assert_allclose(to_np(heatmap), ref_heatmap, rtol=rtol, atol=0)
    np.testing.assert_allclose(to_np(scale_reg), ref_scale, rtol=rtol, atol=0)
    assert (ref_scale > 0).all() and (ref_heatmap > 0).all()


def test_mean_reduction_and_loss_weights():
    pred, gt, scale, mask = make_inputs()
    ref_heatmap, ref_scale = reference_losses_np(to_np(pred), to_np(gt), to_np(scale), to_np(mask))
    loss = SWAHRLosses(loss_weight=2.5, scale_loss_weight=0.3)
    heatmap, scale_reg = loss(pred, gt, mask=mask, scale=scale)
    assert heatmap.shape == scale_reg.shape == ()
    np.testing.assert_allclose(heatmap.item(), 2.5 * ref_heatmap.mean(), rtol=1e-10)
    np.testing.assert_allclose(scale_reg.item(), 0.3 * ref_scale.mean(), rtol=1e-10)


def test_built_from_registry_with_reference_defaults():
    loss = MODELS.build(dict(type='WeightAdaptiveMSELoss'))
    assert isinstance(loss, WeightAdaptiveMSELoss)
    assert (loss.gamma, loss.target_mode, loss.weight_mode, loss.loss_weight, loss.use_target_weight,
            loss.reduction) == (0.01, 'taylor', 'soft', 1.0, False, 'mean')
    regulariser = MODELS.build(dict(type='ScaleRegularizationLoss'))
    assert (regulariser.loss_weight, regulariser.reduction) == (1.0, 'mean')


def test_one_tensor_per_loss_like_keypoint_mse():
    """Each module returns one tensor, so WeightAdaptiveMSELoss stands in for KeypointMSELoss in MMPose heads."""
    pred, gt, scale, mask = make_inputs()
    heatmap = WeightAdaptiveMSELoss()(pred, gt, mask=mask, scale=scale)
    regulariser = ScaleRegularizationLoss()(scale, gt, mask=mask)
    assert isinstance(heatmap, torch.Tensor) and heatmap.shape == ()
    assert isinstance(regulariser, torch.Tensor) and regulariser.shape == ()


def test_target_weights_only_with_use_target_weight():
    """MMPose's AE head passes per-instance weights (sum N_i, K): ignored unless use_target_weight (top-down)."""
    pred, gt, _, mask = make_inputs()
    instance_weights = torch.rand(7, 3, dtype=pred.dtype)  # 7 people in a batch of 2: not (B, K)
    plain = WeightAdaptiveMSELoss()(pred, gt, mask=mask)
    assert torch.equal(WeightAdaptiveMSELoss()(pred, gt, instance_weights, mask), plain)
    with pytest.raises(ValueError, match='target_weights must be'):
        WeightAdaptiveMSELoss(use_target_weight=True)(pred, gt, instance_weights, mask)


@pytest.mark.parametrize('half', [torch.float16, torch.bfloat16])
def test_half_precision_inputs_are_computed_in_float32(half):
    """Under autocast the head's outputs are float16/bfloat16: G**0.01 and ln G of the 4.8e-6 Gaussian tails, and
    the scale terms, are evaluated in float32 (and agree with a float32 call on the same rounded inputs)."""
    pred, gt, scale, mask = make_inputs(dtype=torch.float32)
    pred_h, scale_h = pred.to(half), scale.to(half)
    loss, regulariser = WeightAdaptiveMSELoss(), ScaleRegularizationLoss()
    value = loss(pred_h, gt, mask=mask, scale=scale_h)
    assert value.dtype == torch.float32
    assert torch.equal(value, loss(pred_h.float(), gt, mask=mask, scale=scale_h.float()))
    assert regulariser(scale_h, gt.to(half), mask=mask).dtype == torch.float32


@pytest.mark.parametrize('weight_mode', ['soft', 'hard', 'none'])
def test_zero_scale_gives_zero_regulariser_and_plain_weighted_mse(weight_mode):
    pred, gt, _, mask = make_inputs()
    loss = SWAHRLosses(weight_mode=weight_mode, reduction='none')
    heatmap, scale_reg = loss(pred, gt, mask=mask, scale=torch.zeros_like(pred))
    assert torch.equal(scale_reg, torch.zeros(2, dtype=pred.dtype))
    heatmap_no_scale = loss.heatmap(pred, gt, mask=mask)
    assert torch.equal(heatmap, heatmap_no_scale)  # T = G exactly when s = 0
    ref_heatmap, _ = reference_losses_np(
        to_np(pred), to_np(gt), np.zeros(pred.shape), to_np(mask), weight_mode=weight_mode)
    np.testing.assert_allclose(to_np(heatmap), ref_heatmap, rtol=1e-10)


def test_no_scale_and_no_weighting_equals_mmpose_keypoint_mse():
    pred, gt, _, mask = make_inputs()
    weights = torch.rand(2, 3, dtype=pred.dtype)
    heatmap = WeightAdaptiveMSELoss(weight_mode='none', use_target_weight=True)(pred, gt, weights, mask[:, None])
    expected = KeypointMSELoss(use_target_weight=True)(pred, gt, weights, mask[:, None])
    torch.testing.assert_close(heatmap, expected, rtol=1e-12, atol=0)


@pytest.mark.parametrize('target_mode', ['taylor', 'exact'])
def test_scale_gradient_is_gated_by_gt_windows(target_mode):
    pred, gt, scale, _ = make_inputs()
    scale.requires_grad_(True)
    heatmap, scale_reg = SWAHRLosses(target_mode=target_mode)(pred, gt, scale=scale)
    (heatmap + scale_reg).backward()
    grad = scale.grad
    assert (gt == 0).any() and (gt > 0).any()
    assert torch.all(grad[gt == 0] == 0), 'scale must get no gradient outside the GT windows'
    assert torch.all(grad[gt > 0] != 0), 'scale must get a gradient everywhere inside the GT windows'


def _finite_difference_grad(fn, array, eps=1e-6):
    grad = np.zeros_like(array)
    for idx in np.ndindex(array.shape):
        plus, minus = array.copy(), array.copy()
        plus[idx] += eps
        minus[idx] -= eps
        grad[idx] = (fn(plus) - fn(minus)) / (2 * eps)
    return grad


@pytest.mark.parametrize('target_mode', ['taylor', 'exact'])
@pytest.mark.parametrize('weight_mode', ['soft', 'hard'])
def test_gradients_match_reference_formula(target_mode, weight_mode):
    """Gradients, including the path through the weight W into P, equal finite differences of the reference."""
    pred, gt, scale, mask = make_inputs(batch=2, keypoints=2, size=6, seed=3)
    pred.requires_grad_(True)
    scale.requires_grad_(True)
    heatmap, scale_reg = SWAHRLosses(target_mode=target_mode, weight_mode=weight_mode)(pred, gt, mask=mask, scale=scale)
    (heatmap + scale_reg).backward()

    p0, g0, s0, m0 = to_np(pred), to_np(gt), to_np(scale), to_np(mask)

    def total(p, s):
        h, r = reference_losses_np(p, g0, s, m0, weight_mode=weight_mode, target_mode=target_mode)
        return h.mean() + r.mean()

    np.testing.assert_allclose(
        to_np(pred.grad), _finite_difference_grad(lambda p: total(p, s0), p0), rtol=1e-5, atol=1e-9)
    np.testing.assert_allclose(
        to_np(scale.grad), _finite_difference_grad(lambda s: total(p0, s), s0), rtol=1e-5, atol=1e-9)


def test_soft_weight_gradient_flows_through_weight_into_pred():
    """With a detached weight the gradient into P would differ: check the W path is present."""
    pred, gt, scale, mask = make_inputs(seed=5)
    pred.requires_grad_(True)
    heatmap, _ = SWAHRLosses()(pred, gt, mask=mask, scale=scale)
    heatmap.backward()
    # Reconstruct the detached-weight gradient: 2 * W * (P - T) * mask / (B*K*H*W).
    p, g, s, m = to_np(pred), to_np(gt), to_np(scale), to_np(mask)
    s_hat = s * (g > 0)
    dis = np.log(np.where(g > 0, g, 1.0))
    target = g + g * dis * s_hat + 0.5 * g * dis**2 * s_hat**2
    weight = np.abs(1 - p) * g**0.01 + np.abs(p) * (1 - g**0.01)
    detached_grad = 2 * weight * (p - target) * m[:, None] / p.size
    through_weight = (-np.sign(1 - p) * g ** 0.01 + np.sign(p) * (1 - g ** 0.01)) * (p - target) ** 2 \
        * m[:, None] / p.size
    np.testing.assert_allclose(to_np(pred.grad), detached_grad + through_weight, rtol=1e-9, atol=1e-15)
    assert np.abs(through_weight).max() > 1e-3 * np.abs(detached_grad).max()


def test_exact_and_taylor_targets_agree_for_small_scale():
    pred, gt, scale, mask = make_inputs(scale_std=0.01)
    taylor = SWAHRLosses(target_mode='taylor', reduction='none')(pred, gt, mask=mask, scale=scale)
    exact = SWAHRLosses(target_mode='exact', reduction='none')(pred, gt, mask=mask, scale=scale)
    torch.testing.assert_close(taylor[0], exact[0], rtol=1e-5, atol=0)
    assert torch.equal(taylor[1], exact[1])  # the regulariser does not depend on the target mode
    # For a large scale the two differ (the Taylor form is only accurate for small |s * ln G|).
    big = SWAHRLosses(target_mode='exact', reduction='none')(pred, gt, mask=mask, scale=scale * 100)
    big_taylor = SWAHRLosses(reduction='none')(pred, gt, mask=mask, scale=scale * 100)
    assert not torch.allclose(big[0], big_taylor[0], rtol=1e-3)


def test_exact_target_is_finite_with_safe_gradients_for_extreme_scales():
    pred, gt, scale, mask = make_inputs()
    scale = (torch.randn_like(scale) * 5 - 0.5).requires_grad_(True)  # many s < -1 and large s
    pred.requires_grad_(True)
    heatmap, scale_reg = SWAHRLosses(target_mode='exact')(pred, gt, mask=mask, scale=scale)
    (heatmap + scale_reg).backward()
    assert torch.isfinite(heatmap) and torch.isfinite(scale_reg)
    assert torch.isfinite(scale.grad).all() and torch.isfinite(pred.grad).all()
    assert torch.all(scale.grad[gt == 0] == 0)


def test_hard_weight_split_on_gt_equals_split_on_modulated_target():
    """T > 0 iff G > 0 for the Taylor target, even for large |s|: the reference .pyc's split is the same set."""
    pred, gt, scale, mask = make_inputs(seed=7)
    for factor in (1.0, 30.0, -30.0):
        s = scale * factor
        ours = SWAHRLosses(weight_mode='hard', reduction='none')(pred, gt, mask=mask, scale=s)[0]
        ref, _ = reference_losses_np(to_np(pred), to_np(gt), to_np(s), to_np(mask), weight_mode='hard')
        np.testing.assert_allclose(to_np(ours), ref, rtol=1e-9)
    # and hard differs from soft (by the G**0.01 factor inside the windows)
    soft = SWAHRLosses(reduction='none')(pred, gt, mask=mask, scale=scale)[0]
    hard = SWAHRLosses(weight_mode='hard', reduction='none')(pred, gt, mask=mask, scale=scale)[0]
    assert not torch.allclose(soft, hard, rtol=1e-6)


def test_masked_pixels_contribute_nothing():
    pred, gt, scale, mask = make_inputs()
    assert (mask == 0).any()
    loss = SWAHRLosses(reduction='none')
    base = loss(pred, gt, mask=mask, scale=scale)
    ignored = (mask == 0)[:, None].expand_as(pred)
    pred2, gt2, scale2 = pred.clone(), gt.clone(), scale.clone()
    pred2[ignored] = 7.0
    gt2[ignored] = 0.5
    scale2[ignored] = -3.0
    changed = loss(pred2, gt2, mask=mask, scale=scale2)
    torch.testing.assert_close(base[0], changed[0], rtol=1e-12, atol=0)
    torch.testing.assert_close(base[1], changed[1], rtol=1e-12, atol=0)
    # the mask layouts (B, H, W), (B, 1, H, W), bool and (B, K, H, W) agree
    for other in (mask[:, None], mask.bool(), mask[:, None].expand_as(pred).contiguous()):
        alt = loss(pred, gt, mask=other, scale=scale)
        assert torch.equal(alt[0], base[0]) and torch.equal(alt[1], base[1])


def test_target_weights():
    pred, gt, scale, mask = make_inputs()
    weights = torch.tensor([[1.0, 0.0, 0.5], [0.25, 1.0, 0.0]], dtype=pred.dtype)
    loss = SWAHRLosses(reduction='none')
    heatmap, scale_reg = loss(pred, gt, target_weights=weights, mask=mask, scale=scale)
    ref_heatmap, ref_scale = reference_losses_np(
        to_np(pred), to_np(gt), to_np(scale), to_np(mask), target_weights=to_np(weights))
    np.testing.assert_allclose(to_np(heatmap), ref_heatmap, rtol=1e-10)
    np.testing.assert_allclose(to_np(scale_reg), ref_scale, rtol=1e-10)
    pixel_weights = weights[:, :, None, None].expand_as(pred).contiguous()
    heatmap_px, scale_px = loss(pred, gt, target_weights=pixel_weights, mask=mask, scale=scale)
    torch.testing.assert_close(heatmap_px, heatmap, rtol=1e-12, atol=0)
    torch.testing.assert_close(scale_px, scale_reg, rtol=1e-12, atol=0)


@pytest.mark.parametrize('kwargs,match', [
    (dict(target=torch.zeros(2, 3, 8, 9)), 'target'),
    (dict(scale=torch.zeros(2, 3, 8, 9)), 'scale'),
    (dict(mask=torch.ones(2, 2, 8, 8)), 'mask'),
    (dict(mask=torch.ones(3, 8, 8)), 'mask'),
    (dict(mask=torch.ones(2, 8, 7)), 'mask'),
    (dict(target_weights=torch.ones(2, 4)), 'target_weights'),
    (dict(target_weights=torch.ones(2, 3, 8)), 'target_weights'),
])
def test_shape_errors_name_the_field(kwargs, match):
    args = dict(output=torch.zeros(2, 3, 8, 8), target=torch.zeros(2, 3, 8, 8))
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        WeightAdaptiveMSELoss(use_target_weight=True)(**args)
    with pytest.raises(ValueError, match='output'):
        WeightAdaptiveMSELoss()(torch.zeros(3, 8, 8), torch.zeros(3, 8, 8))


@pytest.mark.parametrize('kwargs', [dict(target_mode='power'), dict(weight_mode='focal'), dict(reduction='sum')])
def test_bad_options_rejected(kwargs):
    with pytest.raises(ValueError, match=next(iter(kwargs))):
        WeightAdaptiveMSELoss(**kwargs)
    with pytest.raises(ValueError, match='reduction'):
        ScaleRegularizationLoss(reduction='sum')
