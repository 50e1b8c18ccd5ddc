"""ONNX export + ONNX Runtime inference of the synthetic W32 config vs PyTorch (tiny HRNet, 128 px input, CPU).

The weights are random with the output layer rescaled (weights N(0, 0.3), heatmap bias 0.08 against the decode
threshold 0.12) so that the heatmaps have peaks that pass the threshold and the decoder groups 20-30 people per
image: a hard case for agreement (many near-ties), though not a realistic one.
"""
import importlib.util
import os.path as osp

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmpose.apis import init_model
from mmpose.structures import PoseDataSample

from swahr_mmpose.deploy.compare import agreement_over_images, compare_predictions, format_agreement
from swahr_mmpose.deploy.onnx_export import METADATA_KEY, export_onnx, read_metadata
from swahr_mmpose.deploy.onnx_runtime import ONNXRuntimePoseEstimator
from swahr_mmpose.testing.images import make_images

onnx = pytest.importorskip('onnx')
ort = pytest.importorskip('onnxruntime')

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIG = osp.join(REPO, 'configs', 'swahr_hrnet_w32_synthetic.py')
K = 17
# (w, h): landscape, portrait, square and odd sizes -> canvases 192x128, 128x192, 128x128, 192x128
IMAGE_SIZES = [(256, 192), (180, 260), (200, 200), (301, 157)]


