#!/usr/bin/env python
"""Generate the synthetic multi-person COCO-keypoint data set used by the quickstart and the tests.

Example::

    python tools/make_synthetic_coco.py --out data/synthetic_coco --num-train 300 --num-val 50 --seed 0 --size 256

writes ``<out>/annotations/person_keypoints_{train,val}.json`` and ``<out>/images/{train,val}/*.jpg``; MMPose reads
it with ``data_root=<out>, ann_file='annotations/person_keypoints_train.json', data_prefix=dict(img='images/train/')``.

Any other keypoint set: ``--metainfo configs/_base_/datasets/ap10k.py --category animal`` draws figures of that
metainfo's skeleton and writes its keypoint names and links into the category (MMPose's own metainfo files are
found by name too); the dataset config then sets ``metainfo=dict(from_file=...)`` to the same file.
"""
import argparse
import json
import os.path as osp
import sys
import time
from collections import defaultdict

import cv2


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--out', default='data/synthetic_coco', help='output data root')
    parser.add_argument('--num-train', type=int, default=300, help='number of training images')
    parser.add_argument('--num-val', type=int, default=50, help='number of validation images')
    parser.add_argument('--seed', type=int, default=0, help='master seed (same seed -> identical files)')
    parser.add_argument(
        '--size', type=int, nargs='+', default=[256], help='image size: one value (square) or WIDTH HEIGHT, in px')
    parser.add_argument('--format', choices=('jpg', 'png'), default='jpg', help='image file format')
    parser.add_argument('--jpeg-quality', type=int, default=95)
    parser.add_argument('--max-people', type=int, default=None, help='max labelled persons per image (default 6)')
    parser.add_argument('--crowd-prob', type=float, default=None, help='probability of a crowd region per image')
    parser.add_argument(
        '--tiny-prob',
        type=float,
        default=None,
        help='probability of tiny unlabelled-keypoint (num_keypoints=0) persons per image')
    parser.add_argument(
        '--metainfo',
        default=None,
        help='keypoint set: MMPose metainfo file (configs/_base_/datasets/*.py style); default COCO-17')
    parser.add_argument('--category', default='person', help='COCO category name of the figures (with --metainfo)')
    parser.add_argument(
        '--preview',
        default=None,
        help='also write the first training image with its annotations drawn to this .png path')
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    if len(args.size) not in (1, 2):
        raise SystemExit(f'--size takes one value or WIDTH HEIGHT, got {args.size}')
    # Imported late: importing swahr_mmpose pulls in MMPose/torch (seconds), not needed for --help or bad args.
    from swahr_mmpose.datasets.synthetic import SceneConfig, draw_annotations, make_synthetic_coco

    size = (args.size[0], args.size[0]) if len(args.size) == 1 else tuple(args.size)
    overrides = {}
    if args.max_people is not None:
        overrides['people_per_image'] = (1, args.max_people)
    if args.crowd_prob is not None:
        overrides['crowd_prob'] = args.crowd_prob
    if args.tiny_prob is not None:
        overrides['tiny_prob'] = args.tiny_prob

    start = time.perf_counter()
    try:
        paths = make_synthetic_coco(
            args.out,
            num_train=args.num_train,
            num_val=args.num_val,
            image_size=size,
            seed=args.seed,
            image_format=args.format,
            jpeg_quality=args.jpeg_quality,
            config=SceneConfig(),
            metainfo=args.metainfo,
            category=args.category,
            **overrides)
    except (ValueError, FileNotFoundError) as err:
        raise SystemExit(f'error: {err}')
    elapsed = time.perf_counter() - start

    for split in ('train', 'val'):
        if f'{split}_ann' not in paths:
            continue
        with open(paths[f'{split}_ann']) as f:
            data = json.load(f)
        anns = data['annotations']
        print(f"{split}: {len(data['images'])} images, {len(anns)} annotations "
              f"({sum(a['num_keypoints'] > 0 for a in anns)} with keypoints, "
              f"{sum(a['iscrowd'] for a in anns)} crowd, "
              f"{sum(a['num_keypoints'] == 0 and not a['iscrowd'] for a in anns)} zero-keypoint) -> "
              f"{paths[f'{split}_ann']}, {paths[f'{split}_img_dir']}/")
    print(f'generated in {elapsed:.2f} s; data_root={paths["data_root"]}')

    if args.preview and 'train_ann' in paths:
        with open(paths['train_ann']) as f:
            data = json.load(f)
        first = data['images'][0]
        by_image = defaultdict(list)
        for ann in data['annotations']:
            by_image[ann['image_id']].append(ann)
        img = cv2.imread(osp.join(paths['train_img_dir'], first['file_name']))
        skeleton = data['categories'][0]['skeleton']
        cv2.imwrite(args.preview, draw_annotations(img, by_image[first['id']], skeleton=skeleton))
        print(f'preview -> {args.preview}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
