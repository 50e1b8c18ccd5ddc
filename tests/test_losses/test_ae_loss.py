"""BatchedAssociativeEmbeddingLoss against a hand-worked case, the per-person loop baseline and MMPose's loss."""
import math

import pytest
import torch
from mmpose.models.losses import AssociativeEmbeddingLoss
from mmpose.registry import MODELS

from swahr_mmpose.models.losses import BatchedAssociativeEmbeddingLoss
from oracles.reference_losses import loop_ae_loss


def random_case(batch=4, people=5, keypoints=4, size=6, tag_dim=None, seed=0, dtype=torch.float64):
    """Random tags and padded indices; includes a person with no valid joint, an N=0 and an N=1 image."""
    gen = torch.Generator().manual_seed(seed)
    shape = (batch, keypoints, size, size) + ((tag_dim, ) if tag_dim else ())
    tags = torch.randn(shape, generator=gen, dtype=dtype)
    positions = torch.randint(0, size * size, (batch, people, keypoints), generator=gen)
    valid = (torch.rand(batch, people, keypoints, generator=gen) > 0.3).long()
    valid[0, 1] = 0  # a person with no valid joint in a crowded image
    valid[1] = 0  # N = 0
    valid[2, 1:] = 0  # N = 1
    valid[2, 0, 0] = 1
    positions[valid == 0] = 0  # padding convention: unused entries are [0, 0]
    return tags, torch.stack([positions, valid], dim=-1)


def hand_case():
    """Image 0: person A tags (1, 3), person B tags (0.5, -0.5), person C with no valid joint; image 1: no one.

    pull(image 0) = ((1-2)^2 + (3-2)^2)/2 and ((0.5-0)^2 + (-0.5-0)^2)/2 averaged over N=2: (1 + 0.25)/2 = 0.625.
    push(image 0) = 0.5 * (sum_{a,b} exp(-(m_a-m_b)^2) - N) / (N(N-1)) with means 2 and 0: 0.5 * 2e^-4 / 2.
    Image 1 contributes 0 to both; the batch mean halves them.
    """
    tags = torch.randn(2, 2, 4, 4, dtype=torch.float64) * 10  # unread pixels: any value
    # person A: joint 0 at (y=0, x=1) -> index 1, joint 1 at (1, 1) -> 5
    tags[0, 0, 0, 1], tags[0, 1, 1, 1] = 1.0, 3.0
    # person B: joint 0 at (0, 2) -> 2, joint 1 at (1, 2) -> 6
    tags[0, 0, 0, 2], tags[0, 1, 1, 2] = 0.5, -0.5
    indices = torch.zeros(2, 3, 2, 2, dtype=torch.long)
    indices[0, 0] = torch.tensor([[1, 1], [5, 1]])
    indices[0, 1] = torch.tensor([[2, 1], [6, 1]])
    indices[0, 2] = torch.tensor([[99, 0], [7, 0]])  # invalid entries: index ignored even if out of range
    return tags, indices


def test_hand_worked_values_and_gradients():
    tags, indices = hand_case()
    tags.requires_grad_(True)
    loss = BatchedAssociativeEmbeddingLoss(pull_loss_factor=1.0, push_loss_factor=1.0, reduction='none')
    pull, push = loss(tags, indices)
    torch.testing.assert_close(pull, torch.tensor([0.625, 0.0], dtype=torch.float64), rtol=1e-14, atol=0)
    torch.testing.assert_close(push, torch.tensor([0.5 * math.exp(-4), 0.0], dtype=torch.float64), rtol=1e-14, atol=0)

    pull_mean, _ = BatchedAssociativeEmbeddingLoss(1.0, 1.0)(tags, indices)
    pull_mean.backward()
    # d pull_mean / d t_A0 = (1/B) (1/N) (1/c_A) 2 (t_A0 - m_A) = 0.5 * 0.5 * 0.5 * 2 * (1 - 2) = -0.25
    assert tags.grad[0, 0, 0, 1].item() == pytest.approx(-0.25, rel=1e-14)
    assert tags.grad[0, 1, 1, 2].item() == pytest.approx(0.5 * 0.5 * 0.5 * 2 * (-0.5), rel=1e-14)
    assert torch.count_nonzero(tags.grad) == 4  # only the 4 read pixels of image 0
    tags.grad = None
    _, push_mean = BatchedAssociativeEmbeddingLoss(1.0, 1.0)(tags, indices)
    push_mean.backward()
    # push(image 0) = 0.5 exp(-(m_A - m_B)^2); d/dt_A0 = 0.5 * exp(-4) * (-2 * 2) * (1/2), then / B
    assert tags.grad[0, 0, 0, 1].item() == pytest.approx(-0.5 * math.exp(-4), rel=1e-12)


