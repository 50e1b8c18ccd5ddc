"""Multi-scale test end to end: pyramid pipeline -> preprocessor -> estimator -> SWAHRHead.

A tiny HRNet (width 8) on a 96x128 image with input size 128 and
``aug_scales=[0.5, 2]`` gives the pyramid 128x256 (scale 1), 64x128 and
256x512 (h x w): the base canvas is rounded at scale 0.5 (64 -> multiple of 64,
long side ceil64(64 / 96 * 128) = 128), as in the reference.

The grouping decoder is a stand-in registered here (per-joint argmax, one
person per image) that records what the head hands it, so these tests check
the plumbing independently of the real AE decoder.
"""
import copy

import numpy as np
import pytest
import torch
from mmengine.dataset import Compose, default_collate, pseudo_collate
from mmpose.registry import KEYPOINT_CODECS, MODELS

import swahr_mmpose.datasets.transforms.pack_multiscale  # noqa: F401
import swahr_mmpose.datasets.transforms.reference_resize  # noqa: F401
import swahr_mmpose.models.data_preprocessors  # noqa: F401
import swahr_mmpose.models.pose_estimators  # noqa: F401
from swahr_mmpose.testing import tiny_hrnet

K = 5
FLIP_INDICES = [0, 2, 1, 4, 3]
INPUT_SIZE = 128
IMG_HW = (96, 128)
AUG_SCALES = [0.5, 2.0]
# (h, w) per pyramid level, order [1.0, *AUG_SCALES].
PYRAMID_HW = [(128, 256), (64, 128), (256, 512)]


