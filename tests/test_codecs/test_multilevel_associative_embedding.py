"""MultiLevelAssociativeEmbedding.encode (and ScaleAdaptiveGenerateTarget running it): hand-worked target values,
reference-loop equality, capacity, sigma/centre options, flip conventions, packing and input validation.

Hand-worked cases use ``input_size == heatmap size`` so that input px are level px; the Gaussian values are written
out as ``exp(-d^2 / (2 * 2^2))`` with d the integer pixel offset from the (truncated) centre.
"""
from unittest import mock

import numpy as np
import pytest
import torch
from mmpose.datasets.transforms import PackPoseInputs
from mmpose.structures import MultilevelPixelData

from swahr_mmpose.codecs import MultiLevelAssociativeEmbedding
from swahr_mmpose.datasets.transforms import BottomupRandomHorizontalFlip, ScaleAdaptiveGenerateTarget
from oracles.reference_targets import (loop_generate_targets, packed_to_slot_aligned, reference_heatmaps,
                                       reference_joint_indices)

G = lambda d2: np.float32(np.exp(-d2 / 8.0))  # noqa: E731  reference Gaussian value (sigma 2) at squared distance


def level_sizes(heatmap_sizes):
    """Square levels given as ints -> the codec's list of (w, h) pairs."""
    return [(s, s) if np.isscalar(s) else tuple(s) for s in heatmap_sizes]


def make_codec(input_size, heatmap_sizes, **kwargs):
    """The codec with one entry per level (a one-level list keeps list outputs, as multi-level configs get)."""
    return MultiLevelAssociativeEmbedding(input_size=input_size, heatmap_size=level_sizes(heatmap_sizes), **kwargs)


def target_transform(input_size, heatmap_sizes, mask_kwargs=None, **codec_kwargs):
    encoder = dict(
        type='MultiLevelAssociativeEmbedding',
        input_size=input_size,
        heatmap_size=level_sizes(heatmap_sizes),
        **codec_kwargs)
    return ScaleAdaptiveGenerateTarget(encoder=encoder, **(mask_kwargs or {}))


def encode_one_level(points, visible=None, size=64, **kwargs):
    """Heatmaps of one level with input px == level px; ``points`` (N, K, 2)."""
    points = np.asarray(points, dtype=np.float64)
    if visible is None:
        visible = np.ones(points.shape[:2])
    return make_codec(size, [size], **kwargs).encode(points, np.asarray(visible, dtype=np.float64))


def random_people(rng, num_people, num_joints, input_size):
    keypoints = rng.uniform(-0.1, 1.1, size=(num_people, num_joints, 2)) * input_size
    visible = rng.choice([0.0, 1.0, 2.0], size=(num_people, num_joints))
    return keypoints, visible


# ------------------------------------------------------------------------------------------------ hand-worked
def test_single_joint_peak_and_values():
    hm = encode_one_level([[[10.7, 5.2]]])['heatmaps'][0][0]
    assert hm.dtype == np.float32 and hm.shape == (64, 64)
    assert hm[5, 10] == 1.0  # truncation: (10.7, 5.2) -> (10, 5)
    assert np.unravel_index(hm.argmax(), hm.shape) == (5, 10)
    assert hm[5, 17] == G(49)  # 7 px right, last column of the 15x15 window
    assert hm[5, 3] == G(49)
    assert hm[12, 17] == G(98)  # window corner, still > 0 (4.8e-6)
    assert hm[5, 18] == 0 and hm[13, 10] == 0  # outside the window
    assert hm[6, 11] == G(2)
    assert np.count_nonzero(hm) == 15 * 13  # columns 3..17, rows 0..12 (clipped at the top: 5 - 7 < 0)


