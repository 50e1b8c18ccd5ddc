"""HigherHRNetRandomAffine and BottomupRandomHorizontalFlip against the reference rules (spec 2.5, 9.11)."""
import cv2
import numpy as np
import pytest
from mmpose.datasets.transforms import RandomFlip
from mmpose.structures.bbox import get_warp_matrix

from swahr_mmpose.datasets.transforms import (BottomupRandomHorizontalFlip, HigherHRNetRandomAffine,
                                              reference_affine_matrix)
from oracles.reference_targets import reference_affine_matrix_3x3, reference_draw_affine_params


# ------------------------------------------------------------------------------------------------ affine matrix
@pytest.mark.parametrize('center, scale, side, rot', [
    ((160.0, 120.0), 1.2, 512, 0.0),
    ((171.0, 101.0), 1.73, 128, 23.4),
    ((300.5, 80.0), 0.9, 256, -29.0),
])
def test_affine_matrix_equals_reference_construction(center, scale, side, rot):
    ours = reference_affine_matrix(center, 200 * scale, rot, (side, side))
    assert np.allclose(ours, reference_affine_matrix_3x3(center, scale, side, rot)[:2], rtol=0, atol=1e-10)
    # and MMPose's three-point construction (float32 points) agrees with it
    mmpose = get_warp_matrix(np.array(center), np.array([200 * scale] * 2), rot, (side, side))
    assert np.allclose(ours, mmpose, atol=2e-3)


def test_affine_matrix_hand_worked():
    # crop side 200 around (100, 50) to 400 px: zoom 2; rotation 90 deg -> R(-90) = [[0, 1], [-1, 0]]
    mat = reference_affine_matrix((100.0, 50.0), 200.0, 90.0, (400, 400))
    assert np.allclose(mat @ [100.0, 50.0, 1.0], [200.0, 200.0])  # centre -> output centre
    assert np.allclose(mat @ [110.0, 50.0, 1.0], [200.0, 180.0])  # +10 x -> zoom 2, rotated to -y
    # levels are the input matrix scaled by S / I
    assert np.allclose(reference_affine_matrix((100.0, 50.0), 200.0, 90.0, (100, 100)), mat / 4)


# ------------------------------------------------------------------------------------------------ random affine
def _sample(img_h=240, img_w=320, num=3, seed=0):
    rng = np.random.default_rng(seed)
    return dict(
        img=rng.integers(0, 256, (img_h, img_w, 3), dtype=np.uint8),
        img_shape=(img_h, img_w),
        ori_shape=(img_h, img_w),
        keypoints=(rng.random((num, 17, 2)) * [img_w, img_h]).astype(np.float32),
        keypoints_visible=np.ones((num, 17), np.float32),
        bbox=np.array([[10, 20, 110, 220]] * num, dtype=np.float32),
        area=np.full(num, 1000.0, np.float32),
        flip_indices=[0, 2, 1, 4, 3, 6, 5, 8, 7, 10, 9, 12, 11, 14, 13, 16, 15])


@pytest.mark.parametrize('seed', [0, 1, 2, 3])
def test_random_affine_draws_like_the_reference_and_warps_everything(seed):
    sample = _sample(seed=seed)
    np.random.seed(seed)
    out = HigherHRNetRandomAffine(input_size=512)(dict(sample))
    np.random.seed(seed)
    params = reference_draw_affine_params(240, 320)

    assert out['aug_scale'] == params['aug_scale'] and out['aug_rotation'] == params['rotation']
    dx, dy = out['aug_translation']
    assert (160 + dx, 120 + dy) == tuple(params['center'])
    bound = int(40 * 240 / 200 * out['aug_scale'])
    assert -bound <= dx < bound and -bound <= dy < bound
    assert 0.75 <= out['aug_scale'] < 1.5 and -30 <= out['aug_rotation'] < 30

    ref_mat = reference_affine_matrix_3x3(params['center'], params['scale'], 512, params['rotation'])[:2]
    assert np.allclose(out['warp_mat'], ref_mat, rtol=0, atol=1e-9)
    assert out['input_size'] == (512, 512) and out['img'].shape == (512, 512, 3)
    assert out['img_shape'] == (240, 320)  # MMPose convention: stays the original size
    assert np.array_equal(out['img'], cv2.warpAffine(sample['img'], ref_mat, (512, 512)))

    flat = np.hstack([sample['keypoints'].reshape(-1, 2), np.ones((51, 1))]) @ ref_mat.T
    assert out['keypoints'].dtype == np.float64
    assert np.allclose(out['keypoints'], flat.reshape(3, 17, 2), atol=1e-9)
    assert np.array_equal(out['keypoints_visible'], sample['keypoints_visible'])
    corners = np.array([[10, 20], [10, 220], [110, 20], [110, 220]], dtype=np.float64)
    assert out['bbox'].shape == (3, 4, 2)
    assert np.allclose(out['bbox'][0], corners @ ref_mat[:, :2].T + ref_mat[:, 2], atol=1e-3)
    zoom = 512 / (200 * params['scale'])
    assert np.allclose(out['area'], 1000.0 * zoom**2, rtol=1e-5)


