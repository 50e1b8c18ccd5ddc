"""Convert official SWAHR / HigherHRNet checkpoints to MMPose (MMEngine) ones.

The official models (``PoseHigherResolutionNet`` of greatlog/SWAHR-HumanPose and
HRNet/HigherHRNet-Human-Pose-Estimation) keep the HRNet backbone and the heads
as direct children of one module::

    conv1 bn1 conv2 bn2 layer1 transition1..3 stage2..4     -> backbone.<same key>
    final_layers deconv_layers conv_scale_layers (SWAHR)    -> head.<same key>

MMPose's ``HRNet`` uses the official HRNet module names (``bn1`` via
``build_norm_layer(postfix=1)``, ``branches`` / ``fuse_layers`` / ``downsample``
Sequentials with the same indices, ``None`` placeholders for identity
transitions and fusions, like the official code) and ``SWAHRHead`` keeps the
official head layout, so the conversion is a pure prefix change; no tensor is
renamed, reshaped or re-ordered. The tests check this against key names and
shapes generated independently from the architecture description.

A checkpoint may be a bare ``state_dict`` (released ``.pth``, ``model_best``,
``final_state``) or a training dict holding it under ``state_dict`` (DDP
``checkpoint.pth.tar``, keys prefixed with ``module.``).
"""
import datetime
import os.path as osp
from collections import OrderedDict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Dict, List, Mapping, Optional, Sequence, Tuple

import torch
from torch import Tensor

if TYPE_CHECKING:
    from mmengine.config import Config

#: First key component of the official backbone parameters.
BACKBONE_PREFIXES: Tuple[str, ...] = (
    'conv1', 'bn1', 'conv2', 'bn2', 'layer1', 'transition1', 'transition2',
    'transition3', 'stage2', 'stage3', 'stage4')
#: First key component of the official head parameters (HigherHRNet + SWAHR).
HEAD_PREFIXES: Tuple[str, ...] = ('final_layers', 'deconv_layers',
                                  'conv_scale_layers')
#: Present only in SWAHR checkpoints.
SCALE_PREFIX = 'conv_scale_layers'
DDP_PREFIX = 'module.'
#: Where the MMPose model keeps the backbone / head.
MMPOSE_BACKBONE = 'backbone.'
MMPOSE_HEAD = 'head.'

#: Joint counts of the datasets the official code supports.
DATASET_BY_NUM_KEYPOINTS = {17: 'coco', 14: 'crowdpose'}


class CheckpointConversionError(ValueError):
    """The checkpoint cannot be converted, or does not fit the target model."""


@dataclass(frozen=True)
class OfficialCheckpointInfo:
    """What an official checkpoint holds, read from its head shapes.

    Attributes:
        variant: ``'swahr'`` (has ``conv_scale_layers``) or ``'higherhrnet'``.
        width: HRNet width C (32 or 48), from ``final_layers.0.weight``.
        num_keypoints: joints K (17 COCO, 14 CrowdPose).
    """
    variant: str
    width: int
    num_keypoints: int

    @property
    def with_scale(self) -> bool:
        """Whether the model needs SWAHR's scale branches."""
        return self.variant == 'swahr'

    @property
    def dataset(self) -> Optional[str]:
        """``'coco'`` / ``'crowdpose'`` guessed from K, else ``None``."""
        return DATASET_BY_NUM_KEYPOINTS.get(self.num_keypoints)

    @property
    def config_family(self) -> str:
        """Prefix of the configs this checkpoint loads into."""
        return 'swahr' if self.with_scale else 'higherhrnet'

    @property
    def suggested_config(self) -> str:
        """Config path (relative to the repo root) matching the checkpoint."""
        dataset = self.dataset or f'{self.num_keypoints}kpt'
        return f'configs/{self.config_family}_hrnet_w{self.width}_{dataset}.py'

    def describe(self) -> str:
        """One line for the user."""
        name = 'SWAHR' if self.with_scale else 'HigherHRNet'
        return (f'official {name} checkpoint, HRNet-W{self.width}, '
                f'{self.num_keypoints} keypoints '
                f'({self.dataset or "unknown dataset"}); it needs a '
                f'{self.config_family}_* config with with_scale='
                f'{self.with_scale}, e.g. {self.suggested_config}')


# ----------------------------------------------------------------- key mapping
def official_to_mmpose_key(key: str) -> Optional[str]:
    """``stage2.0.branches...`` -> ``backbone.stage2.0.branches...``.

    Returns ``None`` for keys that belong to neither the backbone nor the head.
    """
    first = key.split('.', 1)[0]
    if first in BACKBONE_PREFIXES:
        return MMPOSE_BACKBONE + key
    if first in HEAD_PREFIXES:
        return MMPOSE_HEAD + key
    return None