def test_truncation_keeps_small_negatives_and_drops_boundary():
    # x in (-1, 0) truncates to 0 and is kept; window clipped to columns 0..7 and rows 0..10 (y = 3)
    hm = encode_one_level([[[-0.5, 3.0]]])['heatmaps'][0][0]
    assert hm[3, 0] == 1.0 and hm[3, 7] == G(49) and hm[0, 0] == G(9)
    assert np.count_nonzero(hm) == 8 * 11
    # S - 0.01 -> 63 kept; exactly S and -1 are dropped
    hm = encode_one_level([[[63.99, 63.99]]])['heatmaps'][0][0]
    assert hm[63, 63] == 1.0 and np.count_nonzero(hm) == 8 * 8
    for x, y in [(64.0, 10.0), (10.0, 64.0), (-1.0, 10.0), (10.0, -1.0), (-1.5, 10.0)]:
        out = encode_one_level([[[x, y]]])
        assert not out['heatmaps'][0].any(), (x, y)
        assert out['keypoint_indices'].tolist() == [[[0, 0]]] and out['keypoint_weights'].tolist() == [[0.0]]


def test_window_clipping_at_all_borders():
    hm = encode_one_level([[[62.2, 1.9]]])['heatmaps'][0][0]  # centre (62, 1)
    assert hm[1, 62] == 1.0 and hm[0, 63] == G(2) and hm[8, 55] == G(98)
    assert np.count_nonzero(hm) == (63 - 55 + 1) * (8 - 0 + 1)  # columns 55..63, rows 0..8


def test_max_combine_not_sum():
    hm = encode_one_level([[[20.0, 20.0]], [[23.0, 20.0]]])['heatmaps'][0][0]
    assert hm[20, 20] == 1.0 and hm[20, 23] == 1.0
    assert hm[20, 21] == G(1)  # max(g(1), g(4)); a sum would be g(1) + g(4)
    assert hm[20, 22] == G(1)
    assert hm[21, 21] == G(2)


def test_visibility_v1_v2_count_v0_ignored_and_channels():
    points = [[[10, 10], [30, 30], [50, 50]]]
    out = encode_one_level(points, visible=[[1, 2, 0]])
    hm = out['heatmaps'][0]
    assert hm.shape == (3, 64, 64)
    assert hm[0, 10, 10] == 1.0 and hm[1, 30, 30] == 1.0 and not hm[2].any()
    assert hm[0, 30, 30] == 0  # channel 0 holds joint 0 only
    assert out['keypoint_indices'].tolist() == [[[10 * 64 + 10, 1], [30 * 64 + 30, 1], [0, 0]]]
    assert out['keypoint_weights'].tolist() == [[1.0, 1.0, 0.0]]
    assert out['keypoint_indices'].dtype == np.int64 and out['keypoint_weights'].dtype == np.float32


def test_two_levels_and_tag_indices_at_level0():
    # input 64, levels 16 (1/4) and 32 (1/2): (10.7, 5.2) -> (2.675, 1.3) -> (2, 1) and (5.35, 2.6) -> (5, 2)
    gen = make_codec(64, [16, 32])
    out = gen.encode(np.array([[[10.7, 5.2]]]), np.ones((1, 1)))
    hm0, hm1 = out['heatmaps']
    assert hm0.shape == (1, 16, 16) and hm1.shape == (1, 32, 32)
    assert hm0[0, 1, 2] == 1.0 and hm0[0, 1, 9] == G(49) and hm0[0, 0, 0] == G(5)
    assert hm1[0, 2, 5] == 1.0 and hm1[0, 2, 12] == G(49)
    assert out['keypoint_indices'].tolist() == [[[1 * 16 + 2, 1]]]
    # levels decide independently: input x = -3 -> -0.75 at 1/4 (truncates to 0, kept, tagged) but -1.5 at 1/2
    # (truncates to -1, dropped)
    out = gen.encode(np.array([[[-3.0, 8.0]]]), np.ones((1, 1)))
    assert out['heatmaps'][0][0, 2, 0] == 1.0 and not out['heatmaps'][1].any()
    assert out['keypoint_indices'].tolist() == [[[2 * 16 + 0, 1]]]
    # v = 0 is dropped at every level
    out = gen.encode(np.array([[[10.7, 5.2]]]), np.zeros((1, 1)))
    assert not out['heatmaps'][0].any() and not out['heatmaps'][1].any()


