"""Error analysis (swahr_mmpose.analysis.error_analysis, tools/analyze_errors.py) on tiny data whose oracle APs are
known: perfect maps give AP 1 everywhere; shuffled tags leave the detection perfect but make grouping the only loss;
blank heatmaps leave nothing to detect unless the oracle heatmaps are substituted."""
import copy
import json
import os.path as osp
import runpy

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.runner import Runner

from swahr_mmpose.analysis.error_analysis import (ImageMaps, ap_by_person_size, evaluate_error_analysis,
                                                  ground_truth_in_canvas, oracle_heatmaps, oracle_tag_maps)
from swahr_mmpose.codecs import AEDecoder
from swahr_mmpose.datasets.transforms.reference_resize import canvas_to_image, image_to_canvas

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIG = osp.join(REPO, 'configs/swahr_hrnet_w32_synthetic.py')


def synthetic_config(data_root):
    cfg = Config.fromfile(CONFIG)
    cfg.test_dataloader.dataset.data_root = str(data_root) + '/'
    cfg.test_dataloader.num_workers, cfg.test_dataloader.persistent_workers = 0, False
    cfg.test_evaluator.ann_file = str(data_root) + '/annotations/person_keypoints_val.json'
    return cfg


def ground_truth_images(cfg, make_maps):
    """ImageMaps of the val set built from the ground truth with ``make_maps(keypoints, visibility, areas, shape)``
    -> (heatmaps, tags); metainfo from the config's own test pipeline."""
    dataloader = Runner.build_dataloader(copy.deepcopy(cfg.test_dataloader))
    images = []
    for batch in dataloader:
        sample = batch['data_samples'][0]
        height, width = (int(v) for v in sample.metainfo['input_size'][::-1])
        keypoints, visibility, areas = ground_truth_in_canvas(sample.metainfo['raw_ann_info'], sample.metainfo, 17)
        heatmaps, tags = make_maps(keypoints, visibility, areas, (17, height, width))
        images.append(ImageMaps(heatmaps, tags, keypoints, visibility, areas, sample))
    return images, dataloader.dataset.metainfo


def analyse(cfg, make_maps):
    images, meta = ground_truth_images(cfg, make_maps)
    return evaluate_error_analysis(images, AEDecoder(), cfg.test_evaluator, meta, match_radius_px=8.0)


def perfect(keypoints, visibility, areas, shape):
    return oracle_heatmaps(keypoints, visibility, shape), oracle_tag_maps(keypoints, visibility, areas, shape, 2)


def test_canvas_mapping_inverts_the_estimators_mapping():
    meta = dict(input_size=(128, 192), input_scale=(256.0, 384.0), input_center=(128.0, 180.0))
    canvas = np.array([[10.0, 20.0], [100.0, 150.0]])
    image = canvas / np.asarray(meta['input_size']) * np.asarray(meta['input_scale']) + \
        np.asarray(meta['input_center']) - 0.5 * np.asarray(meta['input_scale'])
    np.testing.assert_array_equal(canvas_to_image(canvas, meta), image)  # MMPose's expression, bit for bit
    np.testing.assert_allclose(image_to_canvas(image, meta), canvas)


def test_oracle_maps_place_peaks_and_identities():
    keypoints = np.array([[[10.3, 12.7], [40.0, 40.0]], [[30.5, 8.2], [0.0, 0.0]]])
    visibility = np.array([[2, 1], [2, 0]])
    heat = oracle_heatmaps(keypoints, visibility, (2, 48, 64))
    assert heat.shape == (2, 48, 64) and float(heat[0, 12, 10]) > 0.9 and float(heat[1, 40, 40]) > 0.9
    assert heat[1].max() == heat[1, 39:42, 39:42].max()  # person 1 has no joint 1: one peak only
    tags = oracle_tag_maps(keypoints, visibility, np.array([400.0, 400.0]), (2, 48, 64), tag_dim=2)
    assert tags.shape == (4, 48, 64) and torch.equal(tags[:2], tags[2:])  # both tag maps alike
    assert float(tags[0, 12, 10]) == 0.0 and float(tags[0, 8, 30]) == 4.0  # person index * 4
    assert float(tags[0, 47, 63]) > 1e3  # far from everyone: a tag of its own


def test_perfect_maps_give_ap_one_everywhere(tiny_coco):
    results = analyse(synthetic_config(tiny_coco), perfect)
    for variant, values in results['metrics'].items():
        assert values['AP'] > 0.95, (variant, values)
    # Perfect peaks still give a few candidates too many or too few: equal neighbours of a peak half-way between
    # pixels both survive NMS (as in the reference), and two people's same joints closer than the NMS window merge.
    stats = results['detection']
    assert stats.recall > 0.98 and stats.precision > 0.95 and results['num_images'] == 3