def load_tool(name: str):
    spec = importlib.util.spec_from_file_location(name, osp.join(REPO, 'tools', 'deploy', f'{name}.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def peaky_random_model(cfg: Config) -> torch.nn.Module:
    torch.manual_seed(0)
    model = init_model(cfg, None, device='cpu')
    with torch.no_grad():
        for layer in model.head.final_layers:
            layer.weight.normal_(0, 0.3)
            layer.bias.zero_()
            layer.bias[:K] = 0.08
    return model


@pytest.fixture(scope='module')
def exported(tmp_path_factory):
    """The model, a checkpoint of it, and its two exports (flip test in the graph or not)."""
    root = tmp_path_factory.mktemp('onnx')
    cfg = Config.fromfile(CONFIG)
    model = peaky_random_model(cfg)
    checkpoint = root / 'model.pth'
    torch.save(dict(state_dict=model.state_dict()), checkpoint)
    paths = {}
    for flip in (False, True):
        paths[flip] = str(root / f'flip{int(flip)}.onnx')
        export_onnx(cfg, None, paths[flip], flip_test=flip, model=model)
    images = [img for i, size in enumerate(IMAGE_SIZES) for img in make_images(2, size, seed=10 * i)]
    return dict(root=root, cfg=cfg, model=model, checkpoint=str(checkpoint), paths=paths, images=images)


def test_export_is_checked_onnx_with_dynamic_shapes_and_metadata(exported):
    path = exported['paths'][True]
    model = onnx.load(path)
    onnx.checker.check_model(model, full_check=True)
    (image, ) = model.graph.input
    dims = [d.dim_param or d.dim_value for d in image.type.tensor_type.shape.dim]
    assert dims == ['batch', 3, 'height', 'width']
    assert [o.name for o in model.graph.output] == ['heatmaps', 'tags']
    meta = read_metadata(path)
    assert meta['flip_test'] is True and meta['outputs'] == 'aggregated'
    assert meta['test_resize'] == {'input_size': 128}
    assert meta['codec']['type'] == 'MultiLevelAssociativeEmbedding'
    assert meta['dataset_meta']['flip_indices'][:3] == [0, 2, 1]
    assert METADATA_KEY in {p.key for p in model.metadata_props}


@pytest.mark.parametrize('flip', [False, True])
def test_graph_outputs_equal_swahr_head_predict_maps(exported, flip):
    """ONNX Runtime's maps == the maps SWAHRHead.predict hands to the decoder, on two canvas shapes."""
    model = exported['model']
    session = ort.InferenceSession(exported['paths'][flip], providers=['CPUExecutionProvider'])
    flip_indices = read_metadata(exported['paths'][flip])['dataset_meta']['flip_indices']
    prep = model.data_preprocessor
    for height, width in ((128, 192), (256, 128)):
        canvas = torch.randint(0, 256, (1, 3, height, width), generator=torch.Generator().manual_seed(height))
        heatmaps, tags = session.run(None, {'image': canvas.float().numpy()})
        inputs = (canvas[:, [2, 1, 0]].float() - prep.mean) / prep.std
        with torch.no_grad():
            feats = model.extract_feat(inputs)
            if flip:
                feats = [feats, model.extract_feat(inputs.flip(-1))]
            sample = PoseDataSample(metainfo=dict(input_size=(width, height), flip_indices=flip_indices))
            test_cfg = dict(model.test_cfg, flip_test=flip, output_heatmaps=True)  # the config's flip_shift too
            _, (fields, ) = model.head.predict(feats, [sample], test_cfg=test_cfg)
        assert heatmaps.shape == (1, K, height, width)
        assert tags.shape == (1, K * (2 if flip else 1), height, width)
        np.testing.assert_allclose(heatmaps[0], fields.heatmaps.numpy(), rtol=0, atol=1e-5)
        np.testing.assert_allclose(tags[0], fields.tags.numpy(), rtol=0, atol=1e-5)


def test_flip_shift_is_exported(exported, tmp_path):
    """test_cfg.flip_shift goes into the graph (and the metadata): its maps equal SWAHRHead.predict's."""
    import copy

    model = copy.deepcopy(exported['model'])
    model.test_cfg = dict(model.test_cfg, flip_test=True, flip_shift=-0.5)
    path = str(tmp_path / 'shifted.onnx')
    export_onnx(exported['cfg'], None, path, flip_test=True, model=model)
    meta = read_metadata(path)
    assert meta['flip_shift'] == -0.5
    session = ort.InferenceSession(path, providers=['CPUExecutionProvider'])
    canvas = torch.randint(0, 256, (1, 3, 128, 192), generator=torch.Generator().manual_seed(1))
    heatmaps, tags = session.run(None, {'image': canvas.float().numpy()})
    prep = model.data_preprocessor
    inputs = (canvas[:, [2, 1, 0]].float() - prep.mean) / prep.std
    sample = PoseDataSample(metainfo=dict(input_size=(192, 128), flip_indices=meta['dataset_meta']['flip_indices']))
    with torch.no_grad():
        feats = [model.extract_feat(inputs), model.extract_feat(inputs.flip(-1))]
        test_cfg = dict(flip_test=True, flip_shift=-0.5, output_heatmaps=True)
        _, (fields, ) = model.head.predict(feats, [sample], test_cfg=test_cfg)
        _, (unshifted, ) = model.head.predict(feats, [sample], test_cfg=dict(test_cfg, flip_shift=0.0))
    np.testing.assert_allclose(heatmaps[0], fields.heatmaps.numpy(), rtol=0, atol=1e-5)
    np.testing.assert_allclose(tags[0], fields.tags.numpy(), rtol=0, atol=1e-5)
    assert np.abs(heatmaps[0] - unshifted.heatmaps.numpy()).max() > 1e-3


@pytest.mark.parametrize('flip', [False, True])
def test_onnxruntime_poses_match_pytorch(exported, flip):
    """Same people, keypoints within 1e-2 image px, scores within 1e-4, on 8 images of 4 shapes; at most one image
    may differ (a near-tie resolved differently by the two runtimes' rounding), and the rate is printed."""
    model = exported['model']
    model.test_cfg = dict(model.test_cfg, flip_test=flip)
    estimator = ONNXRuntimePoseEstimator(exported['paths'][flip], providers=['CPUExecutionProvider'], num_threads=1)
    assert estimator.flip_test is flip
    result = agreement_over_images(model, estimator, exported['images'])
    print(format_agreement(result))
    assert result['people'] > 0, 'the test model should find people (peaks above the threshold)'
    assert result['agreed'] >= result['images'] - 1, result['rows']
    for row in result['rows']:
        if row['same_count'] and row['people'][0]:
            assert row['max_score_diff'] < 1e-4 or not row['agree']


def test_prediction_is_in_image_px(exported):
    estimator = ONNXRuntimePoseEstimator(exported['paths'][False], num_threads=1)
    img = exported['images'][2]  # 180 x 260 portrait
    people = estimator(img)
    assert people.keypoints.shape == (len(people), K, 2) and people.scores.shape == (len(people), )
    assert people.geometry['input_size'] == (128, 192)
    # the canvas covers the image (plus a border), so keypoints lie within the canvas' footprint in the image
    center, scale = people.geometry['input_center'], people.geometry['input_scale']
    assert (people.keypoints >= center - scale / 2 - 1e-6).all()
    assert (people.keypoints <= center + scale / 2 + 1e-6).all()
    assert set(estimator.last_seconds) == {'resize', 'network', 'decode'}


def test_compare_predictions_flags_differences(exported):
    estimator = ONNXRuntimePoseEstimator(exported['paths'][False], num_threads=1)
    people = estimator(exported['images'][0])
    assert len(people) > 1
    same = compare_predictions(people, people)
    assert same['agree'] and same['max_keypoint_diff'] == 0
    moved = type(people)(people.keypoints + np.array([0.02, 0]), people.keypoint_scores, people.scores)
    assert not compare_predictions(people, moved)['agree']
    fewer = type(people)(people.keypoints[:-1], people.keypoint_scores[:-1], people.scores[:-1])
    assert compare_predictions(people, fewer)['same_count'] is False


def test_runtime_errors_say_what_to_do(exported, tmp_path):
    estimator = ONNXRuntimePoseEstimator(exported['paths'][False], num_threads=1)
    with pytest.raises(ValueError, match=r'\(H, W, 3\) BGR image'):
        estimator(np.zeros((64, 64), np.uint8))
    raw = str(tmp_path / 'raw.onnx')
    export_onnx(exported['cfg'], None, raw, outputs='raw', model=exported['model'])
    assert [o.name for o in onnx.load(raw).graph.output] == ['heatmaps_0', 'heatmaps_1', 'tags', 'scales_0', 'scales_1']
    with pytest.raises(ValueError, match='re-export without --raw'):
        ONNXRuntimePoseEstimator(raw)
    bare = onnx.load(raw)
    del bare.metadata_props[:]
    onnx.save(bare, str(tmp_path / 'bare.onnx'))
    with pytest.raises(ValueError, match='export it with tools/deploy/export_onnx.py'):
        ONNXRuntimePoseEstimator(str(tmp_path / 'bare.onnx'))


def test_export_rejects_multiscale_and_old_opsets(exported, tmp_path):
    cfg = exported['cfg']
    with pytest.raises(ValueError, match='opset >= 11'):
        export_onnx(cfg, None, str(tmp_path / 'x.onnx'), opset=9, model=exported['model'])
    ms = cfg.copy()
    ms.test_dataloader.dataset.pipeline[1]['aug_scales'] = [0.5, 2.0]
    with pytest.raises(ValueError, match='multi-scale test'):
        export_onnx(ms, None, str(tmp_path / 'x.onnx'), model=exported['model'])


def test_export_cli_with_verification(exported, capsys):
    tool = load_tool('export_onnx')
    out = str(exported['root'] / 'cli.onnx')
    code = tool.main(
        [CONFIG, exported['checkpoint'], '--out', out, '--flip-test', '--verify', '2', '--image-size', '160', '120'])
    printed = capsys.readouterr().out
    assert code == 0, printed
    assert 'onnx.checker: OK' in printed
    assert 'ONNX Runtime vs PyTorch: 2/2 images agree' in printed
    assert read_metadata(out)['flip_test'] is True
