"""Check the annotation files a config names (train, val, test datasets and evaluators) before training; see
:mod:`swahr_mmpose.analysis.dataset_check` and :mod:`swahr_mmpose.datasets.annotation_check` for the rules.

Usage::

    python tools/check_dataset.py CONFIG [--check-images] [--max-problems N] [--cfg-options k=v ...]

Exit status 0 when every file is clean, 1 otherwise.
"""
import argparse
import sys

from mmengine.config import Config, DictAction

from swahr_mmpose.analysis.dataset_check import check_config_annotations, format_results
from swahr_mmpose.datasets.metainfo import MetainfoError


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Check the annotation files of a config.')
    parser.add_argument('config', help='config file')
    parser.add_argument(
        '--check-images',
        action='store_true',
        help='also decode every image and compare its size with the annotation file (slow)')
    parser.add_argument('--max-problems', type=int, default=50, help='problems listed per file (default 50)')
    parser.add_argument('--threads', type=int, default=8, help='threads reading images (--check-images)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, help='override config settings, key=value')
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    try:
        results = check_config_annotations(cfg, args.check_images, args.threads)
    except MetainfoError as error:  # the datasets' keypoint metainfo itself: no file can be checked against it
        print(f'{args.config}: the dataset metainfo is unusable: {error}')
        return 1
    print(format_results(results, args.max_problems))
    return 0 if all(report.ok for _, report in results) else 1


if __name__ == '__main__':
    sys.exit(main())
