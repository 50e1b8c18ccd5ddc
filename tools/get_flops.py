"""Parameters and GFLOPs of a SWAHR / HigherHRNet network (backbone + head); see
:mod:`swahr_mmpose.analysis.complexity` for what is counted.

Usage::

    python tools/get_flops.py CONFIG [--input-size 512 [W]] [--json OUT]
"""
import argparse
import json
import sys

from swahr_mmpose.analysis.complexity import format_report, get_complexity


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Parameters and FLOPs of backbone + head (no decoding).')
    parser.add_argument('config', help='model config file')
    parser.add_argument(
        '--input-size',
        type=int,
        nargs='+',
        default=[512],
        help='input height [width] in px (default 512; the papers use 512 for W32 and 640 for W48)')
    parser.add_argument(
        '--skip-mmengine', action='store_true', help='only parameters and the official-convention count (no trace)')
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--json', help='also write the numbers to this file')
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    if len(args.input_size) not in (1, 2):
        raise SystemExit('--input-size takes H or H W')
    size = tuple(args.input_size) * (3 - len(args.input_size))
    result = get_complexity(args.config, size, not args.skip_mmengine, args.device)
    print(format_report(args.config, result))
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(dict(config=args.config, **result), f, indent=2)
    return 0


if __name__ == '__main__':
    sys.exit(main())
