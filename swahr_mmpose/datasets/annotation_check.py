"""Check COCO-style keypoint annotation files before training, and skip bad people as ignore regions.

MMPose's ``BaseCocoStyleDataset`` silently drops annotations without ``bbox`` or ``keypoints`` (their pixels then
count as background), crashes with bare NumPy errors on malformed lists, and lets NaN keypoints through to the first
iteration that draws them; ``COCOeval`` (xtcocotools) raises a bare ``KeyError`` on an annotation without
``keypoints``, ``bbox`` or ``iscrowd``. :func:`check_coco_keypoints` finds all of these at once, each with file,
image id, annotation id and field; :func:`skip_bad_annotations` turns every bad person into a crowd-style ignore
region (masked by the heatmap loss, ignored by ``COCOeval``), so nothing is lost without a log line.

Rules (K = the dataset's joint count; W, H = the image's ``width`` / ``height``):

* file: a JSON object (UTF-8, valid JSON) with ``images`` and ``annotations`` lists and a non-empty ``categories``
  list of dicts with int ``id`` (``COCOeval`` reads it); a training file has at least one annotation. These concern
  the whole file: ``'skip'`` cannot skip them. (The metainfo itself, one OKS sigma per joint included, is checked by
  :mod:`swahr_mmpose.datasets.metainfo` when a checked dataset is built, and CocoMetric's sigmas by
  ``ConsistencyCheckHook``.)
* image: ``id`` an int, unique; ``file_name`` a non-empty string; ``width`` / ``height`` positive ints; with
  ``check_images`` the file exists, decodes and has that size.
* annotation: ``id`` an int, unique; ``image_id`` one of the images; ``category_id`` present;
  ``keypoints`` 3K finite numbers ``x, y, v`` with ``v`` in {0, 1, 2}, labelled joints (v > 0) no further than
  ``max_outside`` image sizes outside the image (absurd coordinates); ``bbox`` 4 finite numbers ``x, y, w, h``,
  ``w, h >= 0``, within the same margin; ``num_keypoints`` an int in [0, K] not larger than the number of labelled
  joints (COCO counts v > 0, CrowdPose only v = 2, so it may be smaller); ``iscrowd`` 0 or 1; ``segmentation``
  (optional) polygons of finite numbers or an RLE dict of the image's size whose counts (a list, or COCO's
  compressed string) are non-negative ints summing to H * W, and a segmentation that masks a region (crowds and
  people without labelled joints) has a polygon of 3 or more vertices; ``area`` (optional) finite, >= 0.

The training-time check (:mod:`~swahr_mmpose.datasets.checked_coco`), the evaluators' check
(``EvaluatorAnnotationCheckHook``) and ``tools/check_dataset.py`` all run :func:`check_annotation_file` /
:func:`check_coco_keypoints`: one rule set, so anything training rejects, the tool rejects first.
"""
import json
import os.path as osp
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple

import numpy as np

# Policies for bad annotations (the datasets' ``bad_annotations`` argument).
BAD_ANNOTATION_POLICIES = ('raise', 'skip')
# Labelled joints and boxes may lie at most this many image sizes outside the image before they count as absurd.
DEFAULT_MAX_OUTSIDE = 1.0
# How many problems an error message lists (the tool lists all).
MESSAGE_LIMIT = 10

# Problem kinds whose annotation cannot become an ignore region: its image is dropped in 'skip' mode.
_STRUCTURAL_KINDS = frozenset({'missing id', 'duplicate id', 'missing category_id'})
# Fields of problems that concern the whole file (or the dataset's metainfo): no policy can skip them.
_FILE_FIELDS = frozenset({'file', 'categories', 'annotations'})


@dataclass(frozen=True)
class AnnotationProblem:
    """One problem in an annotation file.

    Attributes:
        file: the annotation file (or another name of the source).
        image_id: the image's ``id`` (None if unknown).
        ann_id: the annotation's ``id``; None for image-level problems (or an annotation without id).
        field: the offending key (``'keypoints'``, ``'bbox'``, ``'width'``, the image file for ``'file_name'``...).
        kind: a short label used for counts (``'NaN/inf keypoints'``, ``'missing bbox'``...).
        message: what is wrong, with the values.
        index: position in the file's ``annotations`` (or ``images``) list.
    """
    file: str
    image_id: Any
    ann_id: Any
    field: str
    kind: str
    message: str
    index: int = -1

    @property
    def image_level(self) -> bool:
        """A problem of the image entry (or file), not of one annotation."""
        return self.field in _IMAGE_FIELDS

    @property
    def file_level(self) -> bool:
        """A problem of the whole file or of the dataset's metainfo (``'skip'`` cannot skip it)."""
        return self.field in _FILE_FIELDS

    def __str__(self) -> str:
        if self.field == 'file':
            return f'{self.file}: {self.message}'
        if self.file_level:
            return f'{self.file}: field {self.field!r}: {self.message}'
        where = f'image id {self.image_id}'
        if not self.image_level:
            where += f', annotation id {self.ann_id}' if self.ann_id is not None else \
                f', annotation #{self.index} (no id)'
        return f'{self.file}: {where}, field {self.field!r}: {self.message}'


