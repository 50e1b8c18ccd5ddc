"""ReferenceBottomupResize: canvas sizes, centre, scale, pixels and mapping back.

The expected values come from an independent re-statement of the reference
test code (``get_multi_scale_size``, ``get_affine_transform`` with rotation,
``resize_align_multi_scale``, ``get_final_preds``) written below from the spec
(docs/reference_behaviour.md#resize), not from the module under test.
"""
import cv2
import numpy as np
import pytest
from mmengine.structures import InstanceData
from mmpose.datasets.transforms import BottomupResize
from mmpose.models.pose_estimators import BottomupPoseEstimator
from mmpose.registry import TRANSFORMS
from mmpose.structures import PoseDataSample

from swahr_mmpose.datasets.transforms.reference_resize import ReferenceBottomupResize, reference_round_up


# ------------------------------------------------- independent reference model
def spec_multi_scale_size(w, h, input_size, current_scale, min_scale):
    """Spec 5.2 step 2: ((w, h) resized, centre, scale in 200-px units)."""
    center = np.array([int(w / 2.0 + 0.5), int(h / 2.0 + 0.5)])
    mi = int((min_scale * input_size + 63) // 64 * 64)
    if w < h:
        w_r = int(mi * current_scale / min_scale)
        h_r = int(int((mi / w * h + 63) // 64 * 64) * current_scale / min_scale)
        scale = np.array([w / 200.0, h_r / w_r * w / 200.0])
    else:
        h_r = int(mi * current_scale / min_scale)
        w_r = int(int((mi / h * w + 63) // 64 * 64) * current_scale / min_scale)
        scale = np.array([w_r / h_r * h / 200.0, h / 200.0])
    return (w_r, h_r), center, scale


def spec_affine(center, scale, rot, output_size, inv=False):
    """Reference get_affine_transform (general rotation, zero shift)."""
    src_w = (scale * 200.0)[0]
    dst_w, dst_h = output_size
    rad = np.pi * rot / 180
    sn, cs = np.sin(rad), np.cos(rad)

    def rotate(p):
        return np.array([p[0] * cs - p[1] * sn, p[0] * sn + p[1] * cs])

    def third(a, b):
        d = a - b
        return b + np.array([-d[1], d[0]], dtype=np.float32)

    src = np.zeros((3, 2), np.float32)
    dst = np.zeros((3, 2), np.float32)
    src[0] = center
    src[1] = center + rotate([0, src_w * -0.5])
    dst[0] = [dst_w * 0.5, dst_h * 0.5]
    dst[1] = np.array([dst_w * 0.5, dst_h * 0.5]) + np.array([0, dst_w * -0.5], np.float32)
    src[2] = third(src[0], src[1])
    dst[2] = third(dst[0], dst[1])
    if inv:
        return cv2.getAffineTransform(np.float32(dst), np.float32(src))
    return cv2.getAffineTransform(np.float32(src), np.float32(dst))


def spec_pyramid(img, input_size, scale_factors):
    """Reference loop: descending scales; returns images, base size, last c/s."""
    h, w = img.shape[:2]
    min_scale = min(scale_factors)
    base_size, _, _ = spec_multi_scale_size(w, h, input_size, 1.0, min_scale)
    images = {}
    for s in sorted(scale_factors, reverse=True):
        size, center, scale = spec_multi_scale_size(w, h, input_size, s, min_scale)
        images[s] = cv2.warpAffine(img, spec_affine(center, scale, 0, size), size)
    return images, base_size, center, scale  # centre/scale of the last one


def spec_final_preds(points, center, scale, base_size):
    """get_final_preds: inverse affine onto the original image."""
    inv = spec_affine(center, scale, 0, base_size, inv=True)
    return points @ inv[:, :2].T + inv[:, 2]


def mmpose_mapping(points, results):
    """BottomupPoseEstimator.add_pred_to_datasample, the real MMPose code."""
    sample = PoseDataSample(
        metainfo=dict(
            input_size=results['input_size'], input_center=results['input_center'], input_scale=results['input_scale']))
    pred = InstanceData(
        keypoints=points[None].astype(np.float32), keypoint_scores=np.ones((1, len(points)), np.float32))
    # The method uses no estimator state, so no model needs to be built.
    out = BottomupPoseEstimator.add_pred_to_datasample(None, [pred], None, [sample])
    return out[0].pred_instances.keypoints[0]


def random_image(h, w, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


# ------------------------------------------------------------------- sizes
@pytest.mark.parametrize(
    'hw, expected_hw',
    [
        ((480, 640), (512, 704)),  # landscape, from the spec example
        ((640, 480), (704, 512)),  # portrait
        ((512, 512), (512, 512)),
    ])
def test_single_scale_canvas(hw, expected_hw):
    out = ReferenceBottomupResize(512)(dict(img=random_image(*hw)))
    assert out['img'].shape == (*expected_hw, 3)
    assert out['img_shape'] == expected_hw
    assert out['input_size'] == expected_hw[::-1]
    assert 'aug_scales' not in out


@pytest.mark.parametrize('hw, base_hw', [((480, 640), (512, 768)), ((640, 480), (768, 512))])
def test_multi_scale_canvases_spec_example(hw, base_hw):
    out = ReferenceBottomupResize(512, aug_scales=[0.5, 2.0])(dict(img=random_image(*hw)))
    bh, bw = base_hw
    # Order [1.0, *aug_scales]: base, half, double.
    assert [i.shape[:2] for i in out['img']] == [(bh, bw), (bh // 2, bw // 2), (2 * bh, 2 * bw)]
    assert out['input_size'] == (bw, bh)
    assert out['img_shape'] == (bh, bw)
    assert out['aug_scales'] == [0.5, 2.0]


@pytest.mark.parametrize('hw', [(480, 640), (640, 480), (333, 200), (97, 211), (1024, 1409), (211, 97), (50, 50)])
@pytest.mark.parametrize('aug_scales', [None, [0.5, 2.0], [0.75], [1.5, 2.0]])
def test_pyramid_pixels_match_reference_bit_exactly(hw, aug_scales):
    img = random_image(*hw, seed=hw[0])
    input_size = 128
    out = ReferenceBottomupResize(input_size, aug_scales=aug_scales)(dict(img=img.copy()))
    scales = [1.0] + list(aug_scales or [])
    ref_imgs, base_size, center, scale = spec_pyramid(img, input_size, scales)
    got = out['img'] if aug_scales else [out['img']]
    for s, got_img in zip(scales, got):
        np.testing.assert_array_equal(got_img, ref_imgs[s])
    assert out['input_size'] == base_size
    np.testing.assert_array_equal(out['input_center'], center)


@pytest.mark.parametrize('hw', [(480, 640), (640, 480), (333, 200), (97, 211), (1024, 1409)])
@pytest.mark.parametrize('aug_scales', [None, [0.5, 2.0], [0.75]])
def test_mmpose_mapping_back_equals_reference_get_final_preds(hw, aug_scales):
    img = random_image(*hw)
    out = ReferenceBottomupResize(512, aug_scales=aug_scales)(dict(img=img.copy()))
    _, base_size, center, scale = spec_pyramid(img, 512, [1.0] + list(aug_scales or []))
    rng = np.random.default_rng(1)
    pts = rng.uniform(0, 1, (50, 2)) * np.array(base_size)
    expected = spec_final_preds(pts, center, scale, base_size)
    np.testing.assert_allclose(mmpose_mapping(pts, out), expected, atol=1e-3)


@pytest.mark.parametrize('hw', [(480, 640), (641, 479), (97, 211)])
def test_warp_then_map_back_is_identity_single_scale(hw):
    out = ReferenceBottomupResize(512)(dict(img=random_image(*hw)))
    pts = np.random.default_rng(2).uniform(0, 1, (20, 2)) * [hw[1], hw[0]]
    canvas = pts @ out['warp_mat'][:, :2].T + out['warp_mat'][:, 2]
    np.testing.assert_allclose(mmpose_mapping(canvas, out), pts, atol=1e-3)


def test_black_symmetric_padding():
    img = np.full((480, 640, 3), 255, np.uint8)
    out = ReferenceBottomupResize(512)(dict(img=img))['img']
    # 640 * 512 / 480 = 682.7 px of content centred in 704: ~10.7 px each side.
    assert (out[:, :10] == 0).all() and (out[:, -10:] == 0).all()
    assert (out[:-1, 12:-12] == 255).all()  # the last row blends with the border


# ------------------------------------------------ named reference conventions
def test_reference_rounding_quirk_and_exact_ceil_switch():
    # Long side 512 / 1024 * 1409 = 704.5: the reference gives 704, a ceiling 768.
    assert reference_round_up(704.5, 64) == 704
    assert reference_round_up(704.5, 64, exact=True) == 768
    assert reference_round_up(704.0, 64) == 704 == reference_round_up(704.0, 64, exact=True)
    img = random_image(1024, 1409)
    assert ReferenceBottomupResize(512)(dict(img=img.copy()))['input_size'] == (704, 512)
    assert ReferenceBottomupResize(512, exact_ceil=True)(dict(img=img.copy()))['input_size'] == (768, 512)
    mm = BottomupResize((512, 512), size_factor=64, resize_mode='expand')(dict(img=img.copy(), ori_shape=(1024, 1409)))
    assert mm['input_size'] == (768, 512)  # documented difference 2


def test_centre_rounding_switch():
    img = random_image(333, 201)
    ref = ReferenceBottomupResize(512)(dict(img=img.copy()))
    flt = ReferenceBottomupResize(512, round_center=False)(dict(img=img.copy()))
    np.testing.assert_array_equal(ref['input_center'], [101, 167])
    np.testing.assert_array_equal(flt['input_center'], [100.5, 166.5])
    assert not np.array_equal(ref['img'], flt['img'])


def test_same_as_mmpose_bottomup_resize_for_even_single_scale():
    """Documented: one scale, even sizes -> MMPose's expand mode is identical."""
    for hw in [(480, 640), (640, 480), (100, 300)]:
        img = random_image(*hw)
        ref = ReferenceBottomupResize(512)(dict(img=img.copy()))
        mm = BottomupResize((512, 512), size_factor=64, resize_mode='expand')(dict(img=img.copy(), ori_shape=hw))
        assert ref['input_size'] == tuple(mm['input_size'])
        np.testing.assert_allclose(ref['input_center'], mm['input_center'])
        np.testing.assert_allclose(ref['input_scale'], mm['input_scale'])
        np.testing.assert_array_equal(ref['img'], mm['img'])


def test_mmpose_multiscale_canvases_differ_from_reference():
    """Documented difference 3: MMPose rounds every scale on its own."""
    img = random_image(480, 640)
    mm = BottomupResize((512, 512), aug_scales=[0.5, 2.0], size_factor=64, resize_mode='expand')(
        dict(img=img.copy(), ori_shape=(480, 640)))
    ref = ReferenceBottomupResize(512, aug_scales=[0.5, 2.0])(dict(img=img.copy()))
    assert [i.shape[:2] for i in mm['img']] == [(512, 704), (256, 384), (1024, 1408)]
    assert [i.shape[:2] for i in ref['img']] == [(512, 768), (256, 384), (1024, 1536)]


# ------------------------------------------------------- registry and errors
def test_registered_and_accepts_square_pair():
    t = TRANSFORMS.build(dict(type='ReferenceBottomupResize', input_size=(512, 512), aug_scales=[0.5, 2]))
    assert isinstance(t, ReferenceBottomupResize)
    assert t.input_size == 512 and t.aug_scales == [0.5, 2.0]


@pytest.mark.parametrize('kwargs, match', [
    (dict(input_size=(512, 640)), 'square'),
    (dict(input_size=0), '> 0'),
    (dict(input_size=512, aug_scales=[1.0, 2.0]), 'besides 1.0'),
    (dict(input_size=512, aug_scales=[0.5, 0.5]), 'without repeats'),
    (dict(input_size=512, aug_scales=[-0.5]), 'positive'),
])
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        ReferenceBottomupResize(**kwargs)


def test_bad_image():
    with pytest.raises(ValueError, match='`img`'):
        ReferenceBottomupResize(512)(dict(img=[random_image(8, 8)]))
