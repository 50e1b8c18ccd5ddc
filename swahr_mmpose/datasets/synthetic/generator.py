"""Write a synthetic COCO-keypoint data set to disk in the layout MMPose's ``CocoDataset`` reads.

Layout (``out_dir`` = data root)::

    out_dir/annotations/person_keypoints_train.json
    out_dir/annotations/person_keypoints_val.json
    out_dir/images/train/000000000001.jpg ...   (file_name in the JSON is the bare '000000000001.jpg')
    out_dir/images/val/000000000001.jpg ...

MMPose config: ``data_root=out_dir, ann_file='annotations/person_keypoints_train.json',
data_prefix=dict(img='images/train/')``.

Determinism: image ``i`` of split ``s`` is drawn from ``np.random.default_rng(SeedSequence([seed, s, i]))``, so the
same seed gives byte-identical files, and changing ``num_train`` does not change any val image.
"""
import os
import os.path as osp
from dataclasses import replace
from typing import Dict, Optional, Tuple

import cv2
import numpy as np

from .coco_writer import build_annotation, write_coco_json
from .scene import SceneConfig, render_scene
from .skeleton import NUM_KEYPOINTS, Skeleton

SPLITS = ('train', 'val')
_SPLIT_CODES = {'train': 0, 'val': 1}


def image_rng(seed: int, split: str, index: int) -> np.random.Generator:
    """The generator of one image (independent per seed, split and index)."""
    return np.random.default_rng(np.random.SeedSequence([int(seed), _SPLIT_CODES[split], int(index)]))


def _encode(img: np.ndarray, image_format: str, jpeg_quality: int) -> bytes:
    if image_format == 'jpg':
        params = [cv2.IMWRITE_JPEG_QUALITY, int(jpeg_quality)]
    else:
        params = [cv2.IMWRITE_PNG_COMPRESSION, 3]
    ok, buf = cv2.imencode('.' + image_format, img, params)
    if not ok:  # pragma: no cover - cv2 failure
        raise RuntimeError(f'cv2 could not encode a {img.shape} image as {image_format}')
    return buf.tobytes()


def write_split(out_dir: str,
                split: str,
                num_images: int,
                seed: int,
                cfg: SceneConfig,
                image_format: str = 'jpg',
                jpeg_quality: int = 95) -> Tuple[str, str]:
    """Render ``num_images`` images of one split and write them plus the split's annotation file.

    Returns:
        (annotation file path, image directory path).
    """
    if split not in _SPLIT_CODES:
        raise ValueError(f'split must be one of {SPLITS}, got {split!r}')
    img_dir = osp.join(out_dir, 'images', split)
    ann_dir = osp.join(out_dir, 'annotations')
    os.makedirs(img_dir, exist_ok=True)
    os.makedirs(ann_dir, exist_ok=True)
    width, height = cfg.image_size
    skeleton = cfg.skeleton
    num_keypoints = NUM_KEYPOINTS if skeleton is None else skeleton.num_keypoints
    images, annotations = [], []
    for index in range(num_images):
        image_id = index + 1
        img, instances = render_scene(image_rng(seed, split, index), cfg)
        file_name = f'{image_id:012d}.{image_format}'
        with open(osp.join(img_dir, file_name), 'wb') as f:
            f.write(_encode(img, image_format, jpeg_quality))
        images.append(dict(id=image_id, file_name=file_name, width=int(width), height=int(height)))
        for inst in instances:
            annotations.append(
                build_annotation(
                    len(annotations) + 1,
                    image_id,
                    inst.keypoints,
                    inst.mask,
                    inst.iscrowd,
                    decimals=cfg.decimals,
                    num_keypoints=num_keypoints))
    ann_file = osp.join(ann_dir, f'person_keypoints_{split}.json')
    if skeleton is None or skeleton.is_coco:  # COCO-17: the files as they always were
        write_coco_json(
            ann_file, images, annotations, description=f'swahr_mmpose synthetic COCO keypoints ({split}, seed={seed})')
    else:
        write_coco_json(
            ann_file,
            images,
            annotations,
            description=f'swahr_mmpose synthetic {skeleton.name} keypoints ({split}, seed={seed})',
            category=skeleton.coco_category())
    return ann_file, img_dir


def make_synthetic_coco(out_dir: str,
                        num_train: int = 300,
                        num_val: int = 50,
                        image_size: Tuple[int, int] = (256, 256),
                        seed: int = 0,
                        image_format: str = 'jpg',
                        jpeg_quality: int = 95,
                        config: Optional[SceneConfig] = None,
                        metainfo: Optional[object] = None,
                        category: str = 'person',
                        **overrides) -> Dict[str, str]:
    """Generate a synthetic multi-person COCO-keypoint data set, for COCO-17 or any other keypoint set.

    Args:
        out_dir: data root to create (existing files of the same names are overwritten).
        num_train: number of training images (0 skips the split).
        num_val: number of validation images (0 skips the split).
        image_size: (width, height) px; overrides ``config.image_size``.
        seed: master seed; same seed -> byte-identical output.
        image_format: 'jpg' or 'png' (lossless, larger).
        jpeg_quality: JPEG quality in [1, 100].
        config: scene knobs (default :class:`SceneConfig`); ``overrides`` replace single fields of it, e.g.
            ``crowd_prob=0.5``.
        metainfo: the keypoint set (an MMPose metainfo file, ``dict(from_file=...)`` or parsed metainfo); figures
            of its skeleton are drawn and the category lists its names and links. ``None``: COCO-17 (a COCO
            metainfo gives the same files).
        category: COCO category name of the figures (e.g. ``'animal'``); COCO-17 files always say ``'person'``.

    Returns:
        Dict of absolute paths: ``data_root``, ``train_ann``, ``train_img_dir``, ``val_ann``, ``val_img_dir`` (the
        latter two pairs only for splits with images), plus MMPose-relative ``train_ann_rel``/``val_ann_rel`` and
        ``train_img_prefix``/``val_img_prefix`` for ``ann_file`` / ``data_prefix=dict(img=...)``.
    """
    if image_format not in ('jpg', 'png'):
        raise ValueError(f"image_format must be 'jpg' or 'png', got {image_format!r}")
    if not 1 <= int(jpeg_quality) <= 100:
        raise ValueError(f'jpeg_quality must be in [1, 100], got {jpeg_quality}')
    for name, value in (('num_train', num_train), ('num_val', num_val)):
        if int(value) != value or value < 0:
            raise ValueError(f'{name} must be a non-negative integer, got {value!r}')
    if len(tuple(image_size)) != 2:
        raise ValueError(f'image_size must be (width, height), got {image_size!r}')
    if metainfo is not None:
        overrides['skeleton'] = Skeleton.from_metainfo(metainfo, category=category)
    cfg = replace(config or SceneConfig(), image_size=tuple(int(v) for v in image_size), **overrides)
    out_dir = osp.abspath(out_dir)
    paths: Dict[str, str] = dict(data_root=out_dir)
    for split, num in (('train', num_train), ('val', num_val)):
        if num == 0:
            continue
        ann_file, img_dir = write_split(out_dir, split, int(num), seed, cfg, image_format, jpeg_quality)
        paths[f'{split}_ann'] = ann_file
        paths[f'{split}_img_dir'] = img_dir
        paths[f'{split}_ann_rel'] = osp.relpath(ann_file, out_dir)
        paths[f'{split}_img_prefix'] = osp.relpath(img_dir, out_dir) + '/'
    return paths
