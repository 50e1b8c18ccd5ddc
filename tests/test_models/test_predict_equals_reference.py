"""Fidelity of the whole test path: SWAHRHead.predict (MMPose's tta helpers + the codec) gives the official code's
aggregated maps bit for bit and the official grouping's poses, single-scale and multi-scale, with and without flip.

The network outputs are converted to the official layout ([heatmaps, tags] at 1/4, heatmaps at 1/2; the scale
channels are stripped before aggregation in the official code too) and aggregated by ``tests/oracles``' step-by-step
implementation of ``get_multi_stage_outputs`` / ``aggregate_results``, then grouped by the loop oracle of the
official ``HeatmapParser``.
"""
import copy

import numpy as np
import pytest
import torch
from mmengine.dataset import Compose, pseudo_collate
from mmpose.registry import MODELS

from swahr_mmpose.testing import tiny_hrnet
from oracles.reference_grouping import reference_decode
from oracles.reference_inference import reference_test_time_maps

K = 5
FLIP_INDICES = [0, 2, 1, 4, 3]


def build_model(multiscale, flip):
    torch.manual_seed(0)
    model = MODELS.build(
        dict(
            type='MultiScaleBottomupPoseEstimator',
            data_preprocessor=dict(
                type='MultiScalePoseDataPreprocessor',
                mean=[123.675, 116.28, 103.53],
                std=[58.395, 57.12, 57.375],
                bgr_to_rgb=True),
            backbone=tiny_hrnet(),
            head=dict(
                type='SWAHRHead',
                in_channels=8,
                num_keypoints=K,
                decoder=dict(type='AEDecoder', num_keypoints=K, keypoint_order=[0, 1, 2, 3, 4])),
            test_cfg=dict(multiscale_test=multiscale, flip_test=flip, align_corners=False)))
    with torch.no_grad():  # heatmaps with peaks above the threshold, tags that vary
        for p in model.head.final_layers.parameters():
            p.normal_(0, 0.3)
    return model.eval()


@pytest.mark.parametrize('multiscale,flip', [(False, True), (False, False), (True, True)])
def test_predict_equals_the_official_test_path(multiscale, flip):
    model = build_model(multiscale, flip)
    aug_scales = [0.5, 2.0] if multiscale else None
    pipeline = Compose([
        dict(type='ReferenceBottomupResize', input_size=64, aug_scales=aug_scales),
        dict(type='PackMultiScalePoseInputs')
    ])
    rng = np.random.default_rng(1)
    sample = dict(
        img=rng.integers(0, 256, (48, 80, 3), dtype=np.uint8), img_id=0, flip_indices=FLIP_INDICES, ori_shape=(48, 80))
    data = model.data_preprocessor(pseudo_collate([pipeline(sample)]))
    inputs, samples = data['inputs'], data['data_samples']
    pyramid = inputs if multiscale else [inputs]
    scales = [1.0] + (aug_scales or [])

    with torch.no_grad():
        feats = [[model.extract_feat(x), model.extract_feat(x.flip(-1))] if flip else model.extract_feat(x)
                 for x in pyramid]
        preds, fields = model.head.predict(
            feats if multiscale else feats[0],
            copy.deepcopy(samples),
            test_cfg=dict(model.test_cfg, output_heatmaps=True))

        def official_outputs(level_feats):  # [heatmaps + tags] at 1/4, heatmaps at 1/2 (scale maps stripped)
            heatmaps, tags, _ = model.head.split_outputs(model.head(level_feats))
            return [torch.cat([heatmaps[0], tags], dim=1), heatmaps[1]]

        per_scale = [(official_outputs(f[0]), official_outputs(f[1])) if flip else (official_outputs(f), [])
                     for f in feats]
        canvas = tuple(int(v) for v in samples[0].metainfo['input_size'])
        heatmaps, tags = reference_test_time_maps(per_scale, scales, K, FLIP_INDICES, canvas)

    assert torch.equal(fields[0].heatmaps, heatmaps[0])  # bit for bit
    tag_maps = tags.shape[-1]
    assert tag_maps == (2 if flip else 1)
    ours_tags = fields[0].tags.reshape(tag_maps, K, *fields[0].tags.shape[-2:]).permute(1, 2, 3, 0)
    assert torch.equal(ours_tags, tags[0])

    keypoints, keypoint_scores, instance_scores = reference_decode(
        heatmaps[0].numpy(), tags[0].numpy(), keypoint_order=[0, 1, 2, 3, 4])
    assert len(keypoints) > 0
    np.testing.assert_array_equal(preds[0].keypoints, keypoints)
    np.testing.assert_array_equal(preds[0].keypoint_scores, keypoint_scores)
    np.testing.assert_array_equal(preds[0].bbox_scores, instance_scores)