def test_shuffled_tags_limit_only_grouping(tiny_coco):
    rng = np.random.default_rng(0)

    def shuffled(keypoints, visibility, areas, shape):
        """Perfect peaks; each joint type's identities permuted among the people, so joints group wrongly."""
        heat, tags = perfect(keypoints, visibility, areas, shape)
        people = len(keypoints)
        for k in range(shape[0]):
            identity = tags[k] < 1e3  # pixels near somebody's joint k carry 4 * person index
            permuted = torch.from_numpy(4.0 * np.roll(np.arange(people), 1 + rng.integers(people)).astype(np.float32))
            tags[k][identity] = permuted[(tags[k][identity] / 4).long()]
        tags[shape[0]:] = tags[:shape[0]]
        return heat, tags

    results = analyse(synthetic_config(tiny_coco), shuffled)
    metrics = results['metrics']
    assert metrics['oracle tags']['AP'] > 0.95 and metrics['both oracles']['AP'] > 0.95
    assert metrics['model']['AP'] < 0.5 * metrics['oracle tags']['AP'], metrics  # grouping-limited
    assert metrics['oracle heatmaps']['AP'] < 0.5, metrics  # predicted tags are noise there too
    assert results['detection'].recall > 0.98  # detection itself is (nearly) perfect


def test_blank_heatmaps_are_detection_limited(tiny_coco):

    def blank(keypoints, visibility, areas, shape):
        _, tags = perfect(keypoints, visibility, areas, shape)
        return torch.zeros(shape), tags

    results = analyse(synthetic_config(tiny_coco), blank)
    metrics = results['metrics']
    assert metrics['model']['AP'] == 0.0 and metrics['oracle tags']['AP'] == 0.0
    assert metrics['oracle heatmaps']['AP'] > 0.95
    assert results['detection'].recall == 0.0 and results['detection'].candidates == 0


def test_command_runs_a_model_end_to_end(tiny_coco, tmp_path, capsys):
    """tools/analyze_errors.py on a freshly initialised tiny model: the table and the detection lines."""
    from mmengine.runner import save_checkpoint
    from mmpose.apis import init_model

    cfg = synthetic_config(tiny_coco)
    config_file = tmp_path / 'cfg.py'
    cfg.dump(str(config_file))
    model = init_model(cfg, device='cpu')
    checkpoint = tmp_path / 'model.pth'
    save_checkpoint(model.state_dict(), str(checkpoint))
    tool = runpy.run_path(osp.join(REPO, 'tools', 'analyze_errors.py'))
    assert tool['main']([str(config_file), str(checkpoint), '--json', str(tmp_path / 'errors.json')]) == 0
    out = capsys.readouterr().out
    assert 'both oracles' in out and 'keypoint detection' in out and 'recall by person height' in out
    saved = json.loads((tmp_path / 'errors.json').read_text())
    assert set(saved['detection']) == {'precision', 'recall', 'recall_by_height', 'recall_by_visibility'}


def _ground_truth_as_results(ann_file, keep):
    """Every labelled person of ``ann_file`` for which ``keep(annotation)`` holds, as a perfect detection."""
    with open(ann_file) as f:
        annotations = json.load(f)['annotations']
    return [
        dict(image_id=a['image_id'], category_id=1, keypoints=a['keypoints'], score=1.0) for a in annotations
        if not a['iscrowd'] and a['num_keypoints'] > 0 and keep(a)
    ]


def test_ap_by_person_size_splits_by_area(tiny_coco, tmp_path):
    ann_file = str(tiny_coco / 'annotations' / 'person_keypoints_val.json')
    with open(ann_file) as f:
        sizes = sorted(a['area']**0.5 for a in json.load(f)['annotations'] if not a['iscrowd'] and a['num_keypoints'])
    split = (sizes[len(sizes) // 2 - 1] + sizes[len(sizes) // 2]) / 2  # between the two middle people
    bins = ((0.0, split), (split, float('inf')))

    everyone = tmp_path / 'all.json'
    everyone.write_text(json.dumps(_ground_truth_as_results(ann_file, lambda a: True)))
    assert ap_by_person_size(ann_file, str(everyone), bins) == pytest.approx({f'0-{split:g}': 1.0, f'>={split:g}': 1.0})

    small_only = tmp_path / 'small.json'
    small_only.write_text(json.dumps(_ground_truth_as_results(ann_file, lambda a: a['area']**0.5 < split)))
    by_size = ap_by_person_size(ann_file, str(small_only), bins)
    assert by_size[f'0-{split:g}'] == pytest.approx(1.0) and by_size[f'>={split:g}'] == 0.0

    empty = tmp_path / 'none.json'
    empty.write_text('[]')
    assert set(ap_by_person_size(ann_file, str(empty), bins).values()) == {0.0}
