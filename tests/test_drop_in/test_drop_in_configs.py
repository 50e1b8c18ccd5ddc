"""Drop-in proofs: our parts inside MMPose's own configs (configs/drop_in/*.py), built and run on tiny data.

Each config is the file a user would write; the tests only shrink the network (a tiny HRNet; LiteHRNet-18 as
configured) and point the data at a synthetic COCO set, then run what the config describes: MMPose's AE model
decoding with our codec (same poses as the reference rules on the same maps), training MMPose's AE head (what fails
with its own loss and works with ours), MMPose's top-down model with our loss, and SWAHRHead on LiteHRNet.
"""
import copy
import os.path as osp

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.runner import Runner
from mmpose.apis import inference_bottomup, init_model

from swahr_mmpose.testing import tiny_hrnet
from oracles.reference_grouping import reference_decode

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
AE_CONFIG = osp.join(REPO, 'configs/drop_in/ae_hrnet-w32_coco-512x512_swahr-codec.py')
TOPDOWN_CONFIG = osp.join(REPO, 'configs/drop_in/td-hm_hrnet-w32_coco-256x192_wahr-loss.py')
LITEHRNET_CONFIG = osp.join(REPO, 'configs/drop_in/swahr_litehrnet-18_coco-512x512.py')


def tiny_config(path, data_root, tiny_backbone=True, batch_size=2):
    """The config with a tiny HRNet (width 8) and the synthetic data; everything else as written."""
    cfg = Config.fromfile(path)
    if tiny_backbone:
        cfg.model.backbone = tiny_hrnet(8)
        cfg.model.head.in_channels = 8
    for split, ann in (('train', 'train'), ('val', 'val'), ('test', 'val')):
        loader = cfg[f'{split}_dataloader']
        loader.batch_size = batch_size if split == 'train' else 1
        loader.num_workers, loader.persistent_workers = 0, False
        loader.dataset.data_root = str(data_root)
        loader.dataset.ann_file = f'annotations/person_keypoints_{ann}.json'
        loader.dataset.data_prefix = dict(img=f'images/{ann}/')
    return cfg


def overfit_one_batch(cfg, steps, lr=1e-3):
    """Total losses of ``steps`` Adam steps on the config's first training batch (model, pipeline and losses all
    built from the config), and the last loss dict."""
    torch.manual_seed(0)
    model = init_model(cfg, device='cpu').train()
    batch = next(iter(Runner.build_dataloader(copy.deepcopy(cfg.train_dataloader), seed=0)))
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    totals = []
    for _ in range(steps):
        data = model.data_preprocessor(copy.deepcopy(batch), training=True)
        losses = model(**data, mode='loss')
        total = sum(v for k, v in losses.items() if 'loss' in k)
        optimizer.zero_grad()
        total.backward()
        optimizer.step()
        totals.append(float(total))
    return totals, losses


