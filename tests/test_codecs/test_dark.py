"""DARK sub-pixel offsets (``AEDecoder(subpixel='dark')``): equal MMPose's ``refine_keypoints_dark``, recover
painted Gaussians' sub-pixel centres far better than the reference's quarter offset, and leave the default alone."""
import numpy as np
import pytest
from mmpose.codecs.utils import refine_keypoints_dark

from swahr_mmpose.codecs import AEDecoder, MultiLevelAssociativeEmbedding
from swahr_mmpose.codecs.utils.dark import dark_offsets
from swahr_mmpose.testing import make_clean_ae_maps, make_synthetic_ae_maps


def keypoint_errors(decoded, truth):
    """|decoded - truth| (N, K, 2) px, people matched by their nose."""
    errors = []
    for person in decoded:
        match = np.argmin(np.abs(truth[:, 0] - person[0]).sum(axis=1))
        errors.append(np.abs(person - truth[match]))
    return np.stack(errors)


@pytest.mark.parametrize('kernel', [5, 11, 23])
def test_offsets_equal_mmpose_refine_keypoints_dark(kernel):
    heatmaps = make_synthetic_ae_maps(5, canvas_size=(200, 168), seed=1).heatmaps.numpy()
    heatmaps = np.maximum(heatmaps, 0) + 1e-3  # every channel with a positive maximum, as decoded channels have
    num_joints, height, width = heatmaps.shape
    rng = np.random.default_rng(kernel)
    # integer pixels anywhere, the border included (MMPose leaves those unchanged)
    pixels = np.stack([rng.integers(0, width, (6, num_joints)), rng.integers(0, height, (6, num_joints))], axis=-1)
    expected = refine_keypoints_dark(pixels.astype(np.float32), heatmaps.copy(), kernel)
    joint = np.broadcast_to(np.arange(num_joints), (6, num_joints)).ravel()
    original = heatmaps.copy()
    offset_x, offset_y = dark_offsets(heatmaps, joint, pixels[..., 0].ravel(), pixels[..., 1].ravel(), kernel)
    ours = pixels + np.stack([offset_x, offset_y], axis=-1).reshape(pixels.shape)
    np.testing.assert_array_equal(heatmaps, original)  # MMPose's helper blurs in place; ours must not
    assert (np.abs(expected - pixels) > 0).mean() > 0.8  # most points really move
    # MMPose inverts the Hessian in float32, this in float64: near-flat background pixels get offsets of tens of px,
    # whose float32 rounding is ~1e-4 relative
    np.testing.assert_allclose(ours, expected, rtol=1e-3, atol=1e-3)


def test_border_and_flat_maps_give_zero_offsets():
    heatmaps = np.ones((2, 12, 12), np.float32)  # flat: singular Hessian everywhere
    heatmaps[1, 5, 6] = 2.0
    offset_x, offset_y = dark_offsets(heatmaps, np.array([0, 1, 1]), np.array([5, 0, 6]), np.array([5, 5, 10]), 3)
    np.testing.assert_array_equal(offset_x, 0.0)
    np.testing.assert_array_equal(offset_y, 0.0)


@pytest.mark.parametrize('stride,sigma', [(1, 3.0), (2, 2.0)])
def test_dark_recovers_painted_centres(stride, sigma):
    sample = make_clean_ae_maps(
        3, canvas_size=(384, 320), stride=stride, sigma=sigma, person_height=(150, 170), min_separation=140, seed=3)
    quarter = AEDecoder().decode(sample.heatmaps, sample.tags)
    dark = AEDecoder(subpixel='dark', dark_kernel=23).decode(sample.heatmaps, sample.tags)
    quarter_error = keypoint_errors(quarter[0], sample.keypoints)
    dark_error = keypoint_errors(dark[0], sample.keypoints)
    assert quarter_error.mean() > 0.1  # the quarter offset can only land on a quarter-pixel grid
    assert dark_error.mean() < 0.01 and dark_error.max() < 0.05, (dark_error.mean(), dark_error.max())
    # grouping, scores and person scores do not depend on the sub-pixel method
    for a, b in zip(quarter[1:], dark[1:]):
        np.testing.assert_array_equal(a, b)


def test_refined_joints_get_dark_offsets_too():
    sample = make_clean_ae_maps(
        2, canvas_size=(256, 256), stride=1, sigma=3.0, person_height=(120, 140), min_separation=100, seed=5)
    heatmaps = sample.heatmaps.clone()
    # weaken one joint of every person below the detection threshold: only refinement can find it
    heatmaps[5] *= 0.08
    decoded = AEDecoder(subpixel='dark', dark_kernel=17, keypoint_thr=0.1).decode(heatmaps, sample.tags)
    errors = keypoint_errors(decoded[0], sample.keypoints)
    assert (decoded[1][:, 5] > 0).all()  # filled by refinement
    assert errors[:, 5].max() < 0.05, errors[:, 5]


def test_codec_option_and_default():
    codec = MultiLevelAssociativeEmbedding(
        input_size=(128, 128), heatmap_size=[(32, 32), (64, 64)], decode_subpixel='dark', decode_dark_kernel=11)
    assert codec.decoder.subpixel == 'dark' and codec.decoder.dark_kernel == 11
    assert AEDecoder().subpixel == 'quarter'  # the reference adjustment stays the default


@pytest.mark.parametrize('kwargs,message', [(dict(subpixel='taylor'), "subpixel must be 'quarter'"),
                                            (dict(dark_kernel=4), 'dark_kernel must be an odd int >= 3'),
                                            (dict(dark_kernel=1), 'dark_kernel must be an odd int >= 3')])
def test_bad_options_raise(kwargs, message):
    with pytest.raises(ValueError, match=message):
        AEDecoder(**kwargs)