_IMAGE_FIELDS = frozenset({'file_name', 'width', 'height', 'image'})


@dataclass
class AnnotationReport:
    """Result of :func:`check_coco_keypoints` for one annotation file."""
    file: str
    num_keypoints: int
    num_images: int = 0
    num_annotations: int = 0
    problems: List[AnnotationProblem] = field(default_factory=list)
    images_without_annotations: List[Any] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def kind_counts(self) -> str:
        """``'2 NaN/inf keypoints, 1 missing bbox'``: problems per kind, most frequent first."""
        return ', '.join(f'{n} {kind}' for kind, n in Counter(p.kind for p in self.problems).most_common())

    def error_message(self, limit: int = MESSAGE_LIMIT, hint: str = '') -> str:
        """A multi-line error: counts, the first ``limit`` problems, what to change."""
        lines = [f'{len(self.problems)} annotation problem(s) in {self.file} ({self.kind_counts()}):']
        lines += [f'  - {p}' for p in self.problems[:limit]]
        if len(self.problems) > limit:
            lines.append(f'  ... and {len(self.problems) - limit} more')
        wrong_count = [p for p in self.problems if p.kind == 'wrong keypoint count']
        if wrong_count and len(wrong_count) >= self.num_annotations > 0:
            lines.append(f'Every annotation has the wrong joint count: the dataset metainfo says K='
                         f'{self.num_keypoints}; is the dataset `type` (or `metainfo`) right for this file?')
        if hint:
            lines.append(hint)
        return '\n'.join(lines)


class BadAnnotationError(ValueError):
    """An annotation file has problems and the policy is ``'raise'``."""


# ------------------------------------------------------------------------------------------------------- checks
def _is_int(value: Any) -> bool:
    return (type(value) is int) or isinstance(value, np.integer)  # not bool (type check, fast on large files)


def _is_number(value: Any) -> bool:
    return type(value) in (int, float) or isinstance(value, (np.integer, np.floating))


def _numbers(value: Any) -> Optional[np.ndarray]:
    """A flat list/tuple of real numbers as float64, or None (strings, None, nesting, booleans only)."""
    if not isinstance(value, (list, tuple)):
        return None
    try:
        array = np.asarray(value)
    except (ValueError, TypeError):  # ragged nesting
        return None
    if array.ndim != 1 or array.dtype.kind not in 'iuf':
        return None
    return array.astype(np.float64)


def _bulk_rows(annotations: Sequence[Any], key: str, length: int) -> Tuple[np.ndarray, Optional[np.ndarray]]:
    """(indices, (N, length) float64) for the annotations whose ``key`` is a list of ``length`` numbers; rows
    None when some such list holds something else (the per-annotation checks then describe every row)."""
    index, values = [], []
    for i, ann in enumerate(annotations):
        value = ann.get(key) if isinstance(ann, dict) else None
        if isinstance(value, list) and len(value) == length:
            index.append(i)
            values.append(value)
    index = np.asarray(index, dtype=np.int64)
    try:
        rows = np.array(values)  # no dtype: strings or None give a non-numeric array instead of being converted
    except (TypeError, ValueError):
        return index, None
    if rows.dtype.kind not in 'iuf':
        return index, None
    return index, rows.astype(np.float64).reshape(len(values), length)


def _outside(x: np.ndarray, y: np.ndarray, width: float, height: float, margin: float) -> np.ndarray:
    """True where (x, y) lies more than ``margin`` image sizes outside the image."""
    return (x < -margin * width) | (x > (1 + margin) * width) | (y < -margin * height) | (y > (1 + margin) * height)