def test_non_square_sizes():
    gen = make_codec((96, 64), [(24, 16), (48, 32)])
    out = gen.encode(np.array([[[95.0, 10.0]]]), np.ones((1, 1)))
    assert out['heatmaps'][0].shape == (1, 16, 24) and out['heatmaps'][1].shape == (1, 32, 48)
    assert out['heatmaps'][0][0, 2, 23] == 1.0  # (23.75, 2.5) -> (23, 2)
    assert out['heatmaps'][1][0, 5, 47] == 1.0
    assert out['keypoint_indices'][0, 0].tolist() == [2 * 24 + 23, 1]


# ------------------------------------------------------------------------------------------------ reference loop
@pytest.mark.parametrize('seed', [0, 1, 2])
def test_bit_identical_to_reference_loops(seed):
    rng = np.random.default_rng(seed)
    keypoints, visible = random_people(rng, 25, 17, 512)
    gen = make_codec(512, [128, 256])
    ours = gen.encode(keypoints, visible)
    for level, side in enumerate([128, 256]):
        joints = np.concatenate([keypoints * (side / 512), visible[..., None]], axis=-1)
        assert np.array_equal(ours['heatmaps'][level], reference_heatmaps(joints, side))
    joints0 = np.concatenate([keypoints * 0.25, visible[..., None]], axis=-1)
    packed = reference_joint_indices(joints0, 128, max_num_people=30)
    assert np.array_equal(ours['keypoint_indices'], packed_to_slot_aligned(packed, 25, 128))
    loop = loop_generate_targets(keypoints, visible, 512, [128, 256])
    assert np.array_equal(ours['keypoint_weights'], loop['keypoint_weights'])
    assert ours['keypoint_weights'].sum() > 100  # the random case is not trivially empty


def test_keypoints_visible_with_weights_column_is_accepted():
    rng = np.random.default_rng(3)
    keypoints, visible = random_people(rng, 4, 17, 64)
    gen = target_transform(64, [16, 32])
    plain = gen(dict(keypoints=keypoints, keypoints_visible=visible, ori_shape=(64, 64)))
    paired = gen(
        dict(
            keypoints=keypoints,
            keypoints_visible=np.stack([visible, np.full_like(visible, 0.3)], -1),
            ori_shape=(64, 64)))
    for a, b in zip(plain['heatmaps'], paired['heatmaps']):
        assert np.array_equal(a, b)
    assert np.array_equal(plain['keypoint_indices'], paired['keypoint_indices'])


def test_no_people():
    gen = target_transform(64, [16, 32])
    out = gen(dict(keypoints=np.zeros((0, 17, 2)), keypoints_visible=np.zeros((0, 17)), ori_shape=(64, 64)))
    assert [h.shape for h in out['heatmaps']] == [(17, 16, 16), (17, 32, 32)]
    assert not any(h.any() for h in out['heatmaps'])
    assert out['keypoint_indices'].shape == (0, 17, 2) and out['keypoint_weights'].shape == (0, 17)


# ------------------------------------------------------------------------------------------------ capacity
def test_more_than_30_people_keeps_heatmaps_and_invalidates_extra_tag_rows():
    rng = np.random.default_rng(4)
    keypoints, visible = random_people(rng, 40, 17, 128)
    keypoints = np.clip(keypoints, 1, 126)  # every joint lands inside the map
    visible[:] = 1
    visible[[3, 10]] = 0  # two people without joints do not use capacity
    gen = target_transform(128, [32, 64])
    with mock.patch('swahr_mmpose.codecs.multilevel_associative_embedding.print_log') as log:
        out = gen(dict(keypoints=keypoints, keypoints_visible=visible, ori_shape=(128, 128)))
        gen(dict(keypoints=keypoints, keypoints_visible=visible, ori_shape=(128, 128)))
    assert log.call_count == 1  # warned once per codec instance
    assert log.call_args.kwargs['level'] == 30  # logging.WARNING

    has_tags = out['keypoint_weights'].any(axis=1)
    # people with joints in annotation order: 0..2, 4..9, 11..31 are the first 30; 32..39 are over capacity
    expected = np.zeros(40, dtype=bool)
    expected[[i for i in range(32) if i not in (3, 10)]] = True
    assert np.array_equal(has_tags, expected)
    assert not out['keypoint_indices'][32:].any()
    # heatmaps still contain everyone
    loop = loop_generate_targets(keypoints, visible, 128, [32, 64])
    for a, b in zip(out['heatmaps'], loop['heatmaps']):
        assert np.array_equal(a, b)
    # the reference's own JointsGenerator would crash here
    with pytest.raises(IndexError):
        reference_joint_indices(np.concatenate([keypoints / 4, visible[..., None]], -1), 32)


