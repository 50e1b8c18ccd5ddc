"""The annotation check: every bad input is found with file, image id, annotation id and field; 'skip' turns bad
people into ignore regions (or drops their image) and says so."""
import copy
import math

import numpy as np
import pytest

from swahr_mmpose.datasets.annotation_check import (BadAnnotationError, check_coco_keypoints, coco_from_dict,
                                                    skip_bad_annotations)

K = 17
FILE = 'ann.json'


def person(ann_id, image_id, x0=20.0, y0=10.0, visible=5, crowd=0):
    """A valid person: ``visible`` labelled joints on a line, box and polygon around them."""
    kps = []
    for j in range(K):
        kps += [x0 + 2 * j, y0 + j, 2] if j < visible else [0, 0, 0]
    return dict(
        id=ann_id,
        image_id=image_id,
        category_id=1,
        keypoints=kps,
        num_keypoints=visible,
        bbox=[x0 - 1, y0 - 1, 40.0, 30.0],
        area=1200.0,
        iscrowd=crowd,
        segmentation=[[x0 - 1, y0 - 1, x0 + 39, y0 - 1, x0 + 39, y0 + 29, x0 - 1, y0 + 29]])


def coco(*annotations, num_images=3):
    images = [dict(id=i, file_name=f'{i:04d}.jpg', width=100, height=80) for i in range(1, num_images + 1)]
    return dict(images=images, annotations=list(annotations), categories=[dict(id=1, name='person')])


def check(data, **kwargs):
    return check_coco_keypoints(data, K, file=FILE, **kwargs)


def only_problem(data):
    report = check(data)
    assert len(report.problems) == 1, report.problems
    return report.problems[0]


def test_valid_file_has_no_problem_and_lists_images_without_people():
    report = check(coco(person(10, 1), person(11, 1, x0=50), person(12, 2, crowd=1, visible=0)))
    assert report.ok and report.num_annotations == 3 and report.num_images == 3
    assert report.images_without_annotations == [3]


def corrupt(field, value):
    ann = person(7, 2)
    if value is DELETE:
        del ann[field]
    else:
        ann[field] = value
    return ann


DELETE = object()
NAN_KPS = person(0, 0)['keypoints']
NAN_KPS[3 * 4] = math.nan
ABSURD_KPS = person(0, 0)['keypoints']
ABSURD_KPS[3 * 2 + 1] = 1e30
BAD_VIS = person(0, 0)['keypoints']
BAD_VIS[3 * 1 + 2] = 3


@pytest.mark.parametrize(
    'field,value,kind',
    [
        ('keypoints', DELETE, 'missing keypoints'),
        ('keypoints', NAN_KPS, 'NaN/inf keypoints'),
        ('keypoints', ABSURD_KPS, 'absurd keypoints'),
        ('keypoints', BAD_VIS, 'bad visibility'),
        ('keypoints', [1.0] * (3 * 14), 'wrong keypoint count'),
        ('keypoints', ['1'] * (3 * K), 'malformed keypoints'),
        ('keypoints', [None] * (3 * K), 'malformed keypoints'),
        ('bbox', DELETE, 'missing bbox'),
        ('bbox', [1.0, 2.0, 3.0], 'malformed bbox'),
        ('bbox', [1.0, 2.0, -3.0, 4.0], 'malformed bbox'),
        ('bbox', [1.0, math.inf, 3.0, 4.0], 'NaN/inf bbox'),
        ('bbox', [1e9, 2.0, 3.0, 4.0], 'absurd bbox'),
        ('num_keypoints', DELETE, 'missing num_keypoints'),
        ('num_keypoints', 'five', 'malformed num_keypoints'),
        ('num_keypoints', 18, 'malformed num_keypoints'),
        ('num_keypoints', 9, 'inconsistent num_keypoints'),  # only 5 joints labelled
        ('iscrowd', DELETE, 'missing iscrowd'),
        ('iscrowd', 2, 'malformed iscrowd'),
        ('segmentation', [[1.0, 2.0, math.nan, 4.0, 5.0, 6.0]], 'malformed segmentation'),
        ('segmentation', dict(counts=[0, 10], size=[40, 40]), 'malformed segmentation'),  # not the image's size
        ('segmentation', 'polygon', 'malformed segmentation'),
        ('area', math.nan, 'malformed area'),
        ('image_id', 99, 'unknown image_id'),
        ('category_id', DELETE, 'missing category_id'),
    ])
