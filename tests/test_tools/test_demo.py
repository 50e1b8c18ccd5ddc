"""The demo (swahr_mmpose.apis.demo, behind tools/demo.py) and MMPoseInferencer on our configs (tiny model, random
weights).

The config under test inherits the repository's ``configs/_base_`` runtime and
COCO dataset files (so the inferencer finds ``data_mode``, the visualizer and
the dataset meta exactly as with the real configs) and swaps in a tiny HRNet
and uses the real ``AEDecoder`` grouping.
"""
import json
import os.path as osp
import subprocess
import sys

import cv2
import numpy as np
import pytest
import torch

import swahr_mmpose.codecs  # noqa: F401
import swahr_mmpose.datasets.transforms.pack_multiscale  # noqa: F401
import swahr_mmpose.datasets.transforms.reference_resize  # noqa: F401
import swahr_mmpose.models.data_preprocessors  # noqa: F401
import swahr_mmpose.models.pose_estimators  # noqa: F401
import swahr_mmpose.visualization  # noqa: F401
from swahr_mmpose.apis.demo import (below_threshold_note, build_demo_config, enable_multiscale_test, list_images,
                                    run_demo)
from swahr_mmpose.datasets.transforms.reference_resize import ReferenceBottomupResize
from swahr_mmpose.testing import tiny_hrnet

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
K = 17

CONFIG = """
_base_ = ['{repo}/configs/_base_/default_runtime.py',
          '{repo}/configs/_base_/datasets/coco_bottomup.py']
w = 8
model = dict(
    type='MultiScaleBottomupPoseEstimator',
    data_preprocessor=dict(
        type='MultiScalePoseDataPreprocessor', mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375], bgr_to_rgb=True),
    backbone={backbone!r},
    head=dict(type='SWAHRHead', in_channels=w, num_keypoints=17,
              decoder=dict(type='{decoder}', num_keypoints=17)),
    test_cfg=dict(multiscale_test=False, flip_test=True, align_corners=False))
val_pipeline = [
    dict(type='LoadImage'),
    dict(type='ReferenceBottomupResize', input_size=64),
    dict(type='PackMultiScalePoseInputs',
         meta_keys=('id', 'img_id', 'img_path', 'crowd_index', 'ori_shape',
                    'img_shape', 'input_size', 'input_center', 'input_scale',
                    'flip', 'flip_direction', 'flip_indices', 'raw_ann_info',
                    'skeleton_links')),
]
val_dataloader = dict(dataset=dict(pipeline=val_pipeline))
test_dataloader = val_dataloader
"""


@pytest.fixture(scope='module')
def setup(tmp_path_factory):
    """Config file, two checkpoints (with / without dataset meta), images."""
    from mmengine.config import Config
    from mmpose.apis.inference import dataset_meta_from_config
    from mmpose.registry import MODELS

    root = tmp_path_factory.mktemp('demo')
    config = root / 'tiny_swahr.py'
    config.write_text(CONFIG.format(repo=REPO, decoder='AEDecoder', backbone=tiny_hrnet(8)))
    # What the repository's runtime config should say (see the report).
    config_vis = root / 'tiny_swahr_compat_vis.py'
    config_vis.write_text("_base_ = ['./tiny_swahr.py']\n" "visualizer = dict(type='NumpyCompatPoseLocalVisualizer')\n")
    cfg = Config.fromfile(str(config))
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    with torch.no_grad():  # make heatmaps vary so the argmax moves around
        for p in model.head.final_layers.parameters():
            p.normal_(0, 0.3)
    # What MMEngine's CheckpointHook stores: weights + dataset meta (numpy).
    meta = dataset_meta_from_config(cfg, dataset_mode='train')
    ckpt_meta = root / 'with_meta.pth'
    torch.save(dict(state_dict=model.state_dict(), meta=dict(dataset_meta=meta)), ckpt_meta)
    ckpt_plain = root / 'plain.pth'
    torch.save(dict(state_dict=model.state_dict()), ckpt_plain)

    images = root / 'images'
    images.mkdir()
    rng = np.random.default_rng(0)
    for name, hw in (('landscape.jpg', (60, 90)), ('portrait.png', (90, 61))):
        cv2.imwrite(str(images / name), rng.integers(0, 256, (*hw, 3), dtype=np.uint8))
    (images / 'notes.txt').write_text('not an image')
    return dict(
        root=root,
        config=str(config),
        config_vis=str(config_vis),
        ckpt_meta=str(ckpt_meta),
        ckpt_plain=str(ckpt_plain),
        images=images)


