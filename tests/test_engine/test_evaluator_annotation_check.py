"""EvaluatorAnnotationCheckHook on a real CocoMetric whose annotation file has a person without keypoints (the file
the evaluator reads may differ from the val dataset's, so the dataset's own check does not cover it)."""
import json

import pytest
from mmpose.evaluation import CocoMetric

from swahr_mmpose.datasets import BadAnnotationError
from swahr_mmpose.engine.hooks import EvaluatorAnnotationCheckHook

K = 17


@pytest.fixture
def ann_file(tmp_path):
    kps = [10.0, 10.0, 2] * K
    anns = [
        dict(
            id=1, image_id=1, category_id=1, iscrowd=0, keypoints=kps, num_keypoints=K, bbox=[5, 5, 20, 20],
            area=400.0),
        dict(id=2, image_id=1, category_id=1, iscrowd=0, num_keypoints=3, bbox=[30, 5, 20, 20], area=400.0)
    ]
    data = dict(
        images=[dict(id=1, file_name='1.jpg', width=64, height=64)],
        annotations=anns,
        categories=[dict(id=1, name='person')])
    path = tmp_path / 'val.json'
    path.write_text(json.dumps(data))
    return str(path)


def test_raise_names_the_evaluator_file_and_annotation(ann_file):
    metric = CocoMetric(ann_file=ann_file)
    with pytest.raises(BadAnnotationError) as info:
        EvaluatorAnnotationCheckHook.check_metric(metric, 'val', 'raise', K)
    assert f"{ann_file} (val evaluator CocoMetric): image id 1, annotation id 2, field 'keypoints': the key is " \
           'missing' in str(info.value)


def test_skip_reindexes_the_metric_on_the_cleaned_copy(ann_file):
    metric = CocoMetric(ann_file=ann_file)
    EvaluatorAnnotationCheckHook.check_metric(metric, 'val', 'skip', K)
    assert metric.coco.anns[2]['iscrowd'] == 1 and metric.coco.anns[2]['keypoints'] == [0] * (3 * K)
    assert metric.coco.anns[1]['iscrowd'] == 0
    assert metric.coco.getAnnIds(imgIds=[1]) == [1, 2]


def test_metrics_without_ground_truth_are_left_alone():
    metric = CocoMetric(ann_file=None)
    EvaluatorAnnotationCheckHook.check_metric(metric, 'test', 'raise', K)
    assert metric.coco is None