def test_unlimited_capacity():
    rng = np.random.default_rng(5)
    keypoints, visible = random_people(rng, 45, 5, 64)
    gen = make_codec(64, [16], max_num_people=None)
    out = gen.encode(keypoints, visible)
    loop = loop_generate_targets(keypoints, visible, 64, [16], max_num_people=None)
    assert np.array_equal(out['keypoint_indices'], loop['keypoint_indices'])
    capped = make_codec(64, [16], max_num_people=7).encode(keypoints, visible)
    assert np.array_equal(capped['keypoint_indices'],
                          loop_generate_targets(keypoints, visible, 64, [16], max_num_people=7)['keypoint_indices'])
    assert capped['keypoint_weights'].any(axis=1).sum() == 7


# ------------------------------------------------------------------------------------------------ options
def test_round_center_mode():
    out = encode_one_level([[[10.7, 5.2], [10.4, 5.5], [-0.6, 3.0], [-0.4, 3.0]]], center_mode='round')
    hm = out['heatmaps'][0]
    assert hm[0, 5, 11] == 1.0  # floor(10.7 + 0.5) = 11, floor(5.2 + 0.5) = 5
    assert hm[1, 6, 10] == 1.0  # 10.4 -> 10, 5.5 -> 6
    assert not hm[2].any()  # -0.6 -> -1: dropped
    assert hm[3, 3, 0] == 1.0  # -0.4 -> 0
    assert out['keypoint_indices'][0, :, 0].tolist() == [5 * 64 + 11, 6 * 64 + 10, 0, 3 * 64]


def test_bbox_sigma_in_each_levels_pixels():
    # original box 100 x 256 px; the affine scales original -> input by 2 (input 512), so max side = 512 input px.
    # sigma_orig = 256 / 256 * 2 = 2 original px = 4 input px -> 1.0 px at 1/4 (128) and 2.0 px at 1/2 (256).
    gen = target_transform(512, [128, 256], sigma_mode='bbox')
    warp = np.array([[2.0, 0.0, 0.0], [0.0, 2.0, 0.0]])
    base = dict(
        keypoints=np.array([[[200.0, 100.0]]]), keypoints_visible=np.ones((1, 1)), ori_shape=(256, 256), warp_mat=warp)
    xyxy = gen(dict(base, bbox=np.array([[10.0, 0.0, 110.0, 256.0]])))
    corners = gen(dict(base, bbox=np.array([[[20, 0], [20, 512], [220, 0], [220, 512]]], dtype=np.float64)))
    for out in (xyxy, corners):
        hm0, hm1 = out['heatmaps'][0][0], out['heatmaps'][1][0]
        assert hm0[25, 50] == 1.0 and hm0[25, 51] == np.float32(np.exp(-1 / 2.0))  # sigma 1
        assert hm0[25, 54] == np.float32(np.exp(-16 / 2.0)) and hm0[25, 55] == 0  # radius ceil(3*1+1) = 4
        assert hm1[50, 100] == 1.0 and hm1[50, 101] == G(1) and hm1[50, 107] == G(49) and hm1[50, 108] == 0
    # two people with different boxes get different sigmas on the same channel-level
    two = gen(
        dict(
            base,
            keypoints=np.array([[[100.0, 100.0]], [[400.0, 100.0]]]),
            keypoints_visible=np.ones((2, 1)),
            bbox=np.array([[0, 0, 256, 10.0], [0, 0, 512, 10.0]])))
    hm1 = two['heatmaps'][1][0]
    assert hm1[50, 51] == G(1) and hm1[50, 201] == np.float32(np.exp(-1 / 32.0))  # sigma 2 and 4 at level 1


