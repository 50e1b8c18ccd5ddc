"""MMPose's own BottomupGetHeatmapMask and xtcocotools.mask work in the environment tools/setup_env.sh creates.

The xtcocotools 1.14.3 release calls NumPy 1's ``np.NPY_OWNDATA`` in its mask code, so under NumPy 2 every
``xtcocotools.mask.decode`` raised AttributeError and MMPose's bottom-up mask transform crashed on the first
annotation with a polygon; the setup script builds the release with the NumPy 2 name.
"""
import numpy as np
import pycocotools.mask as pycocomask
import xtcocotools.mask as xtcocomask
from mmpose.datasets.transforms import BottomupGetHeatmapMask

H, W = 40, 48
POLYGON = [[8.0, 10.0, 20.0, 10.0, 20.0, 22.0, 8.0, 22.0]]  # pixel centres 8..19 x 10..21


def crowd_rle():
    """An uncompressed COCO crowd RLE (column-major runs) of rows 25..34, columns 30..41."""
    mask = np.zeros((H, W), np.uint8)
    mask[25:35, 30:42] = 1
    flat = mask.flatten(order='F')
    bounds = np.flatnonzero(np.diff(np.concatenate([[0], flat, [1 - flat[-1]]])))
    counts = np.diff(np.concatenate([[0], bounds])).tolist()
    return dict(counts=counts, size=[H, W]), mask


def test_xtcocotools_masks_equal_pycocotools_on_a_polygon_and_a_crowd_rle():
    rle, expected = crowd_rle()
    for segmentation in (POLYGON, rle):
        ours = xtcocomask.decode(
            xtcocomask.merge(
                xtcocomask.frPyObjects(segmentation, H, W)
                if isinstance(segmentation, list) else [xtcocomask.frPyObjects(segmentation, H, W)]))
        theirs = pycocomask.decode(
            pycocomask.merge(
                pycocomask.frPyObjects(segmentation, H, W)
                if isinstance(segmentation, list) else [pycocomask.frPyObjects(segmentation, H, W)]))
        np.testing.assert_array_equal(ours, theirs)
        assert ours.sum() > 0
    assert np.array_equal(pycocomask.decode(pycocomask.frPyObjects(rle, H, W)), expected)
    assert xtcocomask.area(xtcocomask.frPyObjects(POLYGON, H, W))[0] == 12 * 12


def test_mmpose_bottomup_mask_runs_on_a_polygon_and_a_crowd_rle():
    rle, crowd = crowd_rle()
    # warp_mat as BottomupRandomAffine sets it (here the identity; MMPose only casts the mask to float when warping)
    results = dict(
        img_shape=(H, W),
        input_size=(W, H),
        invalid_segs=[POLYGON, rle],
        warp_mat=np.eye(2, 3),
        heatmaps=[np.zeros((1, H, W), np.float32),
                  np.zeros((1, H // 2, W // 2), np.float32)])
    masks = BottomupGetHeatmapMask()(results)['heatmap_mask']
    assert [m.shape for m in masks] == [(H, W), (H // 2, W // 2)]
    assert not masks[0][10:22, 8:20].any()  # the no-keypoint person's polygon is ignored
    # MMPose's _segs_to_mask reads only list segmentations, so the crowd RLE is not ignored (ScaleAdaptiveGenerate-
    # Target's reference masks do ignore it: tests/test_transforms/test_ignore_mask.py)
    assert masks[0][crowd > 0].all()
    assert masks[0].sum() == H * W - 12 * 12
