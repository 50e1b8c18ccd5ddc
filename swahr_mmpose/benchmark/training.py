"""Training-side speed: target generation and the AE loss, ours vs MMPose 1.3.2's own implementations.

* Targets: :meth:`MultiLevelAssociativeEmbedding.encode` (NumPy, vectorised over people x joints x window) for the
  two levels of a 512 input, vs MMPose's ``AssociativeEmbedding.encode`` run once per level (its Gaussians and tag
  indices are Python loops over people x joints). Same work; MMPose's conventions differ slightly (rounded centres,
  3-sigma radius), so outputs are not compared.
* AE loss, forward + backward: ``BatchedAssociativeEmbeddingLoss`` vs MMPose's ``AssociativeEmbeddingLoss`` (a
  Python loop over images and people) on the same tags and indices.
"""
from typing import Dict, Optional

import numpy as np
import torch
from mmpose.codecs import AssociativeEmbedding
from mmpose.models.losses import AssociativeEmbeddingLoss

from swahr_mmpose.codecs import MultiLevelAssociativeEmbedding
from swahr_mmpose.models.losses import BatchedAssociativeEmbeddingLoss
from .timing import median_seconds


def random_people(num_people: int, num_keypoints: int, input_size: int, seed: int = 0):
    """(N, K, 2) input px keypoints spread around per-person centres (some outside the input), (N, K) visibility
    with ~20 % unlabelled joints."""
    rng = np.random.default_rng(seed)
    centres = rng.uniform(-0.05, 1.05, size=(num_people, 1, 2)) * input_size
    spread = rng.uniform(10, 120, size=(num_people, 1, 1))
    keypoints = centres + rng.normal(size=(num_people, num_keypoints, 2)) * spread
    visible = rng.choice([0.0, 1.0, 2.0], p=[0.2, 0.3, 0.5], size=(num_people, num_keypoints))
    return keypoints, visible


def benchmark_targets(num_people: int = 20,
                      num_keypoints: int = 17,
                      input_size: int = 512,
                      repeats: int = 20) -> Dict[str, float]:
    """Seconds per sample for both levels (1/4 and 1/2 of ``input_size``)."""
    keypoints, visible = random_people(num_people, num_keypoints, input_size)
    levels = [(input_size // 4, ) * 2, (input_size // 2, ) * 2]
    ours = MultiLevelAssociativeEmbedding(input_size=input_size, heatmap_size=levels, max_num_people=None)
    theirs = [AssociativeEmbedding(input_size=(input_size, ) * 2, heatmap_size=size, sigma=2) for size in levels]
    ours_s = median_seconds(lambda: ours.encode(keypoints, visible), repeats)
    theirs_s = median_seconds(lambda: [codec.encode(keypoints, visible) for codec in theirs], repeats)
    return dict(ours_s=ours_s, mmpose_s=theirs_s, speedup=theirs_s / ours_s)


def benchmark_ae_loss(batch_size: int = 8,
                      num_people: int = 20,
                      num_keypoints: int = 17,
                      size: int = 128,
                      repeats: int = 10,
                      device: Optional[str] = None) -> Dict[str, float]:
    """Seconds per forward + backward on (B, K, size, size) tags (the W32-512 1/4 level)."""
    device = torch.device(device or 'cpu')
    gen = torch.Generator().manual_seed(0)
    tags = torch.randn(batch_size, num_keypoints, size, size, generator=gen).to(device)
    positions = torch.randint(0, size * size, (batch_size, num_people, num_keypoints), generator=gen)
    valid = (torch.rand(batch_size, num_people, num_keypoints, generator=gen) < 0.8).long()
    indices = torch.stack([positions * valid, valid], dim=-1).to(device)
    index_list = list(indices)

    def step(loss):
        leaf = tags.detach().requires_grad_(True)
        pull, push = loss(leaf, index_list)
        (pull + push).backward()

    ours_s = median_seconds(lambda: step(BatchedAssociativeEmbeddingLoss()), repeats, device=device)
    theirs_s = median_seconds(lambda: step(AssociativeEmbeddingLoss()), repeats, device=device)
    return dict(
        ours_s=ours_s,
        mmpose_s=theirs_s,
        speedup=theirs_s / ours_s,
        device=str(device),
        batch_size=batch_size,
        num_people=num_people)
