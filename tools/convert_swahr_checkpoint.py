"""Convert an official SWAHR / HigherHRNet checkpoint into an MMPose one (logic in
:mod:`swahr_mmpose.utils.convert_checkpoint`).

Usage::

    python tools/convert_swahr_checkpoint.py SRC DST [--config CFG]

SRC is a released ``.pth`` (bare state dict), ``model_best.pth.tar`` / ``final_state*.pth.tar`` or a DDP
``checkpoint.pth.tar`` (``state_dict`` with ``module.`` keys). DST is written as ``{'state_dict': ..., 'meta': ...}``
and loads strictly into the model of CFG (``load_from=DST`` / ``mim test``). Without ``--config`` the tool detects
SWAHR vs HigherHRNet, the HRNet width and the joint count and checks against the matching config.
"""
import argparse
import sys

from swahr_mmpose.utils.convert_checkpoint import CheckpointConversionError, convert_checkpoint_file


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Convert an official SWAHR/HigherHRNet checkpoint to an MMPose checkpoint that loads strictly '
        'into our configs.')
    parser.add_argument('src', help='official checkpoint (.pth / .pth.tar)')
    parser.add_argument('dst', help='output MMPose checkpoint (.pth)')
    parser.add_argument('--config', help='model config to check against (default: detected from the checkpoint)')
    parser.add_argument(
        '--state-dict-key',
        help="key of the state dict inside SRC (default: 'state_dict' if present, e.g. use 'best_state_dict' for "
        'checkpoint.pth.tar)')
    parser.add_argument(
        '--unsafe-load', action='store_true', help='torch.load with weights_only=False (only for trusted files)')
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    try:
        lines = convert_checkpoint_file(
            args.src, args.dst, args.config, args.state_dict_key, weights_only=not args.unsafe_load)
    except CheckpointConversionError as err:
        print(f'ERROR: {err}', file=sys.stderr)
        return 1
    print('\n'.join(lines))
    return 0


if __name__ == '__main__':
    sys.exit(main())