class _Checker:
    """Collects problems for one file (see the module docstring for the rules)."""

    def __init__(self, file: str, num_keypoints: int, max_outside: float) -> None:
        self.file = file
        self.num_keypoints = int(num_keypoints)
        self.max_outside = float(max_outside)
        self.problems: List[AnnotationProblem] = []
        self.fast_keypoints: Dict[int, int] = {}  # annotation index -> labelled joints, for rows that pass
        self.fast_bboxes: set = set()

    def screen(self, annotations: Sequence[Any], images: Dict[Any, dict]) -> None:
        """Vectorised keypoint and box checks over the whole file (a COCO train file in about a second); the
        per-annotation checks then only look at the rows that fail, to describe them."""
        sizes = []
        for ann in annotations:
            image = images.get(ann.get('image_id')) if isinstance(ann, dict) and _is_int(ann.get('image_id')) \
                else None
            width, height = (image.get('width'), image.get('height')) if image else (None, None)
            ok = _is_int(width) and _is_int(height) and width > 0 and height > 0
            sizes.append((width, height) if ok else (np.inf, np.inf))  # unknown size: no outside test
        sizes = np.asarray(sizes, dtype=np.float64).reshape(-1, 2)
        k, margin = self.num_keypoints, self.max_outside

        index, rows = _bulk_rows(annotations, 'keypoints', 3 * k)
        if rows is not None:
            joints = rows.reshape(-1, k, 3)
            width, height = sizes[index, 0:1], sizes[index, 1:2]
            vis = joints[..., 2]
            labelled = vis > 0
            good = np.isfinite(joints).all(axis=(1, 2)) & np.isin(vis, (0, 1, 2)).all(axis=1)
            with np.errstate(invalid='ignore'):
                far = labelled & _outside(joints[..., 0], joints[..., 1], width, height, margin)
            good &= ~far.any(axis=1)
            self.fast_keypoints = dict(zip(index[good].tolist(), labelled[good].sum(axis=1).tolist()))
        index, rows = _bulk_rows(annotations, 'bbox', 4)
        if rows is not None:
            x, y, w, h = rows.T
            with np.errstate(invalid='ignore'):
                far = _outside(
                    np.stack([x, x + w], 1), np.stack([y, y + h], 1), sizes[index, 0:1], sizes[index, 1:2],
                    margin).any(axis=1)
                good = np.isfinite(rows).all(axis=1) & (w >= 0) & (h >= 0) & ~far
            self.fast_bboxes = set(index[good].tolist())

    def add(self, image_id: Any, ann_id: Any, field_name: str, kind: str, message: str, index: int) -> None:
        self.problems.append(AnnotationProblem(self.file, image_id, ann_id, field_name, kind, message, index))

    # images ------------------------------------------------------------------------------------------------
    def check_images(self, images: Sequence[Any]) -> Dict[Any, dict]:
        """Valid images by id (an image with a problem is still indexed when its id is usable)."""
        by_id: Dict[Any, dict] = {}
        for index, img in enumerate(images):
            if not isinstance(img, dict):
                self.add(None, None, 'image', 'malformed image', f'images[{index}] is a {type(img).__name__}, '
                         'expected a dict', index)
                continue
            image_id = img.get('id')
            if not _is_int(image_id):
                self.add(image_id, None, 'image', 'malformed image id',
                         f'images[{index}] has id {image_id!r}, expected an int', index)
                continue
            if image_id in by_id:
                self.add(image_id, None, 'image', 'duplicate image id', f'images[{index}] repeats image id {image_id}',
                         index)
                continue
            by_id[image_id] = img
            name = img.get('file_name')
            if not isinstance(name, str) or not name:
                self.add(image_id, None, 'file_name', 'missing file_name',
                         f'expected a non-empty file name, got {name!r}', index)
            for key in ('width', 'height'):
                value = img.get(key)
                if not _is_int(value) or value <= 0:
                    self.add(image_id, None, key, 'malformed image size',
                             f'expected a positive int (px), got {value!r}', index)
        return by_id

    # annotations -------------------------------------------------------------------------------------------
    def check_annotation(self, index: int, ann: Any, images: Dict[Any, dict], seen_ids: set) -> Any:
        """Check one annotation; returns its image id (or None when it has no usable one)."""
        if not isinstance(ann, dict):
            self.add(None, None, 'annotation', 'missing id',
                     f'annotations[{index}] is a {type(ann).__name__}, expected a dict', index)
            return None
        ann_id, image_id = ann.get('id'), ann.get('image_id')
        if not _is_int(ann_id):
            self.add(image_id, None, 'id', 'missing id', f'expected an int annotation id, got {ann_id!r}', index)
            ann_id = None
        elif ann_id in seen_ids:
            self.add(image_id, ann_id, 'id', 'duplicate id',
                     f'annotation id {ann_id} is used twice (xtcocotools keeps one of them, twice)', index)
        else:
            seen_ids.add(ann_id)
        if not _is_int(image_id) or image_id not in images:
            kind = 'missing image_id' if image_id is None else 'unknown image_id'
            self.add(image_id, ann_id, 'image_id', kind, f'{image_id!r} is not the id of an image in the file', index)
            return None
        if 'category_id' not in ann:
            self.add(image_id, ann_id, 'category_id', 'missing category_id', 'the key is missing', index)
        image = images[image_id]
        width, height = image.get('width'), image.get('height')
        size_ok = _is_int(width) and _is_int(height) and width > 0 and height > 0
        labelled = self._check_keypoints(ann, image_id, ann_id, index, width, height, size_ok)
        self._check_bbox(ann, image_id, ann_id, index, width, height, size_ok)
        self._check_num_keypoints(ann, image_id, ann_id, index, labelled)
        iscrowd = ann.get('iscrowd', None)
        if 'iscrowd' not in ann:
            self.add(image_id, ann_id, 'iscrowd', 'missing iscrowd',
                     'the key is missing (COCO format; MMPose and xtcocotools assume 0)', index)
        elif iscrowd not in (0, 1) or not (_is_int(iscrowd) or isinstance(iscrowd, bool)):
            self.add(image_id, ann_id, 'iscrowd', 'malformed iscrowd', f'expected 0 or 1, got {iscrowd!r}', index)
        self._check_segmentation(ann, image_id, ann_id, index, width, height, size_ok)
        area = ann.get('area', 0.0)
        if 'area' in ann and (not _is_number(area) or not np.isfinite(area) or area < 0):
            self.add(image_id, ann_id, 'area', 'malformed area', f'expected a finite number >= 0, got {area!r}', index)
        return image_id

    def _check_keypoints(self, ann: dict, image_id: Any, ann_id: Any, index: int, width: Any, height: Any,
                         size_ok: bool) -> Optional[int]:
        """Returns the number of labelled joints (v > 0), or None if the keypoints are unusable."""
        k = self.num_keypoints
        if index in self.fast_keypoints:  # passed the vectorised check (see `screen`)
            return self.fast_keypoints[index]
        if 'keypoints' not in ann:
            self.add(image_id, ann_id, 'keypoints', 'missing keypoints',
                     f'the key is missing (expected {3 * k} numbers: x, y, v for {k} joints)', index)
            return None
        values = _numbers(ann['keypoints'])
        if values is None:
            self.add(image_id, ann_id, 'keypoints', 'malformed keypoints',
                     f'expected a list of {3 * k} numbers (x, y, v for {k} joints), got '
                     f'{_short(ann["keypoints"])}', index)
            return None
        if values.size != 3 * k:
            self.add(
                image_id, ann_id, 'keypoints', 'wrong keypoint count',
                f'{values.size} numbers ({values.size / 3:g} joints), expected {3 * k} (x, y, v for the '
                f"{k} joints of the dataset's metainfo)", index)
            return None
        joints = values.reshape(k, 3)
        bad = ~np.isfinite(joints).all(axis=1)
        if bad.any():
            j = int(np.flatnonzero(bad)[0])
            self.add(
                image_id, ann_id, 'keypoints', 'NaN/inf keypoints',
                f'{int(bad.sum())} joint(s) have non-finite values, first joint {j}: '
                f'(x, y, v) = {tuple(joints[j].tolist())}', index)
            return None
        vis = joints[:, 2]
        bad_vis = ~np.isin(vis, (0, 1, 2))
        if bad_vis.any():
            j = int(np.flatnonzero(bad_vis)[0])
            self.add(image_id, ann_id, 'keypoints', 'bad visibility',
                     f'joint {j} has v={vis[j]:g}, expected 0 (not labelled), 1 or 2', index)
            return None
        labelled = vis > 0
        if size_ok:
            far = labelled & _outside(joints[:, 0], joints[:, 1], width, height, self.max_outside)
            if far.any():
                j = int(np.flatnonzero(far)[0])
                self.add(
                    image_id, ann_id, 'keypoints', 'absurd keypoints',
                    f'labelled joint {j} at (x, y) = ({joints[j, 0]:g}, {joints[j, 1]:g}) px is more than '
                    f'{self.max_outside:g} image size(s) outside the {width}x{height} image', index)
        return int(labelled.sum())

    def _check_bbox(self, ann: dict, image_id: Any, ann_id: Any, index: int, width: Any, height: Any,
                    size_ok: bool) -> None:
        if index in self.fast_bboxes:  # passed the vectorised check (see `screen`)
            return
        if 'bbox' not in ann:
            self.add(image_id, ann_id, 'bbox', 'missing bbox', 'the key is missing (expected [x, y, w, h] px)', index)
            return
        box = _numbers(ann['bbox'])
        if box is None or box.size != 4:
            self.add(image_id, ann_id, 'bbox', 'malformed bbox',
                     f'expected [x, y, w, h] (4 numbers, px), got {_short(ann["bbox"])}', index)
            return
        if not np.isfinite(box).all():
            self.add(image_id, ann_id, 'bbox', 'NaN/inf bbox', f'non-finite values {box.tolist()}', index)
            return
        x, y, w, h = box
        if w < 0 or h < 0:
            self.add(image_id, ann_id, 'bbox', 'malformed bbox', f'negative width or height in [x, y, w, h] = '
                     f'{box.tolist()}', index)
            return
        if size_ok and _outside(np.array([x, x + w]), np.array([y, y + h]), width, height, self.max_outside).any():
            self.add(
                image_id, ann_id, 'bbox', 'absurd bbox', f'[x, y, w, h] = {box.tolist()} reaches more than '
                f'{self.max_outside:g} image size(s) outside the {width}x{height} image', index)

    def _check_num_keypoints(self, ann: dict, image_id: Any, ann_id: Any, index: int, labelled: Optional[int]) -> None:
        if 'num_keypoints' not in ann:
            self.add(image_id, ann_id, 'num_keypoints', 'missing num_keypoints',
                     'the key is missing (the ignore masks and COCOeval for CrowdPose read it)', index)
            return
        value = ann['num_keypoints']
        if not _is_int(value) or not 0 <= value <= self.num_keypoints:
            self.add(image_id, ann_id, 'num_keypoints', 'malformed num_keypoints',
                     f'expected an int in [0, {self.num_keypoints}], got {value!r}', index)
        elif labelled is not None and value > labelled:
            self.add(image_id, ann_id, 'num_keypoints', 'inconsistent num_keypoints',
                     f'{value} but only {labelled} joint(s) are labelled (v > 0)', index)

    def _check_segmentation(self, ann: dict, image_id: Any, ann_id: Any, index: int, width: Any, height: Any,
                            size_ok: bool) -> None:
        seg = ann.get('segmentation')
        if seg is None or (isinstance(seg, list) and not seg):
            return
        problem = _segmentation_problem(seg, (height, width) if size_ok else None)
        masks_region = ann.get('iscrowd') == 1 or ann.get('num_keypoints') == 0  # the loss masks its pixels
        if not problem and masks_region and _no_polygon_area(seg):
            problem = ('no polygon has 3 or more vertices, so this region would mask nothing (as no region at '
                       f'all); got {_short(seg)}')
        if problem:
            self.add(image_id, ann_id, 'segmentation', 'malformed segmentation', problem, index)


