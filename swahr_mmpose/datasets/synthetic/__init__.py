"""Synthetic multi-person COCO-keypoint data (no download needed): stick/capsule figures on textured backgrounds.

``make_synthetic_coco(out_dir, num_train, num_val, image_size, seed, metainfo=None)`` writes
``annotations/person_keypoints_{train,val}.json`` and ``images/{train,val}/*.jpg`` under ``out_dir``; see
:mod:`.generator` for the layout and :mod:`.scene` for the labelling rules (visibility, occlusion, crowd and
zero-keypoint instances). COCO-17 people are drawn by a body model (:func:`.skeleton.sample_poses`); any other
keypoint set (``metainfo``) as stick figures of its skeleton (:class:`.skeleton.Skeleton`,
:func:`.skeleton.skeleton_layout`) under the same scene rules.
"""
from .coco_writer import (build_annotation, coco_person_category, mask_to_bbox, mask_to_polygons, mask_to_rle,
                          rle_to_mask, write_coco_json)
from .generator import image_rng, make_synthetic_coco, write_split
from .render import KEYPOINT_COLOURS, Appearance, draw_annotations, draw_people, keypoint_colours, render_background
from .scene import Instance, SceneConfig, keypoint_visibility, render_scene
from .skeleton import (COCO_FLIP_INDICES, COCO_KEYPOINT_NAMES, COCO_SKELETON, NUM_KEYPOINTS, BodyProportions, PoseBatch,
                       Skeleton, SkeletonLayout, sample_poses, sample_skeleton_poses, skeleton_layout)

__all__ = [
    'make_synthetic_coco', 'write_split', 'image_rng', 'SceneConfig', 'render_scene', 'keypoint_visibility', 'Instance',
    'BodyProportions', 'PoseBatch', 'sample_poses', 'Appearance', 'render_background', 'draw_people',
    'draw_annotations', 'KEYPOINT_COLOURS', 'build_annotation', 'coco_person_category', 'mask_to_bbox',
    'mask_to_polygons', 'mask_to_rle', 'rle_to_mask', 'write_coco_json', 'COCO_KEYPOINT_NAMES', 'COCO_SKELETON',
    'COCO_FLIP_INDICES', 'NUM_KEYPOINTS', 'Skeleton', 'SkeletonLayout', 'skeleton_layout', 'sample_skeleton_poses',
    'keypoint_colours'
]
