"""SWAHR's weight-adaptive heatmap loss with scale-adaptive targets, and the scale-map regulariser.

Reference: the official SWAHR ``HeatmapLoss`` + ``ScaleLoss`` (``docs/reference_behaviour.md#4-loss``).
Both modules return one tensor, as MMPose's ``KeypointMSELoss`` does, so ``WeightAdaptiveMSELoss`` can stand in for
it in any MMPose heatmap head. With ``scale=None`` and ``weight_mode='none'`` it is plain masked MSE, which is what a
HigherHRNet baseline needs, so one loss class serves both models.
"""
from typing import Optional

import torch
import torch.nn as nn
from mmpose.registry import MODELS
from torch import Tensor

_TARGET_MODES = ('taylor', 'exact')
_WEIGHT_MODES = ('soft', 'hard', 'none')
_REDUCTIONS = ('mean', 'none')


def at_least_float32(tensor: Tensor) -> Tensor:
    """float16 / bfloat16 (autocast outputs) -> float32; float32 and float64 unchanged."""
    return tensor.float() if tensor.dtype in (torch.float16, torch.bfloat16) else tensor


def gate_scale(scale: Tensor, target: Tensor) -> Tensor:
    """``s_hat = s * 1[G > 0]``: the scale map inside the GT Gaussian windows, 0 elsewhere (B, K, H, W).

    The indicator is a float constant, so ``s`` gets no gradient outside the windows, exactly as in the reference.
    """
    return scale * (target > 0).to(scale.dtype)