def _segmentation_problem(seg: Any, image_hw: Optional[Tuple[int, int]]) -> str:
    """'' if ``seg`` is a usable COCO segmentation (polygons or RLE of the image's size), else what is wrong."""
    if isinstance(seg, dict):
        if 'counts' not in seg or 'size' not in seg:
            return f"an RLE dict needs 'counts' and 'size', got keys {sorted(seg)}"
        size = seg['size']
        if not isinstance(size, (list, tuple)) or len(size) != 2:
            return f'RLE size must be [height, width], got {size!r}'
        if not all(_is_int(v) and v > 0 for v in size):
            return f'RLE size must be two positive ints [height, width], got {size!r}'
        if image_hw is not None and tuple(size) != tuple(image_hw):
            return f'RLE size {list(size)} differs from the image [height, width] = {list(image_hw)}'
        return _rle_counts_problem(seg['counts'], int(size[0]) * int(size[1]))
    if isinstance(seg, (list, tuple)):
        polygons = [seg] if seg and _is_number(seg[0]) else list(seg)
        for i, poly in enumerate(polygons):
            values = _numbers(poly)
            if values is None or values.size % 2 or not np.isfinite(values).all():
                return f'polygon {i} must be an even-length list of finite numbers (x0, y0, x1, y1, ...), got ' \
                       f'{_short(poly)}'
        return ''
    return f'expected polygons (a list) or an RLE dict, got {type(seg).__name__}'