@KEYPOINT_CODECS.register_module(name='_ArgmaxStandInDecoder', force=True)
class ArgmaxStandInDecoder:
    """One person per image at the per-joint heatmap argmax (canvas px)."""

    def __init__(self):
        self.calls = []

    def batch_decode(self, heatmaps: torch.Tensor, tags: torch.Tensor):
        self.calls.append((heatmaps.detach().cpu().clone(), tags.detach().cpu().clone()))
        b, k, h, w = heatmaps.shape
        val, idx = heatmaps.flatten(2).max(-1)
        xy = torch.stack([idx % w, idx // w], -1).float().cpu().numpy()
        val = val.detach().cpu().numpy()
        return ([p[None] for p in xy], [v[None] for v in val], [np.array([v.mean()]) for v in val])


def build_model(multiscale: bool, ours: bool = True, flip: bool = True):
    torch.manual_seed(0)
    model = MODELS.build(
        dict(
            type='MultiScaleBottomupPoseEstimator' if ours else 'BottomupPoseEstimator',
            data_preprocessor=dict(
                type='MultiScalePoseDataPreprocessor' if ours else 'PoseDataPreprocessor',
                mean=[123.675, 116.28, 103.53],
                std=[58.395, 57.12, 57.375],
                bgr_to_rgb=True),
            backbone=tiny_hrnet(),
            head=dict(type='SWAHRHead', in_channels=8, num_keypoints=K, decoder=dict(type='_ArgmaxStandInDecoder')),
            test_cfg=dict(multiscale_test=multiscale, flip_test=flip, align_corners=False)))
    # PyTorch's default init (no init_weights: its logging is long), with
    # larger final layers so that heatmaps and tags vary across the image.
    with torch.no_grad():
        for p in model.head.final_layers.parameters():
            p.normal_(0, 0.3)
    return model.eval()


def pipeline(aug_scales=AUG_SCALES, pack='PackMultiScalePoseInputs'):
    return Compose([
        dict(type='ReferenceBottomupResize', input_size=INPUT_SIZE, aug_scales=aug_scales),
        dict(type=pack),
    ])


def samples(n=2):
    rng = np.random.default_rng(0)
    return [
        dict(
            img=rng.integers(0, 256, (*IMG_HW, 3), dtype=np.uint8),
            img_id=i,
            flip_indices=FLIP_INDICES,
            ori_shape=IMG_HW) for i in range(n)
    ]


def record_backbone_inputs(model):
    shapes = []
    model.backbone.register_forward_pre_hook(lambda m, args: shapes.append(tuple(args[0].shape)))
    return shapes


def spec_canvas_to_image(xy, img_hw=IMG_HW, input_size=INPUT_SIZE, min_scale=min([1.0] + AUG_SCALES)):
    """Reference get_final_preds for a landscape image (spec 5.2 steps 2, 6)."""
    h, w = img_hw
    cx, cy = int(w / 2 + 0.5), int(h / 2 + 0.5)
    mi = int((min_scale * input_size + 63) // 64 * 64)
    ceil_long = int((mi / h * w + 63) // 64 * 64)
    # Base canvas (scale 1) and the smallest level (whose scale maps back).
    base_w = int(ceil_long * 1.0 / min_scale)
    h_last = int(mi * min_scale / min_scale)
    w_last = int(ceil_long * min_scale / min_scale)
    src_w = w_last / h_last * h  # 200 * scale_w
    base_h = int(mi * 1.0 / min_scale)
    x = cx + (xy[..., 0] - base_w / 2) * src_w / base_w
    y = cy + (xy[..., 1] - base_h / 2) * src_w / base_w
    return np.stack([x, y], -1)


# ----------------------------------------------------------------- end to end
@pytest.mark.parametrize('collate', [pseudo_collate, default_collate])
def test_multiscale_predict_runs_every_scale_and_flip(collate):
    model = build_model(multiscale=True)
    shapes = record_backbone_inputs(model)
    data = collate([pipeline()(s) for s in samples(2)])
    preds = model.test_step(data)

    # Every scale, in the pipeline's order, plain then flipped, batch of 2.
    assert shapes == [(2, 3, *hw) for hw in PYRAMID_HW for _ in range(2)]
    heatmaps, tags = model.head.decoder.calls[-1]
    base_hw = PYRAMID_HW[0]
    assert heatmaps.shape == (2, K, *base_hw)
    assert tags.shape == (2, 2 * K, *base_hw)  # tags of scale 1, channels-first: plain then flip

    assert len(preds) == 2
    for i, pred in enumerate(preds):
        assert pred.metainfo['aug_scales'] == AUG_SCALES
        assert pred.metainfo['batch_input_shape'] == base_hw
        flat = heatmaps[i].flatten(1).argmax(-1).numpy()
        argmax_xy = np.stack([flat % base_hw[1], flat // base_hw[1]], -1)
        np.testing.assert_allclose(
            pred.pred_instances.keypoints[0], spec_canvas_to_image(argmax_xy.astype(np.float64)), atol=1e-3)


def test_pseudo_and_default_collate_agree():
    model = build_model(multiscale=True)
    out = [
        model.test_step(collate([pipeline()(s) for s in samples(2)])) for collate in (pseudo_collate, default_collate)
    ]
    for a, b in zip(*out):
        np.testing.assert_array_equal(a.pred_instances.keypoints, b.pred_instances.keypoints)


def test_multiscale_maps_equal_mean_of_single_scale_passes():
    """Heatmaps = mean over the pyramid, tags = scale 1's: checks the order."""
    model = build_model(multiscale=True)
    data = model.data_preprocessor(pseudo_collate([pipeline()(s) for s in samples(2)]))
    pyramid, data_samples = data['inputs'], data['data_samples']
    model.predict(pyramid, copy.deepcopy(data_samples))
    ms_heatmaps, ms_tags = model.head.decoder.calls[-1]

    model.test_cfg['multiscale_test'] = False
    per_scale = []
    for level in pyramid:
        # The metainfo input_size is the scale-1 canvas, so every level is
        # projected onto it, as in the reference.
        model.predict(level, copy.deepcopy(data_samples))
        per_scale.append(model.head.decoder.calls[-1])
    mean = torch.stack([hm for hm, _ in per_scale]).mean(0)
    torch.testing.assert_close(ms_heatmaps, mean, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(ms_tags, per_scale[0][1])
    assert not torch.allclose(ms_tags, per_scale[1][1])


@pytest.mark.parametrize('flip', [True, False])
def test_single_scale_identical_to_mmpose_classes(flip):
    ours, theirs = build_model(False, True, flip), build_model(False, False, flip)
    theirs.load_state_dict(ours.state_dict())
    res = []
    for model, pack in ((ours, 'PackMultiScalePoseInputs'), (theirs, 'PackPoseInputs')):
        data = pseudo_collate([pipeline(None, pack)(s) for s in samples(1)])
        res.append((model.test_step(data)[0], model.head.decoder.calls[-1]))
    (pred_a, (hm_a, tag_a)), (pred_b, (hm_b, tag_b)) = res
    assert hm_a.shape == (1, K, 128, 192)  # single-scale canvas: 128 x 192
    torch.testing.assert_close(hm_a, hm_b, rtol=0, atol=0)
    torch.testing.assert_close(tag_a, tag_b, rtol=0, atol=0)
    np.testing.assert_array_equal(pred_a.pred_instances.keypoints, pred_b.pred_instances.keypoints)


def test_stock_mmpose_estimator_cannot_take_the_pyramid():
    """Why MultiScaleBottomupPoseEstimator exists: forward stacks the list."""
    model = build_model(multiscale=True)
    data = model.data_preprocessor(pseudo_collate([pipeline()(s) for s in samples(1)]))
    stock = build_model(multiscale=True, ours=False)
    with pytest.raises(RuntimeError):
        stock(data['inputs'], data['data_samples'], mode='predict')


# --------------------------------------------------------------------- errors
def test_pyramid_needs_multiscale_test_and_predict_mode():
    model = build_model(multiscale=False)
    data = model.data_preprocessor(pseudo_collate([pipeline()(s) for s in samples(1)]))
    with pytest.raises(ValueError, match='multiscale_test is False'):
        model(data['inputs'], data['data_samples'], mode='predict')
    with pytest.raises(ValueError, match='only supported in predict mode'):
        model(data['inputs'], data['data_samples'], mode='loss')


def test_multiscale_test_needs_a_pyramid():
    model = build_model(multiscale=True)
    data = model.data_preprocessor(pseudo_collate([pipeline(None)(s) for s in samples(1)]))
    with pytest.raises(ValueError, match='single batch'):
        model(data['inputs'], data['data_samples'], mode='predict')


def test_aug_scales_metainfo_must_match_the_pyramid():
    model = build_model(multiscale=True)
    data = model.data_preprocessor(pseudo_collate([pipeline()(s) for s in samples(1)]))
    data['data_samples'][0].set_metainfo(dict(aug_scales=[2.0]))
    with pytest.raises(ValueError, match='aug_scales'):
        model(data['inputs'], data['data_samples'], mode='predict')


def test_preprocessor_rejects_batch_major_and_training():
    model = build_model(multiscale=True)
    data = pseudo_collate([pipeline()(s) for s in samples(2)])
    with pytest.raises(ValueError, match='training pipeline'):
        model.data_preprocessor(data, training=True)
    # Batch-major (2 samples x 3 scales) instead of scale-major.
    bad = dict(inputs=[list(x) for x in zip(*data['inputs'])], data_samples=data['data_samples'])
    with pytest.raises(ValueError, match='scale-major'):
        model.data_preprocessor(bad)