@MODELS.register_module()
class WeightAdaptiveMSELoss(nn.Module):
    """Weighted MSE against a scale-modulated Gaussian target (SWAHR's heatmap loss).

    Notation (all maps at the resolution of one output level, in that level's pixels):
    P = predicted heatmaps, G = ground-truth Gaussian heatmaps (values in [0, 1]), s = predicted scale map,
    all (B, K, H, W); M = valid-pixel mask (1 = use).

    * Gate: ``s_hat = s * 1[G > 0]`` (:func:`gate_scale`).
    * Target, ``target_mode='taylor'`` (reference): with ``l = ln G`` where G > 0 and 0 elsewhere,
      ``T = G + G*l*s_hat + 0.5*G*l**2*s_hat**2``, the 2nd-order Taylor expansion of ``G**(1 + s_hat)``.
      ``target_mode='exact'``: ``T = G**(1 + s_hat)`` inside the windows and 0 outside, evaluated as
      ``1[G>0] * exp((1 + s_hat) * l)`` so that neither ``0**x`` nor ``0 * log(0)`` can appear in the value or its
      gradient. It is finite as long as ``(1 + s_hat) * ln G`` stays below ~88 (float32 overflow of ``exp``),
      i.e. for any ``s > -1`` (the only range where ``G**(1+s)`` is a sensible heatmap).
    * Weight, computed from the UNMODIFIED G with P not detached (gradients flow through it, as in the reference):
      ``weight_mode='soft'`` (reference ``.py``): ``W = |1-P| * G**gamma + |P| * (1 - G**gamma)``;
      ``weight_mode='hard'`` (the reference's earlier ``.pyc``): ``W = |1-P|`` where G > 0, else ``|P|``. The
      ``.pyc`` split on ``T > 0``; that is the same set, because the Taylor bracket ``1 + x + x**2/2 >= 1/2`` makes
      ``T >= G/2 > 0`` inside the windows and ``T = 0`` outside (``G**(1+s) > 0`` likewise);
      ``weight_mode='none'``: ``W = 1`` (plain MSE, for HigherHRNet).
    * Per sample b: ``loss[b] = mean_{k,y,x} M * w_k * W * (P - T)**2`` over all K*H*W entries (background
      included), like the reference; ``w_k`` are the optional per-keypoint ``target_weights``.
    * ``scale=None``: T = G (a top-down or HigherHRNet head).

    The scale regulariser of SWAHR is :class:`ScaleRegularizationLoss`.

    Args:
        gamma (float): Exponent of G in the soft weight. Defaults to 0.01 (reference).
        target_mode (str): ``'taylor'`` (reference) or ``'exact'``.
        weight_mode (str): ``'soft'`` (reference), ``'hard'`` or ``'none'``.
        use_target_weight (bool): Multiply by ``target_weights`` when given (MMPose's top-down heads pass (B, K)
            keypoint weights). False ignores them: MMPose's bottom-up ``AssociativeEmbeddingHead`` passes
            per-instance weights (sum of N_i, K), which cannot weight a heatmap channel shared by all people.
            (``KeypointMSELoss`` stores the same flag but never reads it.)
        loss_weight (float): Factor on the loss (the reference's HEATMAPS_LOSS_FACTOR, 1.0).
        reduction (str): ``'mean'`` (batch mean, a scalar; the reference) or ``'none'`` (per sample, shape (B,)).
    """

    def __init__(self,
                 gamma: float = 0.01,
                 target_mode: str = 'taylor',
                 weight_mode: str = 'soft',
                 use_target_weight: bool = False,
                 loss_weight: float = 1.0,
                 reduction: str = 'mean') -> None:
        super().__init__()
        if target_mode not in _TARGET_MODES:
            raise ValueError(f'target_mode must be one of {_TARGET_MODES}, got {target_mode!r}')
        if weight_mode not in _WEIGHT_MODES:
            raise ValueError(f'weight_mode must be one of {_WEIGHT_MODES}, got {weight_mode!r}')
        if reduction not in _REDUCTIONS:
            raise ValueError(f'reduction must be one of {_REDUCTIONS}, got {reduction!r}')
        self.gamma = float(gamma)
        self.target_mode = target_mode
        self.weight_mode = weight_mode
        self.use_target_weight = bool(use_target_weight)
        self.loss_weight = float(loss_weight)
        self.reduction = reduction

    def forward(self,
                output: Tensor,
                target: Tensor,
                target_weights: Optional[Tensor] = None,
                mask: Optional[Tensor] = None,
                scale: Optional[Tensor] = None) -> Tensor:
        """Compute the heatmap loss (``KeypointMSELoss``'s call signature, plus ``scale``).

        Args:
            output (Tensor): Predicted heatmaps P, (B, K, H, W).
            target (Tensor): GT heatmaps G, (B, K, H, W), non-negative (G > 0 marks the Gaussian windows).
            target_weights (Tensor, optional): Per-keypoint weights (B, K) or per-pixel weights (B, K, H, W); used
                only with ``use_target_weight=True``. The reference uses none.
            mask (Tensor, optional): Valid-pixel mask (B, H, W), (B, 1, H, W) or (B, K, H, W); 1 = use, 0 = ignore.
                Bool or float.
            scale (Tensor, optional): Predicted scale map s, (B, K, H, W). ``None``: no target modulation.

        Returns:
            Tensor: the loss, a scalar for ``reduction='mean'``, (B,) for ``'none'``; ``loss_weight`` included.
        """
        # float32 under mixed precision: G**gamma and ln G of 4.8e-6 tails, and the scale terms, need its range
        output, target = at_least_float32(output), at_least_float32(target)
        scale = None if scale is None else at_least_float32(scale)
        weights = _combine_weights(output, target, target_weights if self.use_target_weight else None, mask, scale)
        if scale is None:
            modulated_target = target
        else:
            modulated_target = self._modulated_target(target, gate_scale(scale, target))
        squared_error = (output - modulated_target).square()
        pixel_weight = self._pixel_weight(output, target)
        if pixel_weight is not None:
            squared_error = squared_error * pixel_weight
        return _reduce(_weighted_mean(squared_error, weights), self.reduction) * self.loss_weight

    def _modulated_target(self, target: Tensor, gated_scale: Tensor) -> Tensor:
        """Scale-modulated target T (B, K, H, W); equals G where s_hat == 0."""
        inside_window = target > 0
        # ln G inside the windows, 0 outside (the reference's ln(G + 1) at G = 0); log of 1 avoids -inf.
        log_target = torch.log(torch.where(inside_window, target, torch.ones_like(target)))
        if self.target_mode == 'taylor':
            scaled_log = log_target * gated_scale
            return target + target * scaled_log + 0.5 * target * scaled_log.square()
        # exact: G**(1 + s_hat) = exp((1 + s_hat) * ln G) inside the windows, 0 outside.
        return torch.exp((1.0 + gated_scale) * log_target) * inside_window.to(gated_scale.dtype)

    def _pixel_weight(self, output: Tensor, target: Tensor) -> Optional[Tensor]:
        """Weight-adaptive factor W (B, K, H, W) from P and the unmodified G; ``None`` for plain MSE."""
        if self.weight_mode == 'none':
            return None
        if self.weight_mode == 'hard':
            return torch.where(target > 0, (1.0 - output).abs(), output.abs())
        target_pow = target.pow(self.gamma)
        return (1.0 - output).abs() * target_pow + output.abs() * (1.0 - target_pow)