def _decode_rle_string(counts: bytes) -> Optional[List[int]]:
    """The run lengths of COCO's compressed RLE string (pycocotools' ``rleFrString``), or None if malformed."""
    runs: List[int] = []
    p, n = 0, len(counts)
    while p < n:
        x, k, more = 0, 0, True
        while more:
            if p >= n:
                return None  # the last value is cut off
            c = counts[p] - 48
            if not 0 <= c < 64:
                return None  # not a character of the format
            x |= (c & 0x1f) << (5 * k)
            more = bool(c & 0x20)
            p += 1
            k += 1
            if not more and c & 0x10:
                x |= -1 << (5 * k)
        if len(runs) > 2:
            x += runs[-2]
        runs.append(x)
    return runs


def _rle_counts_problem(counts: Any, num_pixels: int) -> str:
    """'' if RLE ``counts`` are non-negative run lengths covering exactly ``num_pixels`` = H * W, else what is wrong.

    pycocotools raises a bare ``ValueError: Invalid RLE mask representation`` for runs past H * W, and for runs that
    stop short of it fills the rest of the mask with whatever memory held (so the check is exact, not a decode).
    """
    if isinstance(counts, (str, bytes)):
        try:
            raw = counts.encode('ascii') if isinstance(counts, str) else counts
        except UnicodeEncodeError:
            return f'compressed RLE counts must be ASCII, got {_short(counts)}'
        runs = _decode_rle_string(raw)
        if runs is None:
            return f'compressed RLE counts {_short(counts)} are not a valid COCO RLE string'
        what = 'compressed RLE counts'
    elif isinstance(counts, (list, tuple)):
        if not all(_is_int(v) or (_is_number(v) and float(v).is_integer()) for v in counts):
            return f'RLE counts must be whole numbers (run lengths), got {_short(counts)}'
        runs, what = [int(v) for v in counts], 'RLE counts'
    else:
        return f'RLE counts must be a list or a string, got {type(counts).__name__}'
    negative = [v for v in runs if v < 0]
    if negative:
        return f'{what} hold negative run lengths (first {negative[0]})'
    total = int(sum(runs))
    if total != num_pixels:
        return f'{what} cover {total} pixels, expected height * width = {num_pixels}'
    return ''


