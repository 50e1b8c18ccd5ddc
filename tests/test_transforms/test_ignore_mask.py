"""Ignore masks: segment selection, rasterisation, per-level warp, outside-image pixels, flip conventions.

Geometry used by the hand-worked cases: a 40 x 40 original image, identity affine, input 40 and levels
(40, 40) and (20, 20). cv2's bilinear warp samples the source at ``x_src = 2 * x_level`` for the 1/2 level, i.e. at
integer positions, so the expected masks are exact sets of pixels.
"""
import numpy as np
import pytest
from mmpose.datasets.transforms import BottomupGetHeatmapMask

from swahr_mmpose.datasets.transforms import ScaleAdaptiveGenerateTarget
from swahr_mmpose.datasets.transforms.ignore_mask import rasterize_segments, select_ignore_segments
from oracles.reference_targets import reference_valid_mask

H = W = 40
BLOCK_ROWS, BLOCK_COLS = slice(10, 20), slice(7, 16)  # rows 10..19, columns 7..15


def block_mask():
    mask = np.zeros((H, W), dtype=np.uint8)
    mask[BLOCK_ROWS, BLOCK_COLS] = 1
    return mask


def uncompressed_rle(mask):
    """COCO crowd-style RLE: run lengths over the column-major pixels, starting with a run of zeros."""
    flat = mask.flatten(order='F')
    change = np.flatnonzero(np.diff(flat)) + 1
    bounds = np.concatenate([[0], change, [flat.size]])
    counts = np.diff(bounds).tolist()
    if flat[0] == 1:
        counts = [0] + counts
    return dict(counts=counts, size=[mask.shape[0], mask.shape[1]])


def block_polygon():
    # pixel centres 7..15 x 10..19 are inside this polygon (COCO rasterises pixel centres)
    return [[7.0, 10.0, 16.0, 10.0, 16.0, 20.0, 7.0, 20.0]]