@MODELS.register_module()
class ScaleRegularizationLoss(nn.Module):
    """SWAHR's L2 regulariser on the scale map inside the GT windows (the reference ``ScaleLoss``).

    Per sample b: ``loss[b] = mean_{k,y,x} M * w_k * s_hat**2`` over all K*H*W entries, with ``s_hat = s * 1[G > 0]``
    (:func:`gate_scale`). The reference applies no factor (``loss_weight=1``) and computes it at every level.

    Args:
        loss_weight (float): Factor on the loss. Defaults to 1.0 (reference).
        reduction (str): ``'mean'`` (batch mean, a scalar; the reference) or ``'none'`` (per sample, shape (B,)).
    """

    def __init__(self, loss_weight: float = 1.0, reduction: str = 'mean') -> None:
        super().__init__()
        if reduction not in _REDUCTIONS:
            raise ValueError(f'reduction must be one of {_REDUCTIONS}, got {reduction!r}')
        self.loss_weight = float(loss_weight)
        self.reduction = reduction

    def forward(self,
                scale: Tensor,
                target: Tensor,
                target_weights: Optional[Tensor] = None,
                mask: Optional[Tensor] = None) -> Tensor:
        """Compute the regulariser.

        Args:
            scale (Tensor): Predicted scale map s, (B, K, H, W).
            target (Tensor): GT heatmaps G, (B, K, H, W); G > 0 marks where s is regularised.
            target_weights (Tensor, optional): (B, K) or (B, K, H, W) weights.
            mask (Tensor, optional): Valid-pixel mask (B, H, W), (B, 1, H, W) or (B, K, H, W); 1 = use.

        Returns:
            Tensor: a scalar for ``reduction='mean'``, (B,) for ``'none'``; ``loss_weight`` included.
        """
        scale, target = at_least_float32(scale), at_least_float32(target)  # float32 under mixed precision
        weights = _combine_weights(scale, target, target_weights, mask, None)
        return _reduce(_weighted_mean(gate_scale(scale, target).square(), weights), self.reduction) * self.loss_weight


def _weighted_mean(values: Tensor, weights: Optional[Tensor]) -> Tensor:
    """Per-sample mean over (K, H, W) of ``values * weights``; returns (B,)."""
    if weights is not None:
        values = values * weights
    return values.flatten(1).mean(dim=1)


def _reduce(per_sample: Tensor, reduction: str) -> Tensor:
    return per_sample.mean() if reduction == 'mean' else per_sample


def _combine_weights(output: Tensor, target: Tensor, target_weights: Optional[Tensor], mask: Optional[Tensor],
                     scale: Optional[Tensor]) -> Optional[Tensor]:
    """Check shapes and return mask * target_weights broadcastable to (B, K, H, W), or ``None``."""
    if output.ndim != 4:
        raise ValueError(f'output must be (B, K, H, W), got shape {tuple(output.shape)}')
    if target.shape != output.shape:
        raise ValueError(f'target must have the shape of output {tuple(output.shape)} (B, K, H, W), '
                         f'got {tuple(target.shape)}')
    if scale is not None and scale.shape != output.shape:
        raise ValueError(f'scale must have the shape of output {tuple(output.shape)} (B, K, H, W), '
                         f'got {tuple(scale.shape)}')
    batch, num_keypoints, height, width = output.shape
    weights = None
    if mask is not None:
        if mask.ndim == 3:
            mask = mask.unsqueeze(1)
        if mask.ndim != 4 or mask.shape[0] != batch or mask.shape[1] not in (1, num_keypoints) \
                or mask.shape[2:] != (height, width):
            raise ValueError(f'mask must be (B, H, W), (B, 1, H, W) or (B, K, H, W) with B={batch}, '
                             f'K={num_keypoints}, H={height}, W={width}; got {tuple(mask.shape)}')
        weights = mask.to(output.dtype)
    if target_weights is not None:
        if target_weights.shape == (batch, num_keypoints):
            target_weights = target_weights[:, :, None, None]
        elif target_weights.shape != output.shape:
            raise ValueError(f'target_weights must be (B, K) = {(batch, num_keypoints)} or (B, K, H, W) = '
                             f'{tuple(output.shape)}, got {tuple(target_weights.shape)}')
        target_weights = target_weights.to(output.dtype)
        weights = target_weights if weights is None else weights * target_weights
    return weights