def _no_polygon_area(seg: Any) -> bool:
    """True for polygons none of which has 3 or more vertices (no area: the region masks nothing)."""
    if not isinstance(seg, (list, tuple)) or not seg:
        return False
    polygons = [seg] if _is_number(seg[0]) else list(seg)
    return not any(isinstance(p, (list, tuple)) and len(p) >= 6 for p in polygons)


def _short(value: Any, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + '...'


def _check_image_files(checker: _Checker, images: Dict[Any, dict], image_root: str, num_threads: int) -> None:
    """Decode every image (mmcv, as ``LoadImage``) and compare its size with ``width`` / ``height``."""
    import mmcv
    from mmengine.fileio import get

    def read(item: Tuple[Any, dict]) -> Optional[Tuple[Any, str, str, str]]:
        image_id, img = item
        name = img.get('file_name')
        if not isinstance(name, str) or not name:
            return None
        path = osp.join(image_root, name)
        try:
            array = mmcv.imfrombytes(get(path))
        except Exception as error:  # noqa: BLE001  (any I/O or decoder failure is the finding)
            return image_id, 'missing image file' if isinstance(error, FileNotFoundError) else \
                'unreadable image', 'file_name', f'{path}: {type(error).__name__}: {error}'
        if array is None:
            return image_id, 'unreadable image', 'file_name', f'{path} does not decode as an image'
        expected = (img.get('height'), img.get('width'))
        if tuple(array.shape[:2]) != expected:
            return image_id, 'image size mismatch', 'width', \
                f'{path} is {array.shape[0]}x{array.shape[1]} (h x w) but the file says {expected[0]}x{expected[1]}'
        return None

    with ThreadPoolExecutor(max_workers=max(1, num_threads)) as pool:
        for index, found in enumerate(pool.map(read, images.items())):
            if found:
                image_id, kind, field_name, message = found
                checker.add(image_id, None, field_name, kind, message, index)


def check_coco_keypoints(data: Dict[str, Any],
                         num_keypoints: int,
                         file: str = '<annotations>',
                         image_root: Optional[str] = None,
                         check_images: bool = False,
                         max_outside: float = DEFAULT_MAX_OUTSIDE,
                         num_threads: int = 8,
                         for_training: bool = False) -> AnnotationReport:
    """Check a loaded COCO keypoint annotation dict (see the module docstring for the rules).

    Args:
        data: the JSON content: ``images``, ``annotations`` and ``categories``.
        num_keypoints: K, the dataset's joint count (``metainfo['num_keypoints']``).
        file: the file name used in messages.
        image_root: the image folder (``data_prefix['img']``) for ``check_images``.
        check_images: decode every image file and compare its size (slow: reads the whole data set).
        max_outside: labelled joints and boxes further than this many image sizes outside the image are absurd.
        num_threads: threads that read images.
        for_training: the file trains a model, so it needs at least one annotation.

    Returns:
        The report; ``report.ok`` when nothing was found.

    Raises:
        BadAnnotationError: the content is not a JSON object, or ``images`` or ``annotations`` is missing or not a
            list (nothing else can be checked).
    """
    if not isinstance(data, dict):
        size = f' of {len(data)} items' if isinstance(data, (list, tuple)) else ''
        raise BadAnnotationError(f'{file}: expected a COCO keypoint file, a JSON object with "images", "annotations" '
                                 f'and "categories", got a JSON {type(data).__name__}{size}')
    for key in ('images', 'annotations'):
        if not isinstance(data.get(key), list):
            raise BadAnnotationError(f'{file}: expected a COCO keypoint file with an {key!r} list, got '
                                     f'{type(data.get(key)).__name__}')
    checker = _Checker(file, num_keypoints, max_outside)
    _check_file_level(checker, data, for_training)
    images = checker.check_images(data['images'])
    checker.screen(data['annotations'], images)
    seen_ids: set = set()
    with_annotations = set()
    for index, ann in enumerate(data['annotations']):
        image_id = checker.check_annotation(index, ann, images, seen_ids)
        if image_id is not None:
            with_annotations.add(image_id)
    if check_images:
        if image_root is None:
            raise ValueError('check_images needs image_root (the dataset\'s data_prefix img folder)')
        _check_image_files(checker, images, image_root, num_threads)
    return AnnotationReport(
        file=file,
        num_keypoints=int(num_keypoints),
        num_images=len(data['images']),
        num_annotations=len(data['annotations']),
        problems=checker.problems,
        images_without_annotations=[i for i in images if i not in with_annotations])


def _check_file_level(checker: _Checker, data: Dict[str, Any], for_training: bool) -> None:
    """``categories`` and (for training) a non-empty ``annotations`` list."""
    categories = data.get('categories')
    if 'categories' not in data:
        checker.add(
            None, None, 'categories', 'missing categories', 'the key is missing (COCOeval reads the '
            "categories at the first validation; COCO keypoints: [{'id': 1, 'name': 'person', ...}])", -1)
    elif not isinstance(categories, list) or not categories or \
            not all(isinstance(c, dict) and _is_int(c.get('id')) for c in categories):
        checker.add(None, None, 'categories', 'malformed categories',
                    f"expected a non-empty list of dicts with an int 'id', got {_short(categories)}", -1)
    if for_training and not data['annotations']:
        checker.add(
            None, None, 'annotations', 'no annotations',
            'the annotations list is empty: there is nothing to train on (an image-info file without '
            'ground truth can only be a test set)', -1)


def load_annotation_file(ann_file: str) -> Dict[str, Any]:
    """Read a COCO JSON file (any MMEngine file backend); NaN / Infinity literals are kept as floats.

    Raises:
        BadAnnotationError: the file is not UTF-8 text or not valid JSON (with the file name and position).
    """
    from mmengine.fileio import get_local_path

    with get_local_path(ann_file) as local_path, open(local_path, 'r', encoding='utf-8') as f:
        try:
            return json.load(f)
        except json.JSONDecodeError as error:
            raise BadAnnotationError(f'{ann_file}: not valid JSON: {error}') from None
        except UnicodeDecodeError as error:
            raise BadAnnotationError(f'{ann_file}: not UTF-8 text (a binary or differently encoded file?): '
                                     f'{error}') from None


def check_annotation_file(ann_file: str,
                          metainfo: Dict[str, Any],
                          for_training: bool,
                          image_root: Optional[str] = None,
                          check_images: bool = False,
                          max_outside: float = DEFAULT_MAX_OUTSIDE,
                          num_threads: int = 8) -> Tuple[Dict[str, Any], AnnotationReport]:
    """Load and check one annotation file against a dataset's metainfo: what the checked datasets do when they
    load, and what ``tools/check_dataset.py`` does for each file of a config.

    Returns:
        (the loaded dict, the report).

    Raises:
        BadAnnotationError: the file cannot be read as a COCO keypoint file at all.
    """
    data = load_annotation_file(ann_file)
    report = check_coco_keypoints(
        data,
        num_keypoints=int(metainfo['num_keypoints']),
        file=ann_file,
        image_root=image_root,
        check_images=check_images,
        max_outside=max_outside,
        num_threads=num_threads,
        for_training=for_training)
    return data, report


# --------------------------------------------------------------------------------------------------------- skip
@dataclass
class SkipSummary:
    """What :func:`skip_bad_annotations` changed."""
    file: str
    ignored: List[AnnotationProblem] = field(default_factory=list)  # first problem of each converted annotation
    ignored_kinds: Counter = field(default_factory=Counter)
    dropped_images: Dict[Any, str] = field(default_factory=dict)  # image id -> reason
    dropped_annotations: int = 0

    def message(self) -> str:
        """``'skipped 3 annotations: 2 NaN/inf keypoints, 1 missing bbox; first: ...'`` (one log line)."""
        parts = []
        if self.ignored:
            kinds = ', '.join(f'{n} {k}' for k, n in self.ignored_kinds.most_common())
            parts.append(f'skipped {len(self.ignored)} annotation(s): {kinds}; they became ignore regions (masked '
                         f'in training, ignored by COCOeval); first: {self.ignored[0]}')
        if self.dropped_images:
            first_id, reason = next(iter(self.dropped_images.items()))
            parts.append(f'dropped {len(self.dropped_images)} image(s) with their annotations; first: image id '
                         f'{first_id}: {reason}')
        if self.dropped_annotations:
            parts.append(f'dropped {self.dropped_annotations} annotation(s) that belong to no image')
        return f'{self.file}: ' + '; '.join(parts) if parts else f'{self.file}: nothing skipped'


def _polygon_bbox(polygons: Iterable[Sequence[float]]) -> Optional[List[float]]:
    parts = [np.asarray(p, dtype=np.float64).reshape(-1, 2) for p in polygons if len(p) >= 2]
    if not parts:
        return None
    points = np.concatenate(parts)
    x0, y0 = points.min(axis=0)
    x1, y1 = points.max(axis=0)
    return [float(x0), float(y0), float(x1 - x0), float(y1 - y0)]


def _region_of(ann: dict, kinds: set) -> Optional[Tuple[Any, List[float]]]:
    """(segmentation, bbox) of an ignore region for a bad annotation, from its valid segmentation or box."""
    segmentation = ann.get('segmentation')
    bbox = None if kinds & {'missing bbox', 'malformed bbox', 'NaN/inf bbox', 'absurd bbox'} else \
        [float(v) for v in ann['bbox']]
    seg_ok = 'malformed segmentation' not in kinds and segmentation not in (None, []) and \
        not _no_polygon_area(segmentation)  # a region without area would mask nothing: use the box
    if seg_ok:
        if bbox is None:
            if isinstance(segmentation, dict):
                import pycocotools.mask as cocomask
                rle = segmentation
                if isinstance(rle['counts'], (list, tuple)):
                    rle = cocomask.frPyObjects(rle, *rle['size'])
                bbox = [float(v) for v in cocomask.toBbox(rle)]
            else:
                polygons = [segmentation] if _is_number(segmentation[0]) else segmentation
                bbox = _polygon_bbox(polygons)
        if bbox is not None:
            return segmentation, bbox
    if bbox is not None and bbox[2] > 0 and bbox[3] > 0:
        x, y, w, h = bbox
        return [[x, y, x + w, y, x + w, y + h, x, y + h]], bbox
    return None


def skip_bad_annotations(data: Dict[str, Any], report: AnnotationReport) -> Tuple[Dict[str, Any], SkipSummary]:
    """A copy of ``data`` without the problems of ``report`` (the input is not modified).

    * A bad person (keypoints, bbox, num_keypoints, iscrowd, segmentation, area problems) becomes an ignore
      region: ``iscrowd=1``, all keypoints ``(0, 0, 0)``, ``num_keypoints=0``, its valid segmentation (or its box as a
      polygon) and box. The heatmap loss masks it (the reference rule, and MMPose's ``invalid_segs``), and COCOeval
      ignores detections on it, as for COCO's crowd regions.
    * A bad person with neither a usable segmentation nor a usable box, an annotation without a usable or unique id
      or without ``category_id``, and every image-level problem drop the whole image (a person that cannot be
      masked would be trained as background).
    * Annotations whose ``image_id`` names no image are dropped.

    Returns:
        (the cleaned dict, the summary to log).
    """
    summary = SkipSummary(report.file)
    images = {img['id']: img for img in data['images'] if isinstance(img, dict) and _is_int(img.get('id'))}
    by_index: Dict[int, List[AnnotationProblem]] = {}
    for p in report.problems:
        if p.file_level:
            continue  # check_and_clean raises on them: nothing to skip
        if p.image_level:
            summary.dropped_images.setdefault(p.image_id, f'field {p.field!r}: {p.message}')
        else:
            by_index.setdefault(p.index, []).append(p)

    annotations = []
    for index, ann in enumerate(data['annotations']):
        problems = by_index.get(index)
        if not problems:
            annotations.append(ann)
            continue
        kinds = {p.kind for p in problems}
        image_id = ann.get('image_id') if isinstance(ann, dict) else None
        if not _is_int(image_id) or image_id not in images:
            summary.dropped_annotations += 1
            continue
        structural = [p for p in problems if p.kind in _STRUCTURAL_KINDS]
        if structural:
            summary.dropped_images.setdefault(
                image_id, f'annotation #{index}: {structural[0].message} (an '
                'annotation without a usable, unique id or category_id cannot become '
                'an ignore region)')
            continue
        region = _region_of(ann, kinds)
        if region is None:
            summary.dropped_images.setdefault(
                image_id, f'annotation #{index}: {problems[0].message} (no usable '
                'segmentation or bbox to mask the person)')
            continue
        segmentation, bbox = region
        annotations.append(
            dict(
                ann,
                iscrowd=1,
                keypoints=[0] * (3 * report.num_keypoints),
                num_keypoints=0,
                bbox=bbox,
                segmentation=segmentation,
                area=float(bbox[2] * bbox[3])))
        summary.ignored.append(problems[0])
        summary.ignored_kinds.update(kinds)

    dropped = set(summary.dropped_images)
    cleaned = dict(data)
    cleaned['images'] = [
        img for img in data['images'] if isinstance(img, dict) and _is_int(img.get('id')) and img['id'] not in dropped
    ]
    kept_ids = {img['id'] for img in cleaned['images']}
    cleaned['annotations'] = [ann for ann in annotations if ann.get('image_id') in kept_ids]
    return cleaned, summary


def coco_from_dict(data: Dict[str, Any]):
    """An xtcocotools ``COCO`` indexed from an in-memory dict (as ``COCO(path)`` would be)."""
    from xtcocotools.coco import COCO

    coco = COCO()
    coco.dataset = data
    coco.createIndex()
    return coco