@pytest.mark.parametrize('ckpt', ['ckpt_meta', 'ckpt_plain'])
def test_inferencer_accepts_our_config_path(setup, ckpt):
    from mmpose.apis import MMPoseInferencer

    inferencer = MMPoseInferencer(pose2d=setup['config_vis'], pose2d_weights=setup[ckpt], device='cpu')
    meta = inferencer.inferencer.model.dataset_meta
    assert meta['num_keypoints'] == K and len(meta['flip_indices']) == K
    img = str(setup['images'] / 'landscape.jpg')
    out_dir = setup['root'] / f'inferencer_{ckpt}'
    (result, ) = list(inferencer(img, out_dir=str(out_dir), kpt_thr=-1))
    people = result['predictions'][0]
    assert len(people) >= 1
    for person in people:
        assert np.array(person['keypoints']).shape == (K, 2)
    assert (out_dir / 'visualizations' / 'landscape.jpg').is_file()
    assert (out_dir / 'predictions' / 'landscape.json').is_file()


@pytest.mark.parametrize('extra', [[], ['--aug-scales', '0.5', '2.0']])
def test_demo_writes_images_and_json(setup, extra):
    aug_scales = [float(v) for v in extra[1:]] or None
    out_dir = setup['root'] / ('out_ms' if extra else 'out_ss')
    report = run_demo(
        setup['config'],
        setup['ckpt_meta'],
        str(setup['images']),
        out_dir=str(out_dir),
        device='cpu',
        kpt_thr=-1,
        aug_scales=aug_scales)
    assert report.failed == []
    written = report.written
    assert [osp.basename(p) for p in written] == ['landscape.json', 'portrait.json']
    for name, hw in (('landscape.jpg', (60, 90)), ('portrait.png', (90, 61))):
        vis = cv2.imread(str(out_dir / 'visualizations' / name))
        assert vis is not None and vis.shape[:2] == hw
        original = cv2.imread(str(setup['images'] / name))
        assert np.abs(vis.astype(int) - original).sum() > 0  # something drawn
        data = json.loads((out_dir / 'predictions' / (osp.splitext(name)[0] + '.json')).read_text())
        assert data['image'].endswith(name)
        assert len(data['instances']) >= 1
        # The scale-1 canvas mapped back to the image: centre +- scale / 2.
        resized = ReferenceBottomupResize(64, aug_scales=aug_scales)(dict(img=original))
        lo = resized['input_center'] - resized['input_scale'] / 2 - 1e-3
        hi = resized['input_center'] + resized['input_scale'] / 2 + 1e-3
        for person in data['instances']:
            kpts = np.array(person['keypoints'])
            assert kpts.shape == (K, 2) and len(person['keypoint_scores']) == K
            assert isinstance(person['score'], float)
            assert (kpts >= lo).all() and (kpts <= hi).all()


def test_multiscale_switch_rewrites_the_config(setup):
    from mmengine.config import Config

    cfg = Config.fromfile(setup['config'])
    enable_multiscale_test(cfg, [0.5, 2.0])
    pipeline = cfg.test_dataloader.dataset.pipeline
    assert pipeline[1]['aug_scales'] == [0.5, 2.0]
    assert cfg.model.test_cfg.multiscale_test is True
    cfg.test_dataloader.dataset.pipeline = [pipeline[0], pipeline[2]]
    with pytest.raises(ValueError, match='ReferenceBottomupResize'):
        enable_multiscale_test(cfg, [2.0])


def test_missing_input_is_a_clear_error(setup):
    with pytest.raises(FileNotFoundError, match='input not found'):
        list_images(str(setup['root'] / 'nope.jpg'))