def test_default_factors_and_registry():
    tags, indices = hand_case()
    loss = MODELS.build(dict(type='BatchedAssociativeEmbeddingLoss'))
    assert (loss.pull_loss_factor, loss.push_loss_factor, loss.push_type, loss.reduction) == (0.001, 0.001, 'exp',
                                                                                              'mean')
    pull, push = loss(tags, indices)
    assert pull.shape == push.shape == ()
    assert pull.item() == pytest.approx(0.001 * 0.625 / 2, rel=1e-12)
    assert push.item() == pytest.approx(0.001 * 0.25 * math.exp(-4), rel=1e-12)


def test_max_push_type_hand_worked():
    tags, indices = hand_case()
    tags[0, 0, 0, 2], tags[0, 1, 1, 2] = 1.5, 1.5  # person B mean 1.5, |m_A - m_B| = 0.5
    _, push = BatchedAssociativeEmbeddingLoss(1.0, 1.0, push_type='max', reduction='none')(tags, indices)
    # 0.5 * (2 * max(0, 1 - 0.5)) / 2 = 0.25
    torch.testing.assert_close(push, torch.tensor([0.25, 0.0], dtype=torch.float64), rtol=1e-14, atol=0)


@pytest.mark.parametrize('seed', [0, 1, 2])
@pytest.mark.parametrize('dtype,rtol', [(torch.float64, 1e-12), (torch.float32, 1e-5)])
def test_matches_loop_baseline_values_and_gradients(seed, dtype, rtol):
    tags, indices = random_case(seed=seed, dtype=dtype)
    tags_a = tags.clone().requires_grad_(True)
    tags_b = tags.clone().requires_grad_(True)
    pull, push = BatchedAssociativeEmbeddingLoss()(tags_a, indices)
    ref_pull, ref_push = loop_ae_loss(tags_b, indices)
    assert pull.dtype == dtype
    torch.testing.assert_close(pull, ref_pull, rtol=rtol, atol=0)
    torch.testing.assert_close(push, ref_push, rtol=rtol, atol=0)
    assert pull.item() > 0 and push.item() > 0
    (pull + 3 * push).backward()
    (ref_pull + 3 * ref_push).backward()
    torch.testing.assert_close(tags_a.grad, tags_b.grad, rtol=rtol, atol=1e-12 if dtype == torch.float64 else 1e-9)
    assert tags_a.grad.abs().sum() > 0


def test_per_image_values_for_empty_and_single_person_images():
    tags, indices = random_case(seed=4)
    pull, push = BatchedAssociativeEmbeddingLoss(1.0, 1.0, reduction='none')(tags, indices)
    assert pull.shape == push.shape == (4, )
    assert pull[1] == 0 and push[1] == 0  # N = 0
    assert push[2] == 0 and pull[2] > 0  # N = 1: pull only
    for b in (0, 2, 3):
        ref_pull, ref_push = loop_ae_loss(tags[b:b + 1], indices[b:b + 1], 1.0, 1.0)
        torch.testing.assert_close(pull[b], ref_pull, rtol=1e-12, atol=0)
        torch.testing.assert_close(push[b], ref_push, rtol=1e-12, atol=0)


def test_no_people_anywhere_gives_zero_and_finite_gradients():
    tags = torch.randn(2, 3, 5, 5, requires_grad=True)
    for indices in (torch.zeros(2, 4, 3, 2, dtype=torch.long), torch.zeros(2, 0, 3, 2, dtype=torch.long),
                    [torch.zeros(0, 3, 2, dtype=torch.long)] * 2):
        pull, push = BatchedAssociativeEmbeddingLoss()(tags, indices)
        assert pull.item() == 0 and push.item() == 0
        (pull + push).backward()
        assert torch.all(tags.grad == 0)
        tags.grad = None


def test_padded_rows_are_ignored_and_list_equals_padded():
    tags, indices = random_case(seed=5)
    loss = BatchedAssociativeEmbeddingLoss(reduction='none')
    base = loss(tags, indices)
    # extra padding rows, some with invalid garbage positions (even out of range)
    garbage = torch.zeros(4, 3, 4, 2, dtype=torch.long)
    garbage[:, 1, :, 0] = 10_000
    padded_more = torch.cat([indices, garbage], dim=1)
    for a, b in zip(base, loss(tags, padded_more)):
        torch.testing.assert_close(a, b, rtol=1e-14, atol=0)
    # list input with different N_i, including N_i = 0
    as_list = [indices[0], indices[1, :0], indices[2, :1], indices[3, :3]]
    trimmed_valid = indices.clone()
    trimmed_valid[3, 3:, :, 1] = 0
    expected = loss(tags, trimmed_valid)
    for a, b in zip(expected, loss(tags, as_list)):
        torch.testing.assert_close(a, b, rtol=1e-14, atol=0)
    for a, b in zip(loop_ae_loss(tags, as_list), BatchedAssociativeEmbeddingLoss()(tags, as_list)):
        torch.testing.assert_close(a, b, rtol=1e-12, atol=0)