def test_fixed_non_default_sigma():
    hm = encode_one_level([[[20.0, 20.0]]], sigma=3.0)['heatmaps'][0][0]
    assert hm[20, 30] == np.float32(np.exp(-100 / 18.0)) and hm[20, 31] == 0  # 6*3+3 = 21 wide
    joints = np.array([[[20.0, 20.0, 1.0]]])
    assert np.array_equal(hm, reference_heatmaps(joints, 64, sigma=3)[0])


# ------------------------------------------------------------------------------------------------ flip
def _flip_then_generate(keypoints, convention, width=512):
    results = dict(
        img=np.zeros((width, width, 3), np.uint8),
        keypoints=np.asarray(keypoints, dtype=np.float64),
        keypoints_visible=np.ones((1, 2)),
        flip_indices=[1, 0],
        input_size=(width, width),
        ori_shape=(width, width))
    results = BottomupRandomHorizontalFlip(prob=1.0)(results)
    gen = target_transform(width, [128, 256], flip_convention=convention)
    return results, gen(results)


def test_flipped_sample_matches_reference_formula():
    # unflipped joint 0 at input (100.3, 50.9); joint 1 (its mirror partner) invisible far away.
    # Reference, per level S: x_out = 100.3 * S / 512, flipped x' = S - 1 - x_out, joint moves to channel 1.
    #   S=128: x_out = 25.075 -> x' = 101.925 -> 101;  y = 12.725 -> 12
    #   S=256: x_out = 50.15  -> x' = 204.85  -> 204;  y = 25.45  -> 25
    results, out = _flip_then_generate([[[100.3, 50.9], [400.0, 400.0]]], 'reference')
    assert results['keypoints'][0, 1].tolist() == pytest.approx([511 - 100.3, 50.9])  # image-consistent, input px
    hm0, hm1 = out['heatmaps']
    assert hm0[1, 12, 101] == 1.0 and hm1[1, 25, 204] == 1.0
    assert out['keypoint_indices'][0, 1].tolist() == [12 * 128 + 101, 1]
    # joint 0 after the flip comes from the unflipped joint 1 at x=400: S=128: 127 - 100 = 27; S=256: 255 - 200 = 55
    assert hm0[0, 100, 27] == 1.0 and hm1[0, 200, 55] == 1.0


def test_flipped_sample_consistent_convention():
    # consistent: x' = (511 - 100.3) * S / 512: S=128: 102.675 -> 102; S=256: 205.35 -> 205
    _, out = _flip_then_generate([[[100.3, 50.9], [400.0, 400.0]]], 'consistent')
    hm0, hm1 = out['heatmaps']
    assert hm0[1, 12, 102] == 1.0 and hm1[1, 25, 205] == 1.0
    assert hm0[0, 100, 27] == 1.0  # (511 - 400) / 4 = 27.75 -> 27
    assert hm1[0, 200, 55] == 1.0  # (511 - 400) / 2 = 55.5 -> 55


def test_unflipped_sample_ignores_flip_convention():
    rng = np.random.default_rng(6)
    keypoints, visible = random_people(rng, 6, 17, 512)
    a = make_codec(512, [128, 256], flip_convention='reference').encode(keypoints, visible)
    b = make_codec(512, [128, 256], flip_convention='consistent').encode(keypoints, visible)
    assert all(np.array_equal(x, y) for x, y in zip(a['heatmaps'], b['heatmaps']))