def test_random_affine_deterministic_extremes_and_non_square():
    sample = _sample(img_h=200, img_w=400)
    aff = HigherHRNetRandomAffine(input_size=(300, 100), scale_factor=(1.0, 1.0), rotate_factor=0, max_translate=0)
    out = aff(dict(sample))
    assert out['img'].shape == (100, 300, 3) and out['input_size'] == (300, 100)
    # crop side = min(h, w) = 200 -> min(300, 100) = 100: zoom 0.5, image centre (200, 100) -> (150, 50)
    assert np.allclose(out['warp_mat'], [[0.5, 0, 50], [0, 0.5, 0]])
    assert out['aug_translation'] == (0, 0)
    long = HigherHRNetRandomAffine(
        input_size=400, scale_factor=(1.0, 1.0), rotate_factor=0, max_translate=0, scale_type='long')(
            dict(sample))
    assert np.allclose(long['warp_mat'][:, :2], np.eye(2))  # crop side = max side 400 -> 400 px


def test_random_affine_rejects_bad_config():
    with pytest.raises(ValueError, match='scale_factor'):
        HigherHRNetRandomAffine(512, scale_factor=(1.5, 0.75))
    with pytest.raises(ValueError, match='scale_type'):
        HigherHRNetRandomAffine(512, scale_type='diag')
    with pytest.raises(ValueError, match='input_size'):
        HigherHRNetRandomAffine((512, -1))
    with pytest.raises(ValueError, match="results\\['bbox'\\]"):
        HigherHRNetRandomAffine(512)(dict(_sample(), bbox=np.zeros((3, 5))))


# ------------------------------------------------------------------------------------------------ flip
def test_flip_keypoints_boxes_and_image():
    img = np.arange(4 * 6 * 3, dtype=np.uint8).reshape(4, 6, 3)
    keypoints = np.array([[[1.0, 2.0], [4.5, 3.0], [0.0, 0.0]]])
    visible = np.array([[[1, 0.5], [2, 0.7], [0, 0.0]]])
    results = dict(
        img=img,
        keypoints=keypoints.copy(),
        keypoints_visible=visible.copy(),
        flip_indices=[1, 0, 2],
        input_size=(6, 4),
        bbox=np.array([[1.0, 0.0, 4.0, 3.0]]))
    out = BottomupRandomHorizontalFlip(prob=1.0)(results)
    assert out['flip'] is True and out['flip_direction'] == 'horizontal'
    assert np.array_equal(out['img'], img[:, ::-1]) and out['img'].flags['C_CONTIGUOUS']
    # x' = 6 - 1 - x and joints 0/1 swapped
    assert out['keypoints'].tolist() == [[[0.5, 3.0], [4.0, 2.0], [5.0, 0.0]]]
    assert out['keypoints_visible'].tolist() == [[[2, 0.7], [1, 0.5], [0, 0.0]]]
    assert out['bbox'].tolist() == [[1.0, 0.0, 4.0, 3.0]]  # x1' = 5 - 4, x2' = 5 - 1
    corners = np.array([[[1.0, 0.0], [1.0, 3.0], [4.0, 0.0], [4.0, 3.0]]])
    out = BottomupRandomHorizontalFlip(prob=1.0)(dict(results, bbox=corners))
    assert out['bbox'][0, :, 0].tolist() == [4.0, 4.0, 1.0, 1.0]


def test_no_flip_leaves_sample_unchanged():
    keypoints = np.array([[[1.0, 2.0]]])
    out = BottomupRandomHorizontalFlip(prob=0.0)(
        dict(
            img=np.zeros((4, 6, 3), np.uint8), keypoints=keypoints, keypoints_visible=np.ones((1, 1)),
            flip_indices=[0]))
    assert out['flip'] is False and out['flip_direction'] is None
    assert out['keypoints'] is keypoints


def test_flip_probability_uses_numpy_rng():
    flip = BottomupRandomHorizontalFlip(prob=0.5)
    np.random.seed(0)
    flags = [flip(dict(img=np.zeros((2, 2, 3), np.uint8)))['flip'] for _ in range(400)]
    np.random.seed(0)
    expected = [np.random.rand() < 0.5 for _ in range(400)]
    assert flags == expected and 150 < sum(flags) < 250


def test_non_square_flip_is_correct_unlike_mmpose_randomflip():
    """Input (w, h) = (64, 32): the flipped x must be 63 - x. MMPose's RandomFlip swaps w and h and uses 31 - x."""
    base = dict(
        img=np.zeros((32, 64, 3), np.uint8),
        img_shape=(32, 64),
        input_size=(64, 32),
        keypoints=np.array([[[10.0, 5.0]]]),
        keypoints_visible=np.ones((1, 1)),
        flip_indices=[0])
    ours = BottomupRandomHorizontalFlip(prob=1.0)(dict(base, keypoints=base['keypoints'].copy()))
    assert ours['keypoints'][0, 0].tolist() == [53.0, 5.0]
    theirs = RandomFlip(prob=1.0)(dict(base, keypoints=base['keypoints'].copy()))
    assert theirs['keypoints'][0, 0, 0] == 21.0  # the known MMPose bug this transform exists for


def test_flip_errors():
    base = dict(
        img=np.zeros((4, 6, 3), np.uint8),
        keypoints=np.zeros((1, 3, 2)),
        keypoints_visible=np.ones((1, 3)),
        flip_indices=[1, 0, 2])
    flip = BottomupRandomHorizontalFlip(prob=1.0)
    with pytest.raises(ValueError, match='flip_indices'):
        flip(dict(base, flip_indices=[1, 0]))
    with pytest.raises(ValueError, match='input_size'):
        flip(dict(base, input_size=(8, 4)))
    with pytest.raises(ValueError, match='before the target generator'):
        flip(dict(base, heatmaps=[np.zeros((3, 2, 2))]))
    with pytest.raises(ValueError, match='keypoints_visible'):
        flip(dict(base, keypoints_visible=np.ones((2, 3))))
    with pytest.raises(ValueError, match='prob'):
        BottomupRandomHorizontalFlip(prob=1.5)
