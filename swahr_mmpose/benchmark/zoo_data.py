"""COCO-like synthetic training data for the zoo benchmark, and a config's train data set built on it.

The images are the project's synthetic scenes (:mod:`swahr_mmpose.datasets.synthetic`) at COCO's typical
640x480, with COCO-like crowding: 1-30 labelled people per image, heights log-uniform over 5-95 % of the short side
(COCO's small / medium / large persons all occur), a crowd region stored as an ``iscrowd=1`` RLE in half the images,
and tiny far-away people annotated with ``num_keypoints=0`` in half the images. For CrowdPose configs the 17 COCO
joints are mapped to CrowdPose's 14 (12 limb joints, head = nose, neck = shoulder midpoint) and each image gets a
``crowdIndex``.
"""
import copy
import json
import os.path as osp
from typing import Dict, Tuple

import numpy as np
from mmengine.config import Config

from swahr_mmpose.datasets.synthetic import SceneConfig, write_split

COCO_LIKE_SCENE = SceneConfig(
    image_size=(640, 480),
    people_per_image=(1, 30),
    height_range=(0.05, 0.95),
    truncation_prob=0.3,
    tiny_prob=0.5,
    tiny_count=(1, 4),
    crowd_prob=0.5,
    crowd_count=(6, 14))

# CrowdPose joint order: l/r shoulder, elbow, wrist, hip, knee, ankle (COCO 5..16), head, neck.
_CROWDPOSE_FROM_COCO = list(range(5, 17))


def write_coco_like(out_dir: str,
                    num_images: int,
                    seed: int = 0,
                    scene: SceneConfig = COCO_LIKE_SCENE) -> Dict[str, str]:
    """Render ``num_images`` COCO-like images (see the module docstring) into ``out_dir``.

    Returns:
        ``data_root``, ``ann_file`` (relative to it), ``img_prefix`` and ``crowdpose_ann_file`` (the same people as
        14-joint CrowdPose annotations).
    """
    ann_file, img_dir = write_split(out_dir, 'train', num_images, seed, scene)
    with open(ann_file) as f:
        coco = json.load(f)
    crowdpose = copy.deepcopy(coco)
    for image in crowdpose['images']:
        image['crowdIndex'] = 0.0
    for ann in crowdpose['annotations']:
        kpts = np.asarray(ann['keypoints'], np.float64).reshape(17, 3)
        shoulders = kpts[[5, 6]]
        neck = np.zeros(3)
        if (shoulders[:, 2] > 0).all():
            neck = np.r_[shoulders[:, :2].mean(0), shoulders[:, 2].min()]
        new = np.concatenate([kpts[_CROWDPOSE_FROM_COCO], kpts[[0]], neck[None]])
        ann['keypoints'] = [round(float(v), 2) for v in new.ravel()]
        ann['num_keypoints'] = int((new[:, 2] > 0).sum())
    crowdpose['categories'][0]['keypoints'] = [f'joint_{i}' for i in range(14)]
    crowdpose['categories'][0]['skeleton'] = []
    crowdpose_file = osp.join(osp.dirname(ann_file), 'person_keypoints_train_crowdpose.json')
    with open(crowdpose_file, 'w') as f:
        json.dump(crowdpose, f)
    return dict(
        data_root=out_dir,
        ann_file=osp.relpath(ann_file, out_dir),
        crowdpose_ann_file=osp.relpath(crowdpose_file, out_dir),
        img_prefix=osp.relpath(img_dir, out_dir) + '/')


def is_crowdpose(cfg: Config) -> bool:
    """Whether the config trains on CrowdPose (14 joints)."""
    return 'CrowdPose' in cfg.train_dataloader.dataset.type


def train_dataset_cfg(cfg: Config, data: Dict[str, str], pipeline=None) -> dict:
    """The config's training data set on the synthetic files: its own type and pipeline (or ``pipeline``), the
    synthetic ``data_root`` / ``ann_file`` / ``data_prefix``."""
    dataset = copy.deepcopy(cfg.train_dataloader.dataset.to_dict() if hasattr(cfg.train_dataloader.dataset, 'to_dict'
                                                                              ) else cfg.train_dataloader.dataset)
    dataset.update(
        data_root=data['data_root'],
        ann_file=data['crowdpose_ann_file'] if is_crowdpose(cfg) else data['ann_file'],
        data_prefix=dict(img=data['img_prefix']),
        pipeline=copy.deepcopy(list(pipeline if pipeline is not None else dataset['pipeline'])))
    return dataset


def build_train_dataset(cfg: Config, data: Dict[str, str], pipeline=None):
    """Build :func:`train_dataset_cfg` with MMPose's registry."""
    from mmpose.registry import DATASETS
    from mmpose.utils import register_all_modules

    import swahr_mmpose  # noqa: F401
    register_all_modules(init_default_scope=True)
    return DATASETS.build(train_dataset_cfg(cfg, data, pipeline))


def input_size(cfg: Config) -> Tuple[int, int]:
    """(w, h) network input of the config (its codec)."""
    return tuple(int(v) for v in cfg.codec['input_size'])