def test_unreadable_images_are_reported_and_skipped(setup, tmp_path, capsys):
    folder = tmp_path / 'mixed'
    folder.mkdir()
    for name in ('landscape.jpg', 'portrait.png'):
        (folder / name).write_bytes((setup['images'] / name).read_bytes())
    (folder / 'broken.jpg').write_bytes(b'\xff\xd8 not really a jpeg')
    (folder / 'empty.png').write_bytes(b'')
    out_dir = tmp_path / 'out'
    report = run_demo(setup['config'], setup['ckpt_meta'], str(folder), out_dir=str(out_dir), device='cpu')
    captured = capsys.readouterr()
    assert [osp.basename(p) for p, _ in report.failed] == ['broken.jpg', 'empty.png']
    assert sorted(p.name for p in (out_dir / 'predictions').iterdir()) == ['landscape.json', 'portrait.json']
    assert 'broken.jpg: FAILED, skipped (ValueError: not a decodable image' in captured.err
    assert 'empty.png: FAILED, skipped' in captured.err
    assert '2 of 4 images failed: broken.jpg, empty.png' in captured.err
    assert 'landscape.jpg: ' in captured.out and 'portrait.png: ' in captured.out


def test_onnxruntime_backend_matches_pytorch_backend(setup, tmp_path):
    pytest.importorskip('onnxruntime')
    from swahr_mmpose.deploy.onnx_export import export_onnx

    onnx_path = str(tmp_path / 'tiny.onnx')
    export_onnx(setup['config'], setup['ckpt_meta'], onnx_path, flip_test=True)  # the config tests with flip
    outputs = {}
    for backend, weights in (('pytorch', setup['ckpt_meta']), ('onnxruntime', onnx_path)):
        out_dir = tmp_path / backend
        report = run_demo(
            setup['config'],
            weights,
            str(setup['images']),
            out_dir=str(out_dir),
            device='cpu',
            backend=backend,
            kpt_thr=-1)
        assert report.failed == []
        outputs[backend] = out_dir
    for name in ('landscape', 'portrait'):
        ref, ours = (
            json.loads((outputs[b] / 'predictions' / f'{name}.json').read_text())['instances']
            for b in ('pytorch', 'onnxruntime'))
        assert len(ours) == len(ref) >= 1
        for a, b in zip(ref, ours):
            np.testing.assert_allclose(b['keypoints'], a['keypoints'], atol=1e-2, rtol=0)
            np.testing.assert_allclose(b['keypoint_scores'], a['keypoint_scores'], atol=1e-4, rtol=0)
        assert cv2.imread(
            str(outputs['onnxruntime'] / 'visualizations' /
                ('landscape.jpg' if name == 'landscape' else 'portrait.png'))) is not None


def test_multiscale_needs_the_pytorch_backend(setup, tmp_path):
    with pytest.raises(ValueError, match='needs --backend pytorch'):
        build_demo_config(setup['config'], aug_scales=[2.0], backend='onnxruntime')


def test_tool_says_when_every_keypoint_is_below_the_threshold(setup, tmp_path):
    """tools/demo.py end to end: people found but no keypoint above --kpt-thr gets a line saying so and how to draw
    them; MMPose's registry-scope warning does not reach the user."""
    image = str(setup['images'] / 'landscape.jpg')
    run = subprocess.run([
        sys.executable,
        osp.join(REPO, 'tools', 'demo.py'), setup['config'], setup['ckpt_meta'], image, '--out-dir',
        str(tmp_path), '--device', 'cpu', '--kpt-thr', '1000'
    ],
                         capture_output=True,
                         text=True,
                         timeout=300)
    assert run.returncode == 0, run.stderr
    people = len(json.loads((tmp_path / 'predictions' / 'landscape.json').read_text())['instances'])
    assert people >= 1
    assert f'{people} people found, but no keypoint scores above --kpt-thr 1000' in run.stderr
    assert 'pass a lower --kpt-thr' in run.stderr
    assert 'Failed to search registry' not in run.stdout + run.stderr


def test_below_threshold_note_only_when_nothing_is_drawn():
    from mmengine.structures import InstanceData
    from mmpose.structures import PoseDataSample

    sample = PoseDataSample()
    sample.pred_instances = InstanceData(keypoint_scores=np.array([[0.05, 0.127], [0.01, 0.02]]))
    note = below_threshold_note(sample, 0.3)
    assert note.startswith('2 people found') and 'highest 0.127' in note and 'e.g. 0.12' in note
    assert below_threshold_note(sample, 0.1) is None
    sample.pred_instances = InstanceData(keypoint_scores=np.zeros((0, 17)))
    assert below_threshold_note(sample, 0.3) is None