def test_each_bad_field_is_reported_with_file_image_annotation_and_field(field, value, kind):
    problem = only_problem(coco(person(6, 1), corrupt(field, value)))
    assert (problem.file, problem.ann_id, problem.field, problem.kind) == (FILE, 7, field, kind)
    assert problem.image_id == (99 if field == 'image_id' else 2)
    text = str(problem)
    assert text.startswith(f'{FILE}: image id {problem.image_id}, annotation id 7, field {field!r}: ')


def test_nan_message_names_the_joint_and_values():
    problem = only_problem(coco(corrupt('keypoints', NAN_KPS)))
    assert 'joint 4' in problem.message and 'nan' in problem.message


def test_ids_and_images():
    no_id = person(None, 1)
    del no_id['id']
    data = coco(person(5, 1), person(5, 2), no_id)
    data['images'][2].update(width=0)
    del data['images'][1]['file_name']
    kinds = {(p.image_id, p.ann_id, p.field, p.kind) for p in check(data).problems}
    assert kinds == {(2, 5, 'id', 'duplicate id'), (1, None, 'id', 'missing id'),
                     (3, None, 'width', 'malformed image size'), (2, None, 'file_name', 'missing file_name')}
    assert 'annotation #2 (no id)' in str(next(p for p in check(data).problems if p.kind == 'missing id'))


def test_not_a_coco_file():
    with pytest.raises(BadAnnotationError, match="'annotations' list"):
        check(dict(images=[]))


def test_error_message_counts_kinds_and_flags_a_joint_count_mismatch():
    fourteen = [dict(person(i, 1), keypoints=[10.0, 10.0, 2] * 14) for i in range(3)]
    report = check(coco(*fourteen))
    message = report.error_message(limit=2)
    assert message.startswith(f'3 annotation problem(s) in {FILE} (3 wrong keypoint count):')
    assert '... and 1 more' in message
    assert 'Every annotation has the wrong joint count' in message


def test_vectorised_and_per_annotation_checks_agree():
    """The fast path must not hide a problem the per-annotation rules see (one bad row among many good ones)."""
    good = [person(i, 1 + i % 3, x0=10 + i % 30) for i in range(200)]
    bad = copy.deepcopy(good)
    bad[123]['keypoints'][3 * 16] = math.inf
    bad[45]['bbox'][2] = -1.0
    report = check(coco(*bad))
    assert {(p.ann_id, p.kind) for p in report.problems} == {(123, 'NaN/inf keypoints'), (45, 'malformed bbox')}
    assert check(coco(*good)).ok


def test_skip_turns_a_bad_person_into_an_ignore_region_and_keeps_the_rest():
    data = coco(person(6, 1), corrupt('keypoints', NAN_KPS), dict(corrupt('bbox', DELETE), id=8))
    original = copy.deepcopy(data)
    cleaned, summary = skip_bad_annotations(data, check(data))
    assert data == original  # not modified in place
    assert check(cleaned).ok
    by_id = {a['id']: a for a in cleaned['annotations']}
    assert by_id[6] == data['annotations'][0]
    for ann_id in (7, 8):
        ann = by_id[ann_id]
        assert ann['iscrowd'] == 1 and ann['num_keypoints'] == 0 and not any(ann['keypoints'])
        assert ann['segmentation'] == person(0, 0)['segmentation']  # the person's own outline
    assert by_id[8]['bbox'] == [19.0, 9.0, 40.0, 30.0]  # recovered from the polygon
    message = summary.message()
    assert message.startswith(f'{FILE}: skipped 2 annotation(s): ')
    assert '1 NaN/inf keypoints' in message and '1 missing bbox' in message
    assert 'first: ann.json: image id 2, annotation id 7' in message
    assert not summary.dropped_images