def masks_for(results, flip_convention='reference', **kwargs):
    encoder = dict(
        type='MultiLevelAssociativeEmbedding',
        input_size=W,
        heatmap_size=[(W, W), (W // 2, W // 2)],
        flip_convention=flip_convention)
    gen = ScaleAdaptiveGenerateTarget(encoder=encoder, **kwargs)
    base = dict(keypoints=np.zeros((0, 1, 2)), keypoints_visible=np.zeros((0, 1)), ori_shape=(H, W))
    return gen(dict(base, **results))['heatmap_mask']


# ------------------------------------------------------------------------------------------------ rasterisation
def test_rasterize_uncompressed_rle_compressed_rle_and_polygons():
    import pycocotools.mask as cocomask
    expected = block_mask()
    assert np.array_equal(rasterize_segments([uncompressed_rle(expected)], (H, W)), expected)
    compressed = cocomask.encode(np.asfortranarray(expected))
    assert np.array_equal(rasterize_segments([compressed], (H, W)), expected)
    as_str = dict(size=compressed['size'], counts=compressed['counts'].decode('ascii'))
    assert np.array_equal(rasterize_segments([as_str], (H, W)), expected)
    assert np.array_equal(rasterize_segments([block_polygon()], (H, W)), expected)
    assert np.array_equal(rasterize_segments([block_polygon()[0]], (H, W)), expected)  # a single flat polygon
    assert not rasterize_segments([None, [], [[1.0, 2.0, 3.0, 4.0]]], (H, W)).any()
    # union of several
    other = np.zeros((H, W), np.uint8)
    other[30:35, 30:38] = 1
    union = rasterize_segments([block_polygon(), uncompressed_rle(other)], (H, W))
    assert np.array_equal(union, expected | other)


def test_rasterize_errors():
    with pytest.raises(ValueError, match='does not match the image shape'):
        rasterize_segments([dict(counts=[5, 5], size=[2, 5])], (H, W))
    with pytest.raises(ValueError, match="'counts' and 'size'"):
        rasterize_segments([dict(counts=[5, 5])], (H, W))
    with pytest.raises(ValueError, match='unsupported segmentation type'):
        rasterize_segments([3.5], (H, W))


def test_select_segments_reference_rule():
    anns = [
        dict(iscrowd=1, num_keypoints=0, segmentation='crowd'),
        dict(iscrowd=0, num_keypoints=0, segmentation='no-kpt'),
        dict(iscrowd=0, num_keypoints=4, segmentation='person'),
        dict(iscrowd=0, keypoints=[1, 1, 0, 2, 2, 0], segmentation='counted-0'),
        dict(iscrowd=0, keypoints=[1, 1, 2, 2, 2, 0], segmentation='counted-1'),
    ]
    results = dict(raw_ann_info=anns, invalid_segs=['from-mmpose'])
    assert select_ignore_segments(results, 'auto') == ['crowd', 'no-kpt', 'counted-0']
    assert select_ignore_segments(results, 'raw_ann_info') == ['crowd', 'no-kpt', 'counted-0']
    assert select_ignore_segments(results, 'invalid_segs') == ['from-mmpose']
    assert select_ignore_segments(dict(invalid_segs=['x']), 'auto') == ['x']
    assert select_ignore_segments({}, 'auto') == []
    with pytest.raises(ValueError, match='raw_ann_info'):
        select_ignore_segments(dict(invalid_segs=[]), 'raw_ann_info')
    with pytest.raises(ValueError, match='invalid_segs'):
        select_ignore_segments({}, 'invalid_segs')


# ------------------------------------------------------------------------------------------------ per-level masks
def test_crowd_rle_and_no_keypoint_polygon_are_ignored_person_polygon_is_not():
    anns = [
        dict(iscrowd=1, num_keypoints=0, segmentation=uncompressed_rle(block_mask())),
        dict(iscrowd=0, num_keypoints=3, segmentation=[[30.0, 30.0, 38.0, 30.0, 38.0, 38.0]])
    ]
    level0, level1 = masks_for(dict(raw_ann_info=anns))
    assert level0.dtype == np.float32 and level0.shape == (40, 40) and level1.shape == (20, 20)
    assert np.array_equal(level0, 1.0 - block_mask())
    expected1 = np.ones((20, 20), np.float32)
    expected1[5:10, 4:8] = 0  # source rows 10..18, columns 8..14 (x_src = 2x: 7 is odd, so x=4 -> 8)
    assert np.array_equal(level1, expected1)
    # the same from a non-crowd annotation without keypoints (polygon), and via MMPose's invalid_segs
    poly = [dict(iscrowd=0, num_keypoints=0, segmentation=block_polygon())]
    assert np.array_equal(masks_for(dict(raw_ann_info=poly))[1], expected1)
    assert np.array_equal(masks_for(dict(invalid_segs=[block_polygon()]))[1], expected1)


def test_masks_match_reference_warp_on_random_affine():
    anns = [
        dict(iscrowd=1, num_keypoints=0, segmentation=uncompressed_rle(block_mask())),
        dict(iscrowd=0, num_keypoints=0, segmentation=[[25.0, 2.0, 39.0, 5.0, 30.0, 15.0]])
    ]
    import cv2
    valid = reference_valid_mask(anns, H, W)
    warp = np.array([[0.83, -0.31, 9.2], [0.31, 0.83, -4.7]])
    for level_size, mask in zip([40, 20], masks_for(dict(raw_ann_info=anns, warp_mat=warp))):
        mat = warp * (level_size / W)
        expected = (cv2.warpAffine((valid * 255).astype(np.uint8), mat, (level_size, level_size)) / 255 > 0.5)
        assert np.array_equal(mask, expected.astype(np.float32))
        assert 0 < mask.mean() < 1


def test_outside_image_pixels_and_crowdpose_option():
    anns = [dict(iscrowd=1, num_keypoints=0, segmentation=uncompressed_rle(block_mask()))]
    shift = np.array([[1.0, 0.0, 10.0], [0.0, 1.0, 0.0]])  # image moved 10 px right: columns 0..9 have no source
    level0, _ = masks_for(dict(raw_ann_info=anns, warp_mat=shift))
    expected = np.ones((H, W), np.float32)
    expected[:, :10] = 0
    expected[10:20, 17:26] = 0
    assert np.array_equal(level0, expected)
    # CrowdPose (reference): no segment masking, but the warp border is still ignored
    level0, _ = masks_for(dict(raw_ann_info=anns, warp_mat=shift), use_ignore_mask=False)
    expected = np.ones((H, W), np.float32)
    expected[:, :10] = 0
    assert np.array_equal(level0, expected)
    # fully valid when both are off
    level0, level1 = masks_for(
        dict(raw_ann_info=anns, warp_mat=shift), use_ignore_mask=False, ignore_outside_image=False)
    assert level0.all() and level1.all()
    # segments but no border ignoring
    level0, _ = masks_for(dict(raw_ann_info=anns, warp_mat=shift), ignore_outside_image=False)
    assert level0[:, :10].all() and not level0[10:20, 17:26].any()


def test_flipped_masks_reference_and_consistent():
    anns = [dict(iscrowd=1, num_keypoints=0, segmentation=uncompressed_rle(block_mask()))]
    flipped = dict(raw_ann_info=anns, flip=True, flip_direction='horizontal')
    # reference: flip the level arrays. Level 0: columns 39-15..39-7 = 24..32. Level 1: unflipped zeros at columns
    # 4..7 (x_src = 2x in 7..15) -> 19-7..19-4 = 12..15.
    level0, level1 = masks_for(flipped)
    assert np.array_equal(np.flatnonzero(level0[15] == 0), np.arange(24, 33))
    assert np.array_equal(np.flatnonzero(level1[7] == 0), np.arange(12, 16))
    # consistent: level x samples the flipped image at input 2x, i.e. source 39 - 2x in 7..15 -> x = 12..16
    level0, level1 = masks_for(flipped, flip_convention='consistent')
    assert np.array_equal(np.flatnonzero(level0[15] == 0), np.arange(24, 33))
    assert np.array_equal(np.flatnonzero(level1[7] == 0), np.arange(12, 17))


def test_mmpose_bottomup_mask_drops_crowd_rle():
    """Why the target transform builds masks itself: MMPose's transform ignores crowd RLE dicts."""
    results = dict(
        img_shape=(H, W),
        input_size=(W, H),
        invalid_segs=[uncompressed_rle(block_mask())],
        heatmaps=[np.zeros((1, H, W), np.float32)])
    mmpose_mask = BottomupGetHeatmapMask()(results)['heatmap_mask'][0]
    assert mmpose_mask.all()  # the crowd block is NOT ignored by MMPose
    ours = masks_for(dict(invalid_segs=[uncompressed_rle(block_mask())]))[0]
    assert not ours[BLOCK_ROWS, BLOCK_COLS].any()
