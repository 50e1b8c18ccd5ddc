"""Convert an official SWAHR / HigherHRNet checkpoint into an MMPose one.

Usage::

    python tools/convert_swahr_checkpoint.py SRC DST [--config CFG]

SRC is a released ``.pth`` (bare state dict), ``model_best.pth.tar`` /
``final_state*.pth.tar`` or a DDP ``checkpoint.pth.tar`` (``state_dict`` with
``module.`` keys). DST is written as ``{'state_dict': ..., 'meta': ...}`` and
loads strictly into the model of CFG (``load_from=DST`` / ``mim test``).

Without ``--config`` the tool detects SWAHR vs HigherHRNet, the HRNet width and
the joint count, picks ``configs/{swahr,higherhrnet}_hrnet_w{32,48}_{coco,
crowdpose}.py`` when it exists (else the matching base model dict) and checks
against that model. Only the network (backbone + head) is built; the decoder
settings do not matter for the weights.
"""
import argparse
import copy
import os.path as osp
import sys

import torch

REPO_ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
if REPO_ROOT not in sys.path:  # run from a checkout without `pip install -e .`
    sys.path.insert(0, REPO_ROOT)

from swahr_mmpose.utils.convert_checkpoint import (CheckpointConversionError, OfficialCheckpointInfo,  # noqa: E402
                                                   convert_official_checkpoint, detect_official_checkpoint,
                                                   extract_official_state_dict, load_checkpoint_file)


def build_network(cfg) -> torch.nn.Module:
    """Build ``cfg.model`` without its decoder (it holds no weights)."""
    from mmengine.config import Config
    from mmengine.utils import import_modules_from_strings
    from mmpose.registry import MODELS
    from mmpose.utils import register_all_modules

    import swahr_mmpose  # noqa: F401  registers SWAHRHead etc.

    if not isinstance(cfg, Config):
        cfg = Config.fromfile(cfg)
    if cfg.get('custom_imports'):
        import_modules_from_strings(**cfg.custom_imports)
    register_all_modules(init_default_scope=True)
    model_cfg = copy.deepcopy(cfg.model)
    model_cfg.head.decoder = None
    return MODELS.build(model_cfg)


def default_config_for(info: OfficialCheckpointInfo):
    """The repo config matching ``info``, else an equivalent base model dict."""
    from mmengine.config import Config

    path = osp.join(REPO_ROOT, info.suggested_config)
    if osp.isfile(path):
        return info.suggested_config, Config.fromfile(path)
    base = osp.join(REPO_ROOT, 'configs', '_base_', 'models',
                    f'swahr_hrnet_w{info.width}.py')
    if not osp.isfile(base):
        raise CheckpointConversionError(
            f'no config for HRNet-W{info.width}; pass --config')
    cfg = Config.fromfile(base)
    cfg.model.head.with_scale = info.with_scale
    cfg.model.head.num_keypoints = info.num_keypoints
    return f'{base} (with_scale={info.with_scale}, num_keypoints=' \
        f'{info.num_keypoints})', cfg


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Convert an official SWAHR/HigherHRNet checkpoint to an '
        'MMPose checkpoint that loads strictly into our configs.')
    parser.add_argument('src', help='official checkpoint (.pth / .pth.tar)')
    parser.add_argument('dst', help='output MMPose checkpoint (.pth)')
    parser.add_argument(
        '--config',
        help='model config to check against (default: detected from the '
        'checkpoint)')
    parser.add_argument(
        '--state-dict-key',
        help="key of the state dict inside SRC (default: 'state_dict' if "
        "present, e.g. use 'best_state_dict' for checkpoint.pth.tar)")
    parser.add_argument(
        '--unsafe-load',
        action='store_true',
        help='torch.load with weights_only=False (only for trusted files)')
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    try:
        raw = load_checkpoint_file(args.src, weights_only=not args.unsafe_load)
        info = detect_official_checkpoint(
            extract_official_state_dict(raw, args.state_dict_key))
        print(f'Detected: {info.describe()}')
        if args.config:
            config_name, cfg = args.config, args.config
        else:
            config_name, cfg = default_config_for(info)
        print(f'Checking against: {config_name}')
        model = build_network(cfg)
        checkpoint, info = convert_official_checkpoint(
            raw,
            model_state=model.state_dict(),
            state_dict_key=args.state_dict_key,
            source=args.src,
            config=config_name)
        # The strict load itself, so a success here means `load_from` works.
        model.load_state_dict(checkpoint['state_dict'], strict=True)
    except CheckpointConversionError as err:
        print(f'ERROR: {err}', file=sys.stderr)
        return 1
    filled = checkpoint['meta']['filled_num_batches_tracked']
    if filled:
        print(f'Note: {filled} BatchNorm num_batches_tracked counters were '
              'missing and set to 0 (no effect on inference).')
    torch.save(checkpoint, args.dst)
    print(f'Wrote {len(checkpoint["state_dict"])} tensors to {args.dst} '
          f'(loads strictly into {config_name}).')
    return 0


if __name__ == '__main__':
    sys.exit(main())