def test_skip_uses_the_box_when_the_segmentation_is_bad_and_drops_unmaskable_images():
    bad_seg = corrupt('segmentation', 'polygon')
    nothing = dict(person(9, 3), bbox=None, segmentation=None, keypoints=None)
    data = coco(person(6, 1), bad_seg, nothing)
    data['images'][0]['height'] = -1
    cleaned, summary = skip_bad_annotations(data, check(data))
    assert [img['id'] for img in cleaned['images']] == [2]
    assert [a['id'] for a in cleaned['annotations']] == [7]
    x, y, w, h = person(0, 0)['bbox']
    assert cleaned['annotations'][0]['segmentation'] == [[x, y, x + w, y, x + w, y + h, x, y + h]]
    assert set(summary.dropped_images) == {1, 3}
    assert 'dropped 2 image(s)' in summary.message()


def test_cleaned_file_evaluates_with_cocoeval():
    """The crash of the issue: COCOeval on an annotation without keypoints; after 'skip' it evaluates, and a
    detection on the skipped person counts neither as a hit nor as a false positive."""
    from xtcocotools.cocoeval import COCOeval

    missing = corrupt('keypoints', DELETE)
    data = coco(person(6, 1), missing)
    gt = coco_from_dict(skip_bad_annotations(data, check(data))[0])
    dets = [
        dict(image_id=ann['image_id'], category_id=1, keypoints=person(0, 0)['keypoints'], score=1.0)
        for ann in (person(6, 1), person(7, 2))
    ]
    result = gt.loadRes(dets)
    evaluator = COCOeval(gt, result, 'keypoints', np.full(K, 0.05), use_area=True)
    evaluator.evaluate()
    evaluator.accumulate()
    evaluator.summarize()
    assert evaluator.stats[0] == pytest.approx(1.0)  # one GT person, found; the ignored one is no false positive


def test_check_images_reads_files(tmp_path):
    import cv2

    data = coco(person(6, 1))
    for img in data['images']:
        cv2.imwrite(str(tmp_path / img['file_name']), np.zeros((img['height'], img['width'], 3), np.uint8))
    assert check(data, image_root=str(tmp_path), check_images=True).ok
    data['images'][0]['file_name'] = 'missing.jpg'
    data['images'][1]['width'] += 1
    (tmp_path / 'broken.jpg').write_bytes(b'not a jpeg')
    data['images'][2]['file_name'] = 'broken.jpg'
    found = {(p.image_id, p.field, p.kind) for p in check(data, image_root=str(tmp_path), check_images=True).problems}
    assert found == {(1, 'file_name', 'missing image file'), (2, 'width', 'image size mismatch'),
                     (3, 'file_name', 'unreadable image')}


def test_a_polygon_without_area_is_a_problem_only_where_it_masks():
    """A crowd region or a person without labelled joints is masked through its segmentation: with fewer than 3
    vertices it would mask nothing. A labelled person's segmentation is not used (real COCO has a few such)."""
    line = [[21.0, 11.0, 40.0, 30.0]]
    assert check(coco(dict(person(10, 1), segmentation=line))).ok
    for ann in (dict(person(11, 1, crowd=1, visible=0),
                     segmentation=line), dict(person(12, 1, visible=0), segmentation=line)):
        problem = only_problem(coco(ann))
        assert (problem.kind, problem.field) == ('malformed segmentation', 'segmentation')
        assert problem.message.startswith('no polygon has 3 or more vertices, so this region would mask nothing')
        cleaned, _ = skip_bad_annotations(coco(ann), check(coco(ann)))
        (region, ) = cleaned['annotations']
        assert region['segmentation'] == [[19.0, 9.0, 59.0, 9.0, 59.0, 39.0, 19.0, 39.0]]  # its box
