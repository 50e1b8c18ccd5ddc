"""Data-side components: checked COCO-style datasets, bottom-up transforms and target generation."""
from . import transforms  # noqa: F401
from .annotation_check import (AnnotationProblem, AnnotationReport, BadAnnotationError, check_coco_keypoints,
                               skip_bad_annotations)
from .checked_coco import CheckedAnnotationsMixin, CheckedCocoDataset, CheckedCrowdPoseDataset

__all__ = [
    'AnnotationProblem', 'AnnotationReport', 'BadAnnotationError', 'check_coco_keypoints', 'skip_bad_annotations',
    'CheckedAnnotationsMixin', 'CheckedCocoDataset', 'CheckedCrowdPoseDataset'
]