def test_non_contiguous_tag_slice_of_head_output():
    tags, indices = random_case(seed=6)
    head_output = torch.cat([torch.randn_like(tags), tags], dim=1)  # e.g. [heatmaps, tags] channels
    sliced = head_output[:, tags.shape[1]:]
    assert not sliced.is_contiguous()
    for a, b in zip(BatchedAssociativeEmbeddingLoss()(sliced, indices), loop_ae_loss(tags, indices)):
        torch.testing.assert_close(a, b, rtol=1e-12, atol=0)


@pytest.mark.parametrize('tag_dim', [1, 2, 3])
def test_multi_dim_tags_match_loop_and_mmpose(tag_dim):
    """L tag maps per joint, channels-first (B, L*K, H, W) with channel l*K + k (MMPose's layout): L > 1 follows
    MMPose's AssociativeEmbeddingLoss; the loop oracle reads the same tags in the reference layout (B, K, H, W, L)."""
    tags, indices = random_case(tag_dim=tag_dim, seed=7)  # (B, K, H, W, L)
    batch, keypoints, height, width, _ = tags.shape
    mm_tags = tags.permute(0, 4, 1, 2, 3).reshape(batch, tag_dim * keypoints, height, width)
    ours_pull, ours_push = BatchedAssociativeEmbeddingLoss(1.0, 1.0, reduction='none')(mm_tags, indices)
    for a, b in zip(BatchedAssociativeEmbeddingLoss()(mm_tags, indices), loop_ae_loss(tags, indices)):
        torch.testing.assert_close(a, b, rtol=1e-12, atol=0)

    # MMPose per image divides by (N + eps) and (N(N-1) + eps) and keeps the pair diagonal (N*L ones). Undo those.
    mm_loss, eps = AssociativeEmbeddingLoss(), 1e-6
    for b in range(batch):
        mm_pull, mm_push = mm_loss._ae_loss_per_image(mm_tags[b], indices[b])
        n = int((indices[b, :, :, 1] > 0).any(dim=1).sum())
        expected_pull = mm_pull * (n + eps) / n if n else mm_pull
        expected_push = 0.5 * (mm_push * (n * (n - 1) + eps) - n * tag_dim) / (n * (n - 1)) if n > 1 else mm_push
        torch.testing.assert_close(ours_pull[b], expected_pull.to(tags.dtype), rtol=1e-10, atol=1e-15)
        torch.testing.assert_close(ours_push[b], expected_push.to(tags.dtype), rtol=1e-8, atol=1e-15)


def test_out_of_range_index_raises():
    tags, indices = random_case(seed=8)
    bad = indices.clone()
    bad[3, 2, 1] = torch.tensor([36, 1])  # 6x6 map: valid range 0..35
    with pytest.raises(IndexError, match=r'keypoint_indices\[3, 2, 1\] = 36 .*6x6'):
        BatchedAssociativeEmbeddingLoss()(tags, bad)
    bad[3, 2, 1] = torch.tensor([-1, 1])
    with pytest.raises(IndexError, match='-1'):
        BatchedAssociativeEmbeddingLoss()(tags, bad)
    with pytest.raises(IndexError):
        loop_ae_loss(tags, bad)


@pytest.mark.parametrize('tags_shape,indices,error,match', [
    ((2, 3, 5, 5), torch.zeros(2, 4, 2, 2, dtype=torch.long), ValueError, 'not a multiple of the K=2 joints'),
    ((2, 3, 5, 5), torch.zeros(3, 4, 3, 2, dtype=torch.long), ValueError, 'keypoint_indices must be'),
    ((2, 3, 5, 5), [torch.zeros(1, 3, 2, dtype=torch.long)], ValueError, 'one per image'),
    ((2, 3, 5, 5), [torch.zeros(1, 3, 2, dtype=torch.long),
                    torch.zeros(1, 4, 2, dtype=torch.long)], ValueError, r'keypoint_indices\[1\]'),
    ((2, 3, 5, 5), torch.zeros(2, 4, 3, 2), TypeError, 'integer'),
    ((2, 3, 5), torch.zeros(2, 4, 3, 2, dtype=torch.long), ValueError, 'tags must be'),
])
def test_bad_inputs_raise_clear_errors(tags_shape, indices, error, match):
    with pytest.raises(error, match=match):
        BatchedAssociativeEmbeddingLoss()(torch.zeros(tags_shape), indices)


@pytest.mark.parametrize('kwargs', [dict(push_type='l2'), dict(reduction='sum')])
def test_bad_options_rejected(kwargs):
    with pytest.raises(ValueError, match=next(iter(kwargs))):
        BatchedAssociativeEmbeddingLoss(**kwargs)
