"""configs/swahr_hrnet_w32_custom.py on other keypoint sets than COCO-17, as docs/custom_dataset.md tells a user:
copy the template, set the metainfo, the joint count and the data paths; generate a small synthetic set of that
skeleton; train a few iterations, evaluate with CocoMetric (that set's sigmas, flip test on), export to ONNX and
decode. Tiny model and 64 px images, 2 iterations, so that the three sets take seconds each.
"""
import re

import cv2
import numpy as np
import pytest
from xtcocotools.coco import COCO
from xtcocotools.cocoeval import COCOeval

from swahr_mmpose.codecs import default_keypoint_order
from swahr_mmpose.codecs.utils.keypoint_order import load_metainfo
from e2e_helpers import REPO_ROOT, build_runner, tiny_model_overrides

pytestmark = pytest.mark.usefixtures('one_torch_thread')

SIZE = 64
# name, K, category: CrowdPose-14, a 21-joint hand, AP-10K's 17-joint animal (Halpe-26 is generated and checked in
# tests/test_datasets/test_synthetic_keypoint_sets.py; the errors of a wrong keypoint setup are tested one by one in
# tests/test_engine/test_keypoint_set_checks.py).
SETS = [('crowdpose', 14, 'person'), ('coco_wholebody_hand', 21, 'hand'), ('ap10k', 17, 'animal')]

RUN = f'''
codec = dict(codec, input_size=({SIZE}, {SIZE}), heatmap_size=[({SIZE // 4}, {SIZE // 4}), ({SIZE // 2}, {SIZE // 2})],
             decode_keypoint_thr=0.0)  # an untrained model: keep low peaks so that decoding has people to group
train_pipeline[1].input_size = codec['input_size']
train_pipeline[3].encoder = codec
val_pipeline = _base_.val_pipeline
val_pipeline[1].input_size = codec['input_size']
model = dict(backbone=dict(init_cfg=None), head=dict(num_keypoints=num_keypoints, decoder=codec))
train_dataloader = dict(batch_size=2, num_workers=0, persistent_workers=False,
                        dataset=dict(metainfo=metainfo, data_root=data_root, ann_file=train_ann_file,
                                     data_prefix=dict(img=train_img_prefix), pipeline=train_pipeline))
val_dataloader = dict(num_workers=0, persistent_workers=False,
                      dataset=dict(metainfo=metainfo, data_root=data_root, ann_file=val_ann_file,
                                   data_prefix=dict(img=val_img_prefix), pipeline=val_pipeline))
test_dataloader = val_dataloader
train_cfg = dict(_delete_=True, type='IterBasedTrainLoop', max_iters=2, val_interval=1000)
param_scheduler = [dict(type='ConstantLR', factor=1.0, by_epoch=False)]
default_hooks = dict(logger=dict(interval=1), checkpoint=dict(by_epoch=False, interval=2, save_best=None))
'''


def custom_config(path, data_root, metainfo_file, num_keypoints, extra=''):
    """The template with its first block set as a user would, plus the tiny test settings."""
    text = (REPO_ROOT / 'configs' / 'swahr_hrnet_w32_custom.py').read_text()
    settings = dict(
        metainfo=f"dict(from_file={metainfo_file!r})",
        num_keypoints=str(num_keypoints),
        data_root=repr(str(data_root) + '/'),
        train_ann_file="'annotations/person_keypoints_train.json'",
        val_ann_file="'annotations/person_keypoints_val.json'")
    for name, value in settings.items():
        text, count = re.subn(rf'^{name} = .*$', f'{name} = {value}', text, count=1, flags=re.M)
        assert count == 1, name
    text = text.replace("_base_ = ['./", f"_base_ = ['{REPO_ROOT / 'configs'}/")
    path.write_text(text + RUN + tiny_model_overrides() + extra)
    return path


@pytest.fixture(scope='module', params=SETS, ids=[s[0] for s in SETS])
def keypoint_set(request, tmp_path_factory):
    from swahr_mmpose.datasets.synthetic import make_synthetic_coco

    name, k, category = request.param
    root = tmp_path_factory.mktemp(name)
    metainfo_file = f'configs/_base_/datasets/{name}.py'
    paths = make_synthetic_coco(
        str(root / 'data'),
        num_train=4,
        num_val=2,
        image_size=(SIZE, SIZE),
        seed=5,
        metainfo=metainfo_file,
        category=category)
    return name, k, metainfo_file, paths, root


def test_gt_as_predictions_scores_ap_1_with_the_sets_sigmas(keypoint_set):
    """The generated annotation files evaluate with that set's K and sigmas (ground truth as results: AP 1)."""
    _, k, metainfo_file, paths, _ = keypoint_set
    sigmas = load_metainfo(metainfo_file)['sigmas']
    gt = COCO(paths['val_ann'])
    results = [
        dict(image_id=a['image_id'], category_id=a['category_id'], keypoints=a['keypoints'], score=1.0)
        for a in gt.dataset['annotations'] if a['num_keypoints'] > 0 and not a['iscrowd']
    ]
    assert len(results[0]['keypoints']) == 3 * k
    evaluation = COCOeval(gt, gt.loadRes(results), 'keypoints', sigmas, use_area=True)
    evaluation.evaluate()
    evaluation.accumulate()
    evaluation.summarize()
    assert evaluation.stats[0] == pytest.approx(1.0)


def test_train_evaluate_export_and_decode(keypoint_set, tmp_path):
    from swahr_mmpose.deploy import ONNXRuntimePoseEstimator, export_onnx

    name, k, metainfo_file, paths, root = keypoint_set
    meta = load_metainfo(metainfo_file)
    cfg = custom_config(tmp_path / 'cfg.py', paths['data_root'], metainfo_file, k)
    work = tmp_path / 'work'
    runner = build_runner(cfg, work)
    assert runner.cfg.model.test_cfg.flip_test
    runner.train()
    head = runner.model.head
    assert head.num_keypoints == k
    assert head.decoder.decoder.keypoint_order == default_keypoint_order(k, meta)

    metrics = runner.val()
    assert 0.0 <= metrics['coco/AP'] <= 1.0
    metric, = runner.val_evaluator.metrics
    np.testing.assert_array_equal(metric.dataset_meta['sigmas'], meta['sigmas'])  # that set's, not COCO's
    assert list(metric.dataset_meta['flip_indices']) == list(meta['flip_indices'])

    out = tmp_path / 'model.onnx'
    info = export_onnx(str(cfg), str(work / 'iter_2.pth'), str(out), flip_test=True)
    assert info['metadata']['codec']['decode_keypoint_order'] == default_keypoint_order(k, meta)
    estimator = ONNXRuntimePoseEstimator(str(out), num_threads=1)
    img = cv2.imread(str(paths['val_img_dir'] + '/000000000001.jpg'))
    people = estimator(img)
    assert len(people) > 0 and people.keypoints.shape[1:] == (k, 2)
    assert estimator.dataset_meta['num_keypoints'] == k
