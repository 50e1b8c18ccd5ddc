"""The decoder's default joint order: reference order for COCO-17 / CrowdPose-14, a skeleton walk for the rest."""
import pytest

from swahr_mmpose.codecs import (REFERENCE_KEYPOINT_ORDER, AEDecoder, MultiLevelAssociativeEmbedding,
                                 default_keypoint_order, skeleton_keypoint_order)
from swahr_mmpose.codecs.utils.keypoint_order import load_metainfo


@pytest.mark.parametrize('name, k', [('coco', 17), ('crowdpose', 14), ('ochuman', 17), ('humanart', 17)])
def test_reference_sets_keep_the_reference_order(name, k):
    meta = load_metainfo(f'configs/_base_/datasets/{name}.py')
    assert default_keypoint_order(k, meta) == list(REFERENCE_KEYPOINT_ORDER[:k])
    assert default_keypoint_order(k) == list(REFERENCE_KEYPOINT_ORDER[:k])


def test_skeleton_walk_from_the_centre():
    # A chain 0-1-2-3-4 with a branch 2-5: centre 2; neighbours ascending; joint 6 in no link comes last.
    links = [(0, 1), (1, 2), (2, 3), (3, 4), (2, 5)]
    assert skeleton_keypoint_order(7, links) == [2, 1, 3, 5, 0, 4, 6]
    # Two parts: the larger first, each from its own centre.
    assert skeleton_keypoint_order(5, [(0, 1), (2, 3), (3, 4)]) == [3, 2, 4, 0, 1]


@pytest.mark.parametrize('name', ['ap10k', 'halpe26', 'coco_wholebody_hand', 'aic', 'mpii'])
def test_other_sets_walk_their_skeleton(name):
    meta = load_metainfo(f'configs/_base_/datasets/{name}.py')
    k = meta['num_keypoints']
    order = default_keypoint_order(k, meta)
    assert sorted(order) == list(range(k))
    neighbours = {j: set() for j in range(k)}
    for a, b in meta['skeleton_links']:
        neighbours[a].add(b)
        neighbours[b].add(a)
    # Every joint after the first is linked to one visited before it (the skeletons are connected).
    for i, joint in enumerate(order[1:], 1):
        assert neighbours[joint] & set(order[:i]), (name, joint)
    if name == 'coco_wholebody_hand':
        assert order[0] == 0  # the wrist joins the five fingers
    if k == 17:  # AP-10K: not the COCO order, although K is the same
        assert order != list(REFERENCE_KEYPOINT_ORDER)


def test_codecs_take_a_metainfo_as_order():
    hand = dict(from_file='configs/_base_/datasets/coco_wholebody_hand.py')
    expected = default_keypoint_order(21, load_metainfo(hand))
    assert AEDecoder(num_keypoints=21, keypoint_order=hand).keypoint_order == expected
    codec = MultiLevelAssociativeEmbedding(
        input_size=64, heatmap_size=[(16, 16), (32, 32)], num_keypoints=21, decode_keypoint_order=hand)
    assert codec.decoder.keypoint_order == expected
    with pytest.raises(
            ValueError,
            match=r"has 21 joints but the codec has num_keypoints=17.*set the codec's "
            r'num_keypoints \(and model.head.num_keypoints\) to 21'):
        AEDecoder(num_keypoints=17, keypoint_order=hand)
    with pytest.raises(ValueError, match="set keypoint_order explicitly.*decode_keypoint_order.*metainfo"):
        AEDecoder(num_keypoints=21)