def mmpose_to_official_key(key: str) -> Optional[str]:
    """Inverse of :func:`official_to_mmpose_key` (``None`` if not invertible)."""
    for prefix, allowed in ((MMPOSE_BACKBONE, BACKBONE_PREFIXES),
                            (MMPOSE_HEAD, HEAD_PREFIXES)):
        if key.startswith(prefix):
            official = key[len(prefix):]
            if official.split('.', 1)[0] in allowed:
                return official
    return None


# ------------------------------------------------------------ reading the file
def load_checkpoint_file(path: str, weights_only: bool = True) -> object:
    """``torch.load`` on CPU; ``weights_only`` refuses arbitrary pickles."""
    if not osp.isfile(path):
        raise FileNotFoundError(f'checkpoint not found: {path}')
    try:
        return torch.load(path, map_location='cpu', weights_only=weights_only)
    except Exception as err:  # noqa: BLE001  re-raised with advice
        if not weights_only:
            raise
        raise CheckpointConversionError(
            f'{path} could not be read with torch.load(weights_only=True) '
            f'({type(err).__name__}: {err}). If you trust the file, retry '
            'with weights_only=False (CLI: --unsafe-load).') from err


def extract_official_state_dict(
        checkpoint: object,
        state_dict_key: Optional[str] = None) -> 'OrderedDict[str, Tensor]':
    """Get the bare official ``state_dict`` out of a loaded checkpoint.

    Args:
        checkpoint: a bare ``state_dict`` or a dict holding one.
        state_dict_key: key of the nested state dict; by default
            ``'state_dict'`` when present (official ``checkpoint.pth.tar`` also
            has ``'best_state_dict'``), else the checkpoint itself.

    Returns:
        Official keys (``module.`` stripped) -> tensors, in file order.
    """
    if not isinstance(checkpoint, Mapping):
        raise CheckpointConversionError(
            f'expected a state dict or a dict with a state dict, got '
            f'{type(checkpoint).__name__}')
    if state_dict_key is not None:
        if state_dict_key not in checkpoint:
            raise CheckpointConversionError(
                f'no {state_dict_key!r} in the checkpoint; top-level keys: '
                f'{sorted(map(str, checkpoint))[:20]}')
        state_dict = checkpoint[state_dict_key]
    elif isinstance(checkpoint.get('state_dict'), Mapping):
        state_dict = checkpoint['state_dict']
    else:
        state_dict = checkpoint
    if not isinstance(state_dict, Mapping):
        raise CheckpointConversionError(
            f'the state dict is a {type(state_dict).__name__}, not a mapping')

    not_tensors = [k for k, v in state_dict.items() if not isinstance(v, Tensor)]
    if not_tensors:
        raise CheckpointConversionError(
            'the state dict holds non-tensor entries '
            f'{sorted(map(str, not_tensors))[:20]}; pass the dict that maps '
            'parameter names to tensors (CLI: --state-dict-key).')
    if not state_dict:
        raise CheckpointConversionError('the state dict is empty')

    keys = list(state_dict)
    with_ddp = [k for k in keys if k.startswith(DDP_PREFIX)]
    if with_ddp and len(with_ddp) != len(keys):
        without = [k for k in keys if not k.startswith(DDP_PREFIX)]
        raise CheckpointConversionError(
            f'only some keys carry the DDP prefix {DDP_PREFIX!r} '
            f'({len(with_ddp)} of {len(keys)}); keys without it: '
            f'{without[:20]}')
    strip = len(DDP_PREFIX) if with_ddp else 0

    already_mmpose = [
        k for k in keys if k[strip:].startswith((MMPOSE_BACKBONE, MMPOSE_HEAD))
    ]
    if already_mmpose:
        raise CheckpointConversionError(
            'this looks like an MMPose checkpoint already (keys such as '
            f'{already_mmpose[:3]}); it needs no conversion.')
    return OrderedDict((k[strip:], v) for k, v in state_dict.items())


