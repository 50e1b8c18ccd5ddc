"""Where does a bottom-up AE model lose AP? Oracle substitutions (ground-truth tags, ground-truth peaks) evaluated with
the same decoder and CocoMetric, plus keypoint-detection precision / recall (see
:mod:`swahr_mmpose.analysis.error_analysis`).

Usage::

    python tools/analyze_errors.py CONFIG CHECKPOINT [--max-images N] [--device cuda|cpu] [--cfg-options k=v ...]

Works for any bottom-up config whose test pipeline packs ``raw_ann_info`` (ours and MMPose's AE config), e.g. on
COCO val2017 with a converted official checkpoint.
"""
import argparse
import json
import sys

from mmengine.config import DictAction

from swahr_mmpose.analysis.error_analysis import format_error_analysis, run_error_analysis


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('config')
    parser.add_argument('checkpoint')
    parser.add_argument('--device', default=None, help="'cuda', 'cpu', ... (default: cuda if available)")
    parser.add_argument('--max-images', type=int, default=None, help='analyse only the first N test images')
    parser.add_argument(
        '--match-radius',
        type=float,
        default=2.0,
        help='keypoint detection match radius in level-0 heatmap px (default 2, the GT sigma)')
    parser.add_argument('--json', help='also write the numbers to this file')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, default=None)
    args = parser.parse_args(argv)
    results = run_error_analysis(args.config, args.checkpoint, args.device, args.max_images, args.match_radius,
                                 args.cfg_options)
    print('\n'.join(format_error_analysis(results)))
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(
                dict(
                    metrics=results['metrics'],
                    num_images=results['num_images'],
                    detection=results['detection'].summary()),
                f,
                indent=2)
    return 0


if __name__ == '__main__':
    sys.exit(main())
