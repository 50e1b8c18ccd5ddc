"""COCO-style datasets that check their annotation file when they load it (before the first iteration).

``CheckedCocoDataset`` and ``CheckedCrowdPoseDataset`` are MMPose's ``CocoDataset`` / ``CrowdPoseDataset`` plus
:class:`CheckedAnnotationsMixin`: the annotation file is checked by
:func:`~swahr_mmpose.datasets.annotation_check.check_coco_keypoints` before MMPose parses it, so a bad annotation
fails when the runner builds the data loader (every rank, before any iteration) with file, image id, annotation id
and field, instead of at the iteration that first draws it; with ``bad_annotations='skip'`` the bad people become
ignore regions and the counts are logged. Any other ``BaseCocoStyleDataset`` subclass gets the same behaviour with
``class Checked...(CheckedAnnotationsMixin, TheDataset)``.
"""
import logging
import os.path as osp
import time
from typing import Any, Dict, List, Optional, Tuple

from mmengine.logging import print_log
from mmpose.datasets.datasets import CocoDataset, CrowdPoseDataset
from mmpose.registry import DATASETS

from .annotation_check import (BAD_ANNOTATION_POLICIES, AnnotationReport, BadAnnotationError, check_annotation_file,
                               coco_from_dict, skip_bad_annotations)
from .metainfo import parse_metainfo

SKIP_HINT = ("Fix the file, or train without these people: set the dataset's bad_annotations='skip' (e.g. "
             '--cfg-options train_dataloader.dataset.bad_annotations=skip '
             'val_dataloader.dataset.bad_annotations=skip); `python tools/check_dataset.py CONFIG` lists every '
             'problem.')
FILE_LEVEL_HINT = ("Problems of the whole file or of the dataset's metainfo cannot be skipped "
                   "(bad_annotations='skip' skips people and images); fix them first.")


def check_and_clean(data: Dict[str, Any], report: AnnotationReport, policy: str) -> Dict[str, Any]:
    """Apply ``policy`` to a checked annotation dict: raise (``'raise'``) or log and skip (``'skip'``).

    Returns:
        ``data`` itself when the report is clean, else the cleaned copy (``'skip'``).

    Raises:
        BadAnnotationError: problems and ``policy == 'raise'``, or problems of the whole file (any policy).
    """
    if policy not in BAD_ANNOTATION_POLICIES:
        raise ValueError(f'bad_annotations must be one of {BAD_ANNOTATION_POLICIES}, got {policy!r}')
    if report.ok:
        return data
    file_level = any(p.file_level for p in report.problems)
    if policy == 'raise' or file_level:
        hints = [FILE_LEVEL_HINT] if file_level else [SKIP_HINT]  # 'skip' cannot help with a whole-file problem
        raise BadAnnotationError(report.error_message(hint='\n'.join(hints)))
    cleaned, summary = skip_bad_annotations(data, report)
    print_log(summary.message(), logger='current', level=logging.WARNING)
    return cleaned


