"""Associative-embedding (push/pull) loss, vectorised over images, people and joints.

Reference: the AELoss ('exp') of HigherHRNet/SWAHR (``docs/reference_behaviour.md#4-loss``), level 0 only, unmasked,
averaged over the batch. Registered as ``BatchedAssociativeEmbeddingLoss`` so that it does not clash with MMPose's
``AssociativeEmbeddingLoss``, which differs in normalisation (it sums images and keeps the pair diagonal).
"""
from typing import List, Optional, Tuple, Union

import torch
import torch.nn as nn
from mmpose.registry import MODELS
from torch import Tensor
from torch.nn.utils.rnn import pad_sequence

from .weight_adaptive_mse import at_least_float32

_PUSH_TYPES = ('exp', 'max')
_REDUCTIONS = ('mean', 'none')

KeypointIndices = Union[Tensor, List[Tensor]]


def pad_keypoint_indices(keypoint_indices: KeypointIndices, batch_size: int, num_keypoints: int,
                         device: torch.device) -> Tensor:
    """Return keypoint indices as one padded (B, N_max, K, 2) int64 tensor on ``device``.

    Args:
        keypoint_indices: (B, N, K, 2) tensor, or a list of B tensors (N_i, K, 2). Entry ``[b, n, k]`` is
            ``[y * W + x, valid]`` for joint k of person n, in tag-map pixels. Padded rows are all-zero (invalid).
        batch_size: B, from the tag maps.
        num_keypoints: K, from the tag maps.
        device: Where the result goes (the tag maps' device).
    """
    if isinstance(keypoint_indices, (list, tuple)):
        if len(keypoint_indices) != batch_size:
            raise ValueError(f'keypoint_indices has {len(keypoint_indices)} entries, expected one per image '
                             f'(B={batch_size})')
        for i, per_image in enumerate(keypoint_indices):
            if not isinstance(per_image, Tensor) or per_image.ndim != 3 or per_image.shape[1:] != (num_keypoints, 2):
                shape = tuple(per_image.shape) if isinstance(per_image, Tensor) else type(per_image).__name__
                raise ValueError(f'keypoint_indices[{i}] must be a (N_i, K={num_keypoints}, 2) tensor, got {shape}')
        if batch_size == 0:
            return torch.zeros((0, 0, num_keypoints, 2), dtype=torch.long, device=device)
        keypoint_indices = pad_sequence([k.to(device=device, dtype=torch.long) for k in keypoint_indices],
                                        batch_first=True)
    elif isinstance(keypoint_indices, Tensor):
        if keypoint_indices.ndim != 4 or keypoint_indices.shape[0] != batch_size \
                or keypoint_indices.shape[2:] != (num_keypoints, 2):
            raise ValueError(f'keypoint_indices must be (B={batch_size}, N, K={num_keypoints}, 2), '
                             f'got {tuple(keypoint_indices.shape)}')
    else:
        raise TypeError(f'keypoint_indices must be a Tensor or a list of Tensors, got {type(keypoint_indices)}')
    if keypoint_indices.is_floating_point() or keypoint_indices.is_complex():
        raise TypeError(f'keypoint_indices must be an integer tensor, got {keypoint_indices.dtype}')
    return keypoint_indices.to(device=device, dtype=torch.long)


def _num_keypoints(keypoint_indices: KeypointIndices) -> Optional[int]:
    """K from (B, N, K, 2) indices or a list of (N_i, K, 2); None for an empty list."""
    if isinstance(keypoint_indices, Tensor):
        return int(keypoint_indices.shape[-2]) if keypoint_indices.ndim == 4 else None
    if isinstance(keypoint_indices, (list, tuple)) and keypoint_indices:
        first = keypoint_indices[0]
        return int(first.shape[-2]) if isinstance(first, Tensor) and first.ndim == 3 else None
    return None