# ------------------------------------------------------------------------------------------------ packing
def test_pack_pose_inputs_packs_multilevel_fields_and_labels():
    rng = np.random.default_rng(7)
    keypoints, visible = random_people(rng, 3, 17, 64)
    results = dict(
        img=np.zeros((64, 64, 3), np.uint8),
        keypoints=keypoints,
        keypoints_visible=visible,
        ori_shape=(64, 64),
        img_shape=(64, 64),
        input_size=(64, 64),
        flip=False,
        flip_direction=None,
        bbox=np.zeros((3, 4), np.float32),
        id=[1, 2, 3],
        img_id=9)
    results = target_transform(64, [16, 32])(results)
    packed = PackPoseInputs(meta_keys=('id', 'img_id', 'input_size', 'flip', 'flip_direction'))(results)
    sample = packed['data_samples']
    assert isinstance(sample.gt_fields, MultilevelPixelData) and sample.gt_fields.nlevel == 2
    assert [tuple(h.shape) for h in sample.gt_fields.heatmaps] == [(17, 16, 16), (17, 32, 32)]
    assert all(isinstance(h, torch.Tensor) for h in sample.gt_fields.heatmaps)
    assert torch.equal(sample.gt_fields.heatmaps[1], torch.from_numpy(results['heatmaps'][1]))
    assert [tuple(m.shape) for m in sample.gt_fields.heatmap_mask] == [(16, 16), (32, 32)]
    labels = sample.gt_instance_labels
    assert labels.keypoint_indices.shape == (3, 17, 2) and labels.keypoint_indices.dtype == torch.int64
    assert labels.keypoint_weights.shape == (3, 17) and labels.keypoint_weights.dtype == torch.float32
    assert torch.equal(labels.keypoint_indices, torch.from_numpy(results['keypoint_indices']))
    assert sample.gt_instances.keypoints.shape == (3, 17, 2)
    assert sample.metainfo['input_size'] == (64, 64)


# ------------------------------------------------------------------------------------------------ validation
@pytest.mark.parametrize('results, match', [
    (dict(keypoints_visible=np.ones((1, 2))), "requires 'transformed_keypoints' or 'keypoints'"),
    (dict(keypoints=np.zeros((1, 2)), keypoints_visible=np.ones((1, 2))), r'keypoints must have shape \(N, K, 2\)'),
    (dict(keypoints=np.zeros((1, 2, 3)), keypoints_visible=np.ones((1, 2))), r'keypoints must have shape \(N, K, 2\)'),
    (dict(keypoints=np.zeros((1, 2, 2))), 'keypoints_visible'),
    (dict(keypoints=np.zeros((1, 2, 2)), keypoints_visible=np.ones((2, 1))), 'keypoints_visible must have shape'),
    (dict(keypoints=np.full((1, 2, 2), np.nan), keypoints_visible=np.ones(
        (1, 2)), img_path='a.jpg', img_id=7), r'non-finite .* person 0, joint 0 .*image a\.jpg, img_id 7'),
    (dict(keypoints=np.zeros((1, 2, 2)), keypoints_visible=np.ones((1, 2)), input_size=(32, 64)), 'input_size'),
    (dict(keypoints=np.zeros((1, 2, 2)), keypoints_visible=np.ones(
        (1, 2)), flip=True, flip_direction='vertical'), 'horizontal'),
])
def test_bad_inputs_raise_clear_errors(results, match):
    gen = target_transform(64, [16])
    with pytest.raises((ValueError, KeyError), match=match):
        gen(dict(results, ori_shape=(64, 64)))


def test_nan_for_invisible_joints_is_fine():
    gen = make_codec(64, [16])
    out = gen.encode(np.array([[[np.nan, np.nan], [8.0, 8.0]]]), np.array([[0.0, 1.0]]))
    assert out['heatmaps'][0][1, 2, 2] == 1.0 and out['keypoint_indices'][0, 0].tolist() == [0, 0]


def test_single_level_codec_gives_arrays_for_single_level_heads():
    """heatmap_size=(w, h): one array, so PackPoseInputs builds a PixelData as MMPose's AE head reads it."""
    codec = MultiLevelAssociativeEmbedding(input_size=64, heatmap_size=(16, 16))
    out = codec.encode(np.array([[[10.7, 5.2]]]), np.ones((1, 1)))
    assert isinstance(out['heatmaps'], np.ndarray) and out['heatmaps'].shape == (1, 16, 16)
    multi = make_codec(64, [16]).encode(np.array([[[10.7, 5.2]]]), np.ones((1, 1)))
    assert np.array_equal(out['heatmaps'], multi['heatmaps'][0])
    results = ScaleAdaptiveGenerateTarget(
        encoder=dict(type='MultiLevelAssociativeEmbedding', input_size=64, heatmap_size=(16, 16)))(
            dict(keypoints=np.array([[[10.7, 5.2]]]), keypoints_visible=np.ones((1, 1)), ori_shape=(64, 64)))
    packed = PackPoseInputs()(dict(results, img=np.zeros((64, 64, 3), np.uint8)))['data_samples']
    assert packed.gt_fields.heatmaps.shape == (1, 16, 16) and packed.gt_fields.heatmap_mask.shape == (1, 16, 16)