def detect_official_checkpoint(
        state_dict: Mapping[str, Tensor]) -> OfficialCheckpointInfo:
    """SWAHR vs HigherHRNet, HRNet width and joint count of official weights.

    Uses ``final_layers.0.weight`` (2K, C, 1, 1) and the presence of
    ``conv_scale_layers.*``.
    """
    key = 'final_layers.0.weight'
    if key not in state_dict:
        raise CheckpointConversionError(
            f'{key!r} is missing: not an official HigherHRNet / SWAHR '
            f'checkpoint (first keys: {list(state_dict)[:5]})')
    weight = state_dict[key]
    if weight.dim() != 4 or weight.shape[0] % 2:
        raise CheckpointConversionError(
            f'{key} has shape {tuple(weight.shape)}; expected (2K, C, 1, 1) '
            '(K heatmaps + K tags)')
    has_scale = any(k.split('.', 1)[0] == SCALE_PREFIX for k in state_dict)
    return OfficialCheckpointInfo(
        variant='swahr' if has_scale else 'higherhrnet',
        width=int(weight.shape[1]),
        num_keypoints=int(weight.shape[0]) // 2)


# -------------------------------------------------------------- the conversion
def _format_keys(keys: Sequence[str], limit: int = 40) -> str:
    shown = '\n  '.join(keys[:limit])
    more = f'\n  ... and {len(keys) - limit} more' if len(keys) > limit else ''
    return f'\n  {shown}{more}'


def convert_official_state_dict(
        state_dict: Mapping[str, Tensor]) -> 'OrderedDict[str, Tensor]':
    """Official keys -> MMPose keys (``backbone.*`` / ``head.*``), same tensors.

    Raises:
        CheckpointConversionError: listing every key that is neither backbone
            nor head (e.g. another architecture's checkpoint).
    """
    converted: 'OrderedDict[str, Tensor]' = OrderedDict()
    unknown = []
    for key, value in state_dict.items():
        new_key = official_to_mmpose_key(key)
        if new_key is None:
            unknown.append(key)
        else:
            converted[new_key] = value
    if unknown:
        raise CheckpointConversionError(
            f'{len(unknown)} key(s) belong to neither the HRNet backbone '
            f'({", ".join(BACKBONE_PREFIXES)}) nor the head '
            f'({", ".join(HEAD_PREFIXES)}):{_format_keys(unknown)}')
    return converted


def check_state_dict_fits(
        state_dict: Mapping[str, Tensor],
        model_state: Mapping[str, Tensor],
        info: Optional[OfficialCheckpointInfo] = None,
        fill_num_batches_tracked: bool = True) -> List[str]:
    """Check that a converted state dict loads strictly into a model.

    Args:
        state_dict: converted (MMPose-key) weights; missing BN
            ``num_batches_tracked`` counters of BNs whose weights are present
            are added in place (as 0) when ``fill_num_batches_tracked``
            (checkpoints saved by torch < 0.4.1 lack them; with a fixed BN
            momentum they do not affect training or inference).
        model_state: ``model.state_dict()`` of the target model.
        info: detection result, used to explain family / width mismatches.
        fill_num_batches_tracked: see above.

    Returns:
        Keys that were filled in.

    Raises:
        CheckpointConversionError: naming missing and unexpected keys and every
            shape mismatch (key, checkpoint shape, model shape).
    """
    filled = []
    if fill_num_batches_tracked:
        suffix = 'num_batches_tracked'
        for key, value in model_state.items():
            # Only for BNs whose parameters are there; a BN missing as a whole
            # is reported as missing.
            if (key.endswith('.' + suffix) and key not in state_dict
                    and key[:-len(suffix)] + 'weight' in state_dict):
                state_dict[key] = torch.zeros_like(value)
                filled.append(key)

    missing = [k for k in model_state if k not in state_dict]
    unexpected = [k for k in state_dict if k not in model_state]
    mismatched = [
        f'{k}: checkpoint {tuple(state_dict[k].shape)} vs model '
        f'{tuple(model_state[k].shape)}' for k in model_state
        if k in state_dict and state_dict[k].shape != model_state[k].shape
    ]
    if not (missing or unexpected or mismatched):
        return filled

    problems = []
    if missing:
        problems.append(f'{len(missing)} key(s) of the model are missing '
                        f'from the checkpoint:{_format_keys(missing)}')
    if unexpected:
        problems.append(f'{len(unexpected)} key(s) of the checkpoint do not '
                        f'exist in the model:{_format_keys(unexpected)}')
    if mismatched:
        problems.append(f'{len(mismatched)} shape mismatch(es):'
                        f'{_format_keys(mismatched)}')
    hints = []
    if info is not None:
        hints.append(f'The checkpoint is an {info.describe()}.')
        model_has_scale = any(
            k.startswith(MMPOSE_HEAD + SCALE_PREFIX) for k in model_state)
        if model_has_scale != info.with_scale:
            hints.append(
                'The model config is a ' +
                ('SWAHR config (with_scale=True)' if model_has_scale else
                 'HigherHRNet config (with_scale=False)') +
                f'; use a {info.config_family}_* config instead.')
        final_key = MMPOSE_HEAD + 'final_layers.0.weight'
        if final_key in model_state:
            k2, width = model_state[final_key].shape[:2]
            if (width, k2 // 2) != (info.width, info.num_keypoints):
                hints.append(
                    f'The model has width {width} and {k2 // 2} keypoints, '
                    f'the checkpoint width {info.width} and '
                    f'{info.num_keypoints} keypoints.')
    raise CheckpointConversionError(
        'the converted checkpoint does not load strictly into the model.\n' +
        '\n'.join(problems + hints))


def convert_official_checkpoint(
        checkpoint: object,
        model_state: Optional[Mapping[str, Tensor]] = None,
        state_dict_key: Optional[str] = None,
        source: str = '',
        config: str = '') -> Tuple[dict, OfficialCheckpointInfo]:
    """Full conversion of a loaded official checkpoint.

    Args:
        checkpoint: what ``torch.load`` returned (bare or wrapped state dict).
        model_state: target ``model.state_dict()``; when given the result is
            checked to load strictly (see :func:`check_state_dict_fits`).
        state_dict_key: see :func:`extract_official_state_dict`.
        source: file name recorded in ``meta``.
        config: config path recorded in ``meta``.

    Returns:
        ``({'state_dict': OrderedDict, 'meta': dict}, info)``; ``meta`` holds
        only plain Python values so the file loads with ``weights_only=True``.
    """
    official = extract_official_state_dict(checkpoint, state_dict_key)
    info = detect_official_checkpoint(official)
    converted = convert_official_state_dict(official)
    filled: List[str] = []
    if model_state is not None:
        filled = check_state_dict_fits(converted, model_state, info)
    from swahr_mmpose.version import __version__
    meta: Dict[str, object] = dict(
        converted_from=osp.basename(source) if source else '',
        source_format=f'official {info.variant}',
        architecture='SWAHR' if info.with_scale else 'HigherHRNet',
        with_scale=info.with_scale,
        hrnet_width=info.width,
        num_keypoints=info.num_keypoints,
        config=config,
        filled_num_batches_tracked=len(filled),
        converter=f'swahr_mmpose {__version__}',
        time=datetime.datetime.now().strftime('%Y%m%d_%H%M%S'))
    return dict(state_dict=converted, meta=meta), info


# ----------------------------------------------------------------- command line logic
def default_config_for(info: OfficialCheckpointInfo) -> Tuple[str, 'Config']:
    """The repository config matching ``info``; else the COCO config of the same width with the head adjusted
    (with_scale, num_keypoints). Returns (a name for messages, the Config)."""
    from mmengine.config import Config

    from .config_paths import find_config

    path = find_config(info.suggested_config)
    if path is not None:
        return info.suggested_config, Config.fromfile(path)
    base = f'configs/swahr_hrnet_w{info.width}_coco.py'
    path = find_config(base)
    if path is None:
        raise CheckpointConversionError(f'no config for HRNet-W{info.width}; pass --config')
    cfg = Config.fromfile(path)
    cfg.model.head.with_scale = info.with_scale
    cfg.model.head.num_keypoints = info.num_keypoints
    cfg.model.head.decoder.num_keypoints = info.num_keypoints
    return f'{base} (with_scale={info.with_scale}, num_keypoints={info.num_keypoints})', cfg


def convert_checkpoint_file(src: str,
                            dst: str,
                            config: Optional[str] = None,
                            state_dict_key: Optional[str] = None,
                            weights_only: bool = True) -> List[str]:
    """Convert the official checkpoint ``src`` into an MMPose checkpoint ``dst`` that loads strictly into the model
    of ``config`` (detected from the checkpoint when ``None``).

    The model is built with MMPose's ``init_model`` and the converted state dict is loaded into it strictly before
    anything is written, so success means ``load_from=dst`` / ``mim test`` work.

    Returns:
        The lines to show the user.

    Raises:
        CheckpointConversionError: the checkpoint is malformed or does not fit the model (the message lists the
            unknown / missing / mis-shaped keys and suggests the matching config).
    """
    from mmpose.apis import init_model

    raw = load_checkpoint_file(src, weights_only=weights_only)
    info = detect_official_checkpoint(extract_official_state_dict(raw, state_dict_key))
    lines = [f'Detected: {info.describe()}']
    if config is not None:
        config_name, cfg = config, config
    else:
        config_name, cfg = default_config_for(info)
    lines.append(f'Checking against: {config_name}')
    model = init_model(cfg, checkpoint=None, device='cpu')
    checkpoint, info = convert_official_checkpoint(
        raw, model_state=model.state_dict(), state_dict_key=state_dict_key, source=src, config=config_name)
    model.load_state_dict(checkpoint['state_dict'], strict=True)
    filled = checkpoint['meta']['filled_num_batches_tracked']
    if filled:
        lines.append(f'Note: {filled} BatchNorm num_batches_tracked counters were missing and set to 0 (no effect '
                     'on inference).')
    torch.save(checkpoint, dst)
    lines.append(f'Wrote {len(checkpoint["state_dict"])} tensors to {dst} (loads strictly into {config_name}).')
    return lines