@MODELS.register_module()
class BatchedAssociativeEmbeddingLoss(nn.Module):
    """Push/pull associative-embedding loss for a batch, with no Python loop over images or people.

    Per image, for the N people with at least one valid joint (tags t read at each valid joint, person mean m_n):

    * ``pull = (1/N) * sum_n mean_{valid k} |t_nk - m_n|^2`` (0 if N == 0);
    * ``push = 0.5 * (sum_{a,b} e(m_a - m_b) - N*D) / (N*(N-1))`` over ordered pairs including a == b, minus the
      diagonal (0 if N <= 1); ``e(d) = exp(-d**2)`` for ``push_type='exp'`` (reference) or
      ``max(0, 1 - |d|)`` for ``'max'`` (HigherHRNet's other AELoss type).

    Then ``pull *= pull_loss_factor``, ``push *= push_loss_factor`` and both are averaged over the batch (images
    with N = 0 count as 0), as the reference does.

    Several tag maps per joint (L > 1, tags (B, L*K, H, W)) follow MMPose's ``AssociativeEmbeddingLoss``: the pull
    squared difference is averaged over the L dimensions too, and the push term is summed per dimension,
    ``e(d) = sum_l exp(-d_l**2)`` (so the diagonal subtracted is N*L). L = 1 is exactly the reference.

    Args:
        pull_loss_factor (float): Defaults to 0.001 (reference PULL_LOSS_FACTOR).
        push_loss_factor (float): Defaults to 0.001 (reference PUSH_LOSS_FACTOR).
        push_type (str): ``'exp'`` (reference) or ``'max'``.
        reduction (str): ``'mean'`` (batch mean, scalars) or ``'none'`` (per image, (B,)).
    """

    def __init__(self,
                 pull_loss_factor: float = 0.001,
                 push_loss_factor: float = 0.001,
                 push_type: str = 'exp',
                 reduction: str = 'mean') -> None:
        super().__init__()
        if push_type not in _PUSH_TYPES:
            raise ValueError(f'push_type must be one of {_PUSH_TYPES}, got {push_type!r}')
        if reduction not in _REDUCTIONS:
            raise ValueError(f'reduction must be one of {_REDUCTIONS}, got {reduction!r}')
        self.pull_loss_factor = float(pull_loss_factor)
        self.push_loss_factor = float(push_loss_factor)
        self.push_type = push_type
        self.reduction = reduction

    def forward(self, tags: Tensor, keypoint_indices: KeypointIndices) -> Tuple[Tensor, Tensor]:
        """Compute the pull and push losses.

        Args:
            tags (Tensor): Tag maps (B, L*K, H, W), channel ``l*K + k`` = tag map l of joint k (MMPose's layout;
                L = 1 in SWAHR / HigherHRNet).
            keypoint_indices (Tensor | list[Tensor]): (B, N, K, 2) int tensor or a list of B (N_i, K, 2) int
                tensors. Entry ``[b, n, k] = [y * W + x, valid]`` at tag-map resolution; slot k is joint type k.
                ``valid > 0`` marks a labelled joint; invalid entries (padding) are ignored whatever their index.

        Returns:
            tuple[Tensor, Tensor]: ``(pull_loss, push_loss)``, scalars (``reduction='mean'``) or (B,) (``'none'``),
            factors included.
        """
        if tags.ndim != 4:
            raise ValueError(f'tags must be (B, L*K, H, W), got {tuple(tags.shape)}')
        tags = at_least_float32(tags)  # float32 under mixed precision (exp of squared differences)
        batch_size, num_channels, height, width = tags.shape
        num_keypoints = _num_keypoints(keypoint_indices)
        if num_keypoints is None:
            num_keypoints = num_channels  # no image in the batch: any K with L = 1
        if num_channels % num_keypoints:
            raise ValueError(f'tags have {num_channels} channels, not a multiple of the K={num_keypoints} joints of '
                             'keypoint_indices (expected L*K channels)')
        tag_dim = num_channels // num_keypoints
        indices = pad_keypoint_indices(keypoint_indices, batch_size, num_keypoints, tags.device)
        num_people = indices.shape[1]

        positions, valid = indices[..., 0], indices[..., 1] > 0  # (B, N, K) each
        out_of_range = valid & ((positions < 0) | (positions >= height * width))
        if bool(out_of_range.any()):
            b, n, k = (int(v) for v in out_of_range.nonzero()[0])
            raise IndexError(f'keypoint_indices[{b}, {n}, {k}] = {int(positions[b, n, k])} is outside the '
                             f'{height}x{width} tag map (valid range 0..{height * width - 1})')

        # Gather t[b, l, n, k] = tags[b, l*K + k, position] via one flat index k*H*W + position per (b, n, k).
        joint_offset = torch.arange(num_keypoints, device=tags.device) * (height * width)
        flat_index = torch.where(valid, positions, torch.zeros_like(positions)) + joint_offset
        flat_tags = tags.reshape(batch_size, tag_dim, num_keypoints * height * width)
        joint_tags = torch.gather(flat_tags, 2, flat_index.reshape(batch_size, 1, -1).expand(-1, tag_dim, -1))
        joint_tags = joint_tags.reshape(batch_size, tag_dim, num_people, num_keypoints).permute(0, 2, 3, 1)

        valid_f = valid.to(tags.dtype)
        joints_per_person = valid_f.sum(dim=2)  # (B, N)
        person_valid_f = (joints_per_person > 0).to(tags.dtype)
        num_valid_people = person_valid_f.sum(dim=1)  # (B,)
        safe_joint_count = joints_per_person.clamp(min=1)

        mean_tags = (joint_tags * valid_f[..., None]).sum(dim=2) / safe_joint_count[..., None]  # (B, N, D)
        squared_dev = (joint_tags - mean_tags[:, :, None]).square().mean(dim=3)  # (B, N, K), mean over D
        pull_per_person = (squared_dev * valid_f).sum(dim=2) / safe_joint_count  # (B, N)
        pull = (pull_per_person * person_valid_f).sum(dim=1) / num_valid_people.clamp(min=1)

        tag_diff = mean_tags[:, :, None] - mean_tags[:, None]  # (B, N, N, D)
        if self.push_type == 'exp':
            similarity = torch.exp(-tag_diff.square()).sum(dim=3)
        else:
            similarity = torch.clamp(1.0 - tag_diff.abs(), min=0).sum(dim=3)
        pair_valid_f = person_valid_f[:, :, None] * person_valid_f[:, None]
        pair_sum = (similarity * pair_valid_f).sum(dim=(1, 2))  # includes the diagonal, like the reference
        num_pairs = num_valid_people * (num_valid_people - 1)
        push = 0.5 * (pair_sum - num_valid_people * tag_dim) / num_pairs.clamp(min=1)
        push = push * (num_valid_people > 1).to(tags.dtype)

        pull = pull * self.pull_loss_factor
        push = push * self.push_loss_factor
        if self.reduction == 'mean':
            return pull.mean(), push.mean()
        return pull, push