def test_codec_checks_the_joint_count():
    codec = make_codec(64, [16], num_keypoints=14)
    with pytest.raises(ValueError, match=r'K=17 joints but the codec is configured for num_keypoints=14'):
        codec.encode(np.zeros((1, 17, 2)), np.ones((1, 17)))


@pytest.mark.parametrize('kwargs, match', [
    (dict(input_size=64, heatmap_size=[]), 'heatmap_size'),
    (dict(input_size=64, heatmap_size=[(16, 0)]), r'heatmap_size\[0\]'),
    (dict(input_size=(64, 'a'), heatmap_size=[(16, 16)]), 'input_size'),
    (dict(input_size=64, heatmap_size=[(16, 16)], sigma=0), 'sigma'),
    (dict(input_size=64, heatmap_size=[(16, 16)], sigma_mode='area'), 'sigma_mode'),
    (dict(input_size=64, heatmap_size=[(16, 16)], center_mode='ceil'), 'center_mode'),
    (dict(input_size=64, heatmap_size=[(16, 16)], flip_convention='x'), 'flip_convention'),
    (dict(input_size=64, heatmap_size=[(16, 16)], tag_level=1), 'tag_level'),
    (dict(input_size=64, heatmap_size=[(16, 8)], sigma_mode='bbox'), 'isotropic'),
])
def test_bad_config_raises(kwargs, match):
    with pytest.raises(ValueError, match=match):
        MultiLevelAssociativeEmbedding(**kwargs)
    with pytest.raises(ValueError, match='mask_source'):
        target_transform(64, [16], mask_kwargs=dict(mask_source='segs'))
    with pytest.raises(TypeError, match='needs a MultiLevelAssociativeEmbedding encoder'):
        ScaleAdaptiveGenerateTarget(
            encoder=dict(type='AssociativeEmbedding', input_size=(64, 64), heatmap_size=(16, 16)))


def test_bbox_mode_needs_boxes():
    gen = target_transform(64, [16], sigma_mode='bbox')
    base = dict(keypoints=np.zeros((2, 1, 2)), keypoints_visible=np.ones((2, 1)), ori_shape=(64, 64))
    with pytest.raises(ValueError, match='bbox'):
        gen(base)
    with pytest.raises(ValueError, match=r"results\['bbox'\]"):
        gen(dict(base, bbox=np.zeros((2, 3))))
    with pytest.raises(ValueError, match='one box per person'):
        gen(dict(base, bbox=np.zeros((3, 4))))


def test_decode_options_are_the_decoders_arguments_with_a_prefix():
    """Each decoding option is defined once (AEDecoder) and reached from the codec as ``decode_<name>`` only."""
    codec = make_codec(
        64, [16, 32],
        num_keypoints=5,
        decode_keypoint_thr=0.2,
        decode_refine=False,
        decode_max_match_groups=7,
        decode_keypoint_order=[4, 3, 2, 1, 0])
    assert (codec.decoder.keypoint_thr, codec.decoder.refine, codec.decoder.num_keypoints) == (0.2, False, 5)
    assert codec.decoder.keypoint_order == [4, 3, 2, 1, 0]
    assert codec.decoder._grouping_options(5).max_match_groups == 7
    assert make_codec(64, [16]).decoder.center_shift == 0.5  # truncated centres
    assert make_codec(64, [16], center_mode='round').decoder.center_shift == 0.0
    assert make_codec(64, [16], decode_center_shift=0.25).decoder.center_shift == 0.25
    for bad in ('decode_cfg', 'decode_gaussian_kernel', 'keypoint_thr', 'decode_num_keypoints'):
        with pytest.raises(TypeError, match=f"unexpected argument '{bad}'.*decode_keypoint_thr"):
            make_codec(64, [16], **{bad: 1})
