"""Per-image, per-person loop form of the reference AELoss ('exp'), ``docs/reference_behaviour.md#4-loss``.

This is deliberately the slow, obvious formulation (one Python iteration per image, person and joint, as in the
HigherHRNet/SWAHR code). It is the baseline that tests and ``tools/benchmark_ae_loss.py`` compare the vectorised
``BatchedAssociativeEmbeddingLoss`` against. Not for training.
"""
from typing import List, Tuple, Union

import torch
from torch import Tensor


def _single_image_ae_loss(tags: Tensor, keypoint_indices: Tensor) -> Tuple[Tensor, Tensor]:
    """Pull and push for one image, without factors.

    Args:
        tags: (K, H, W, D) tag maps of one image.
        keypoint_indices: (N, K, 2) int, entry ``[y*W + x, valid]`` for joint k of person n.
    """
    num_keypoints, height, width, tag_dim = tags.shape
    flat_tags = tags.reshape(num_keypoints * height * width, tag_dim)  # index k*H*W + y*W + x, like the reference

    person_mean_tags = []
    pull = tags.new_zeros(())
    for person in keypoint_indices:
        person_joint_tags = []
        for k in range(num_keypoints):
            position, valid = int(person[k, 0]), int(person[k, 1])
            if valid > 0:
                if not 0 <= position < height * width:
                    raise IndexError(f'position {position} outside the {height}x{width} tag map')
                person_joint_tags.append(flat_tags[k * height * width + position])
        if not person_joint_tags:
            continue
        joint_tags = torch.stack(person_joint_tags)  # (n_joints, D)
        mean_tag = torch.mean(joint_tags, dim=0)
        person_mean_tags.append(mean_tag)
        pull = pull + torch.mean((joint_tags - mean_tag.expand_as(joint_tags))**2)

    num_people = len(person_mean_tags)
    if num_people == 0:
        return tags.new_zeros(()), tags.new_zeros(())
    if num_people == 1:
        return pull / num_people, tags.new_zeros(())

    mean_tags = torch.stack(person_mean_tags)  # (N, D)
    diff = mean_tags[None, :, :] - mean_tags[:, None, :]  # (N, N, D)
    push = torch.exp(-diff**2).sum() - num_people * tag_dim  # drop the a == b terms (each exp(0) = 1 per dim)
    push = push / ((num_people - 1) * num_people) * 0.5
    return pull / num_people, push


def loop_ae_loss(tags: Tensor,
                 keypoint_indices: Union[Tensor, List[Tensor]],
                 pull_loss_factor: float = 0.001,
                 push_loss_factor: float = 0.001) -> Tuple[Tensor, Tensor]:
    """Reference AELoss('exp'): per-image loop, factors applied, mean over the batch.

    Args:
        tags: (B, K, H, W) or (B, K, H, W, D) tag maps.
        keypoint_indices: (B, N, K, 2) int tensor or list of B (N_i, K, 2) int tensors.

    Returns:
        ``(pull_loss, push_loss)`` scalars.
    """
    if tags.ndim == 4:
        tags = tags.unsqueeze(-1)
    pulls, pushes = [], []
    for image_tags, image_indices in zip(tags, keypoint_indices):
        pull, push = _single_image_ae_loss(image_tags, image_indices)
        pulls.append(pull * pull_loss_factor)
        pushes.append(push * push_loss_factor)
    return torch.stack(pulls).mean(), torch.stack(pushes).mean()