class CheckedAnnotationsMixin:
    """Check (and with ``bad_annotations='skip'`` clean) the annotation file before MMPose parses it.

    Put it before a ``BaseCocoStyleDataset`` subclass in the bases. Detection-result files (``bbox_file``) are not
    checked.

    Args:
        bad_annotations: ``'raise'`` (default): any problem fails with a list of them; ``'skip'``: bad people become
            ignore regions (see :func:`~swahr_mmpose.datasets.annotation_check.skip_bad_annotations`), images that
            cannot be kept are dropped, and one warning line gives the counts and the first problem.
        check_images: also decode every image and compare its size with the file (slow: every rank reads the
            whole data set; prefer ``python tools/check_dataset.py CONFIG --check-images`` once).
        max_outside: labelled joints / boxes further than this many image sizes outside the image are absurd.
        *args, **kwargs: the dataset's own arguments.

    Attributes:
        annotation_report: the :class:`~swahr_mmpose.datasets.annotation_check.AnnotationReport` of the last load.
    """

    def __init__(self,
                 *args,
                 bad_annotations: str = 'raise',
                 check_images: bool = False,
                 max_outside: float = 1.0,
                 **kwargs) -> None:
        if bad_annotations not in BAD_ANNOTATION_POLICIES:
            raise ValueError(f'bad_annotations must be one of {BAD_ANNOTATION_POLICIES}, got {bad_annotations!r}')
        self.bad_annotations = bad_annotations
        self.check_images = bool(check_images)
        self.max_outside = float(max_outside)
        self.annotation_report: Optional[AnnotationReport] = None
        super().__init__(*args, **kwargs)

    @classmethod
    def _load_metainfo(cls, metainfo: Optional[dict] = None) -> dict:
        """A config's ``metainfo`` (e.g. ``dict(from_file=...)`` for a custom keypoint set) is checked by
        :func:`~swahr_mmpose.datasets.metainfo.parse_metainfo` (errors name the file and field); the class's own
        ``METAINFO`` is parsed by MMPose as before."""
        if metainfo:
            if not isinstance(metainfo, dict):
                raise TypeError(f'metainfo should be a dict, but got {type(metainfo)}')
            return parse_metainfo(metainfo)
        return super()._load_metainfo(metainfo)

    def _load_annotations(self) -> Tuple[List[dict], List[dict]]:
        """As ``BaseCocoStyleDataset._load_annotations`` (MMPose 1.3.2), from the checked annotation dict."""
        start = time.monotonic()
        data, report = check_annotation_file(  # the rules of tools/check_dataset.py
            self.ann_file,
            self.metainfo,
            for_training=not self.test_mode,
            image_root=self.data_prefix.get('img', ''),
            check_images=self.check_images,
            max_outside=self.max_outside)
        self.annotation_report = report
        data = check_and_clean(data, report, self.bad_annotations)
        print_log(
            f'{type(self).__name__}: checked {report.num_images} images and {report.num_annotations} annotations '
            f'of {self.ann_file} in {time.monotonic() - start:.1f} s: '
            f'{"no problems" if report.ok else report.kind_counts()}',
            logger='current')

        self.coco = coco_from_dict(data)
        if 'categories' in self.coco.dataset:
            self._metainfo['CLASSES'] = self.coco.loadCats(self.coco.getCatIds())
        instance_list, image_list = [], []
        for img_id in self.coco.getImgIds():
            if img_id % self.sample_interval != 0:
                continue
            img = self.coco.loadImgs(img_id)[0]
            img.update({'img_id': img_id, 'img_path': osp.join(self.data_prefix['img'], img['file_name'])})
            image_list.append(img)
            for ann in self.coco.loadAnns(self.coco.getAnnIds(imgIds=img_id)):
                instance_info = self.parse_data_info(dict(raw_ann_info=ann, raw_img_info=img))
                if instance_info:  # every checked annotation has bbox and keypoints; kept for subclasses
                    instance_list.append(instance_info)
        return instance_list, image_list

    def _get_bottomup_data_infos(self, instance_list: List[Dict], image_list: List[Dict]) -> List[Dict]:
        """MMPose's, plus a log line for the images that are not used (no annotation: MMPose and the reference
        train on images with at least one annotation)."""
        data_list = super()._get_bottomup_data_infos(instance_list, image_list)
        if not self.test_mode:
            used = {info['img_id'] for info in data_list}
            unused = [img['img_id'] for img in image_list if img['img_id'] not in used]
            if unused:
                print_log(
                    f'{type(self).__name__}: {len(unused)} of {len(image_list)} images of {self.ann_file} have no '
                    f'annotation and are not used for training (as in MMPose and the reference); first image ids: '
                    f'{unused[:5]}',
                    logger='current')
        return data_list


@DATASETS.register_module()
class CheckedCocoDataset(CheckedAnnotationsMixin, CocoDataset):
    """MMPose's ``CocoDataset`` with the annotation check of :class:`CheckedAnnotationsMixin`."""


@DATASETS.register_module()
class CheckedCrowdPoseDataset(CheckedAnnotationsMixin, CrowdPoseDataset):
    """MMPose's ``CrowdPoseDataset`` with the annotation check of :class:`CheckedAnnotationsMixin`."""


__all__ = [
    'CheckedAnnotationsMixin', 'CheckedCocoDataset', 'CheckedCrowdPoseDataset', 'check_and_clean', 'BadAnnotationError'
]