# --------------------------------------------------------------------------------- a. MMPose's AE model + our codec
def test_mmpose_ae_model_decodes_with_our_codec_like_the_reference(tiny_coco):
    """Inference through MMPose's AssociativeEmbeddingHead + BottomupPoseEstimator: its flip aggregation hands our
    codec (B, K, H, W) heatmaps and (B, 2K, H, W) tags; the poses equal the reference rules (loop oracle) applied to
    the same maps read in the official layout (K, H, W, 2), mapped to the image as MMPose maps them."""
    cfg = tiny_config(AE_CONFIG, tiny_coco)
    cfg.model.test_cfg.output_heatmaps = True
    model = init_model(cfg, device='cpu')
    assert type(model.head).__name__ == 'AssociativeEmbeddingHead'
    assert type(model.head.decoder).__name__ == 'MultiLevelAssociativeEmbedding'
    torch.manual_seed(1)
    with torch.no_grad():  # random weights large enough for heatmap peaks above the 0.1 threshold
        model.head.final_layer.weight.normal_(0, 0.2)
        model.head.final_layer.bias.fill_(0.2)
    image = sorted((tiny_coco / 'images' / 'val').glob('*.jpg'))[0]
    sample = inference_bottomup(model, str(image))[0]
    pred, fields, meta = sample.pred_instances, sample.pred_fields, sample.metainfo
    heatmaps, tags = fields.heatmaps.numpy(), fields.tags.numpy()
    num_keypoints = heatmaps.shape[0]
    assert tags.shape == (2 * num_keypoints, ) + heatmaps.shape[1:]  # original + flipped tags, channels-first
    reference_tags = tags.reshape(2, num_keypoints, *tags.shape[1:]).transpose(1, 2, 3, 0)
    keypoints, keypoint_scores, instance_scores = reference_decode(heatmaps, reference_tags, max_instances=30)
    assert 1 <= len(keypoints) <= 30
    scale, center = np.asarray(meta['input_scale']), np.asarray(meta['input_center'])
    in_image = keypoints / np.asarray(meta['input_size']) * scale + center - 0.5 * scale
    np.testing.assert_allclose(pred.keypoints, in_image, rtol=0, atol=1e-3)
    np.testing.assert_array_equal(pred.keypoint_scores, keypoint_scores)
    np.testing.assert_array_equal(pred.bbox_scores, instance_scores)


def test_mmpose_ae_head_trains_with_our_loss_not_with_its_own(tiny_coco):
    """MMPose's AE head concatenates the per-person keypoint weights of the batch, (sum N_i, K), and passes them to
    its heatmap loss: KeypointMSELoss asserts they are (B, K) and stops at the first batch with more people than
    images. WeightAdaptiveMSELoss(use_target_weight=False) ignores them and the head trains; the pipeline is MMPose's
    own (BottomupRandomAffine, RandomFlip, GenerateTarget(encoder=our codec), BottomupGetHeatmapMask)."""
    cfg = tiny_config(AE_CONFIG, tiny_coco)
    own_loss = copy.deepcopy(cfg)
    own_loss.model.head.keypoint_loss = dict(type='KeypointMSELoss', use_target_weight=True)
    with pytest.raises(AssertionError, match='mismatched shapes'):
        overfit_one_batch(own_loss, steps=1)
    totals, losses = overfit_one_batch(cfg, steps=15)
    assert set(losses) == {'loss_kpt', 'loss_pull', 'loss_push'}
    assert all(np.isfinite(totals)) and totals[-1] < 0.5 * totals[0], totals


# --------------------------------------------------------------------------------- b. top-down HRNet + our loss
def test_topdown_model_trains_with_weight_adaptive_loss(tiny_coco):
    cfg = tiny_config(TOPDOWN_CONFIG, tiny_coco, batch_size=4)
    assert cfg.model.head.loss.type == 'WeightAdaptiveMSELoss'
    totals, losses = overfit_one_batch(cfg, steps=15, lr=3e-3)
    assert set(losses) == {'loss_kpt', 'acc_pose'}
    assert all(np.isfinite(totals)) and totals[-1] < 0.7 * totals[0], totals


# --------------------------------------------------------------------------------- c. SWAHRHead on LiteHRNet
def test_swahr_head_on_litehrnet_builds_and_trains(tiny_coco):
    cfg = tiny_config(LITEHRNET_CONFIG, tiny_coco, tiny_backbone=False)
    codec = dict(cfg.codec, input_size=(128, 128), heatmap_size=[(32, 32), (64, 64)])  # a smaller input for CPU
    cfg.train_dataloader.dataset.pipeline[1].input_size = codec['input_size']
    cfg.train_dataloader.dataset.pipeline[3].encoder = codec
    cfg.model.head.decoder = codec
    model = init_model(cfg, device='cpu')
    assert type(model.backbone).__name__ == 'LiteHRNet' and model.head.in_channels == 40
    totals, losses = overfit_one_batch(cfg, steps=12, lr=3e-3)
    assert {'loss_heatmap_l0', 'loss_scale_l1', 'loss_ae_pull'} <= set(losses)
    assert all(np.isfinite(totals)) and totals[-1] < 0.7 * totals[0], totals
