"""Convert official SWAHR / HigherHRNet checkpoints to MMPose (MMEngine) ones.

The official ``PoseHigherResolutionNet`` keeps the HRNet backbone and the heads as direct children of one module;
MMPose's ``HRNet`` and ``SWAHRHead`` use the same names under ``backbone.`` / ``head.`` (see
``docs/reference_behaviour.md#checkpoint-keys``). So the conversion is a key-prefix change, written as MMEngine's
``revise_keys`` (:data:`OFFICIAL_REVISE_KEYS`, the ``(pattern, replacement)`` list ``mmengine.runner.load_checkpoint``
applies): no tensor is renamed, reshaped or re-ordered. What this module adds around it is what a user needs when
the file is not what it should be: format detection (SWAHR vs HigherHRNet, HRNet width, joint count), the matching
config, and errors that list the unknown, missing and mis-shaped keys.

A checkpoint may be a bare ``state_dict`` (released ``.pth``, ``model_best``, ``final_state``) or a training dict
holding it under ``state_dict`` (DDP ``checkpoint.pth.tar``, keys prefixed with ``module.``).
"""
import datetime
import os.path as osp
import re
import zipfile
from collections import OrderedDict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Dict, List, Mapping, Optional, Sequence, Tuple

import torch
from torch import Tensor

if TYPE_CHECKING:
    from mmengine.config import Config

#: First key component of the official backbone / head parameters (HigherHRNet + SWAHR).
BACKBONE_PREFIXES: Tuple[str, ...] = ('conv1', 'bn1', 'conv2', 'bn2', 'layer1', 'transition1', 'transition2',
                                      'transition3', 'stage2', 'stage3', 'stage4')
HEAD_PREFIXES: Tuple[str, ...] = ('final_layers', 'deconv_layers', 'conv_scale_layers')
SCALE_PREFIX = 'conv_scale_layers'  # only in SWAHR checkpoints
DDP_PREFIX = 'module.'
MMPOSE_BACKBONE, MMPOSE_HEAD = 'backbone.', 'head.'

#: Official keys -> MMPose keys as MMEngine ``revise_keys``; also usable directly, e.g.
#: ``mmengine.runner.load_checkpoint(model, 'pose_higher_hrnet_w32_512.pth', revise_keys=OFFICIAL_REVISE_KEYS)``.
OFFICIAL_REVISE_KEYS: List[Tuple[str, str]] = [
    (r'^module\.', ''),
    (r'^(?=(?:{})\.)'.format('|'.join(BACKBONE_PREFIXES)), MMPOSE_BACKBONE),
    (r'^(?=(?:{})\.)'.format('|'.join(HEAD_PREFIXES)), MMPOSE_HEAD),
]

#: Joint counts of the datasets the official code supports.
DATASET_BY_NUM_KEYPOINTS = {17: 'coco', 14: 'crowdpose'}
# torch.save's legacy (pre-1.6) format starts with a protocol-2 pickle of this magic number; newer files are zips.
_LEGACY_TORCH_HEADER = b'\x80\x02\x8a\x0al\xfc\x9cF\xf9 j\xa8P\x19.'


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
        return self.variant == 'swahr'

    @property
    def dataset(self) -> Optional[str]:
        """``'coco'`` / ``'crowdpose'`` guessed from K, else ``None``."""
        return DATASET_BY_NUM_KEYPOINTS.get(self.num_keypoints)

    @property
    def config_family(self) -> str:
        return 'swahr' if self.with_scale else 'higherhrnet'

    @property
    def suggested_config(self) -> str:
        """Config path (relative to the repository root) matching the checkpoint."""
        return f'configs/{self.config_family}_hrnet_w{self.width}_{self.dataset or f"{self.num_keypoints}kpt"}.py'

    def describe(self) -> str:
        name = 'SWAHR' if self.with_scale else 'HigherHRNet'
        return (f'official {name} checkpoint, HRNet-W{self.width}, {self.num_keypoints} keypoints '
                f'({self.dataset or "unknown dataset"}); it needs a {self.config_family}_* config with with_scale='
                f'{self.with_scale}, e.g. {self.suggested_config}')


def official_to_mmpose_key(key: str) -> Optional[str]:
    """``stage2.0.branches...`` -> ``backbone.stage2.0.branches...`` by :data:`OFFICIAL_REVISE_KEYS`; ``None`` for
    keys of neither the backbone nor the head."""
    for pattern, replacement in OFFICIAL_REVISE_KEYS:
        key = re.sub(pattern, replacement, key)
    return key if key.startswith((MMPOSE_BACKBONE, MMPOSE_HEAD)) else None


# ------------------------------------------------------------ reading the file
def load_checkpoint_file(path: str, weights_only: bool = True) -> object:
    """``torch.load`` on CPU; ``weights_only`` refuses arbitrary pickles.

    Raises:
        CheckpointConversionError: no such file; a file in neither of torch.save's formats (corrupt, truncated or
            not a checkpoint); a checkpoint that ``weights_only`` refuses (then, and only then, the message points to
            ``--unsafe-load``).
    """
    if not osp.isfile(path):
        raise CheckpointConversionError(f'checkpoint not found: {path} (no such file)')
    with open(path, 'rb') as f:
        header = f.read(len(_LEGACY_TORCH_HEADER))
    if not (zipfile.is_zipfile(path) or header == _LEGACY_TORCH_HEADER):
        raise CheckpointConversionError(
            f'{path} ({osp.getsize(path)} bytes) is not a PyTorch checkpoint: it is in neither torch.save format '
            '(zip archive, or the legacy pickle format). If it was downloaded, the download is probably incomplete '
            'or an HTML page; fetch it again.')
    try:
        return torch.load(path, map_location='cpu', weights_only=weights_only)
    except Exception as err:  # noqa: BLE001  re-raised with advice
        if weights_only and 'Weights only load failed' in str(err):
            raise CheckpointConversionError(
                f'{path} holds objects other than tensors and plain containers, which torch.load(weights_only=True) '
                'refuses. If you trust the file, retry with weights_only=False (CLI: --unsafe-load).') from err
        raise CheckpointConversionError(f'{path} could not be read by torch.load ({type(err).__name__}: '
                                        f'{str(err).splitlines()[0] if str(err) else ""}); the file is probably '
                                        'corrupt or truncated') from err


def extract_official_state_dict(checkpoint: object, state_dict_key: Optional[str] = None) -> 'OrderedDict[str, Tensor]':
    """The bare official ``state_dict`` of a loaded checkpoint, ``module.`` stripped, in file order.

    Args:
        checkpoint: a bare ``state_dict`` or a dict holding one.
        state_dict_key: key of the nested state dict; by default ``'state_dict'`` when present (official
            ``checkpoint.pth.tar`` also has ``'best_state_dict'``), else the checkpoint itself.
    """
    if not isinstance(checkpoint, Mapping):
        raise CheckpointConversionError(
            f'expected a state dict or a dict with a state dict, got {type(checkpoint).__name__}')
    if state_dict_key is not None:
        if state_dict_key not in checkpoint:
            raise CheckpointConversionError(
                f'no {state_dict_key!r} in the checkpoint; top-level keys: {sorted(map(str, checkpoint))[:20]}')
        state_dict = checkpoint[state_dict_key]
    elif isinstance(checkpoint.get('state_dict'), Mapping):
        state_dict = checkpoint['state_dict']
    else:
        state_dict = checkpoint
    if not isinstance(state_dict, Mapping):
        raise CheckpointConversionError(f'the state dict is a {type(state_dict).__name__}, not a mapping')
    not_tensors = [k for k, v in state_dict.items() if not isinstance(v, Tensor)]
    if not_tensors:
        raise CheckpointConversionError(
            f'the state dict holds non-tensor entries {sorted(map(str, not_tensors))[:20]}; pass the dict that maps '
            'parameter names to tensors (CLI: --state-dict-key).')
    if not state_dict:
        raise CheckpointConversionError('the state dict is empty')

    keys = list(state_dict)
    with_ddp = [k for k in keys if k.startswith(DDP_PREFIX)]
    if with_ddp and len(with_ddp) != len(keys):
        without = [k for k in keys if not k.startswith(DDP_PREFIX)]
        raise CheckpointConversionError(f'only some keys carry the DDP prefix {DDP_PREFIX!r} ({len(with_ddp)} of '
                                        f'{len(keys)}); keys without it: {without[:20]}')
    strip = len(DDP_PREFIX) if with_ddp else 0
    already_mmpose = [k for k in keys if k[strip:].startswith((MMPOSE_BACKBONE, MMPOSE_HEAD))]
    if already_mmpose:
        raise CheckpointConversionError(f'this looks like an MMPose checkpoint already (keys such as '
                                        f'{already_mmpose[:3]}); it needs no conversion.')
    return OrderedDict((k[strip:], v) for k, v in state_dict.items())


def detect_official_checkpoint(state_dict: Mapping[str, Tensor]) -> OfficialCheckpointInfo:
    """SWAHR vs HigherHRNet, HRNet width and joint count, from ``final_layers.0.weight`` (2K, C, 1, 1) and the
    presence of ``conv_scale_layers.*``."""
    key = 'final_layers.0.weight'
    if key not in state_dict:
        raise CheckpointConversionError(f'{key!r} is missing: not an official HigherHRNet / SWAHR checkpoint (first '
                                        f'keys: {list(state_dict)[:5]})')
    weight = state_dict[key]
    if weight.dim() != 4 or weight.shape[0] % 2:
        raise CheckpointConversionError(
            f'{key} has shape {tuple(weight.shape)}; expected (2K, C, 1, 1) (K heatmaps + K tags)')
    has_scale = any(k.split('.', 1)[0] == SCALE_PREFIX for k in state_dict)
    return OfficialCheckpointInfo(
        variant='swahr' if has_scale else 'higherhrnet',
        width=int(weight.shape[1]),
        num_keypoints=int(weight.shape[0]) // 2)


# -------------------------------------------------------------- the conversion
def _format_keys(keys: Sequence[str], limit: int = 40) -> str:
    more = f'\n  ... and {len(keys) - limit} more' if len(keys) > limit else ''
    return '\n  ' + '\n  '.join(keys[:limit]) + more


def convert_official_state_dict(state_dict: Mapping[str, Tensor]) -> 'OrderedDict[str, Tensor]':
    """Official keys -> MMPose keys (``backbone.*`` / ``head.*``), same tensors.

    Raises:
        CheckpointConversionError: listing every key that is neither backbone nor head (e.g. another
            architecture's checkpoint).
    """
    converted = OrderedDict((official_to_mmpose_key(k), v) for k, v in state_dict.items())
    unknown = [k for k in state_dict if official_to_mmpose_key(k) is None]
    if unknown:
        raise CheckpointConversionError(
            f'{len(unknown)} key(s) belong to neither the HRNet backbone ({", ".join(BACKBONE_PREFIXES)}) nor the '
            f'head ({", ".join(HEAD_PREFIXES)}):{_format_keys(unknown)}')
    return converted


def check_state_dict_fits(state_dict: Dict[str, Tensor],
                          model_state: Mapping[str, Tensor],
                          info: Optional[OfficialCheckpointInfo] = None,
                          fill_num_batches_tracked: bool = True) -> List[str]:
    """Check that a converted state dict loads strictly into a model.

    Args:
        state_dict: converted (MMPose-key) weights; with ``fill_num_batches_tracked``, missing BN
            ``num_batches_tracked`` counters of BNs whose weights are present are added in place as 0 (torch < 0.4.1
            did not save them; with a fixed BN momentum they change nothing).
        model_state: ``model.state_dict()`` of the target model.
        info: detection result, used to explain family / width mismatches.

    Returns:
        Keys that were filled in.

    Raises:
        CheckpointConversionError: naming missing and unexpected keys and every shape mismatch (key, checkpoint
            shape, model shape), with the config that would fit.
    """
    filled = []
    if fill_num_batches_tracked:
        for key, value in model_state.items():
            bn = key[:-len('num_batches_tracked')]
            if key.endswith('.num_batches_tracked') and key not in state_dict and bn + 'weight' in state_dict:
                state_dict[key] = torch.zeros_like(value)
                filled.append(key)
    missing = [k for k in model_state if k not in state_dict]
    unexpected = [k for k in state_dict if k not in model_state]
    mismatched = [
        f'{k}: checkpoint {tuple(state_dict[k].shape)} vs model {tuple(model_state[k].shape)}' for k in model_state
        if k in state_dict and state_dict[k].shape != model_state[k].shape
    ]
    if not (missing or unexpected or mismatched):
        return filled

    problems = []
    if missing:
        problems.append(f'{len(missing)} key(s) of the model are missing from the checkpoint:{_format_keys(missing)}')
    if unexpected:
        problems.append(
            f'{len(unexpected)} key(s) of the checkpoint do not exist in the model:{_format_keys(unexpected)}')
    if mismatched:
        problems.append(f'{len(mismatched)} shape mismatch(es):{_format_keys(mismatched)}')
    if info is not None:
        problems.append(f'The checkpoint is an {info.describe()}.')
        model_has_scale = any(k.startswith(MMPOSE_HEAD + SCALE_PREFIX) for k in model_state)
        if model_has_scale != info.with_scale:
            family = 'SWAHR config (with_scale=True)' if model_has_scale else 'HigherHRNet config (with_scale=False)'
            problems.append(f'The model config is a {family}; use a {info.config_family}_* config instead.')
        final_key = MMPOSE_HEAD + 'final_layers.0.weight'
        if final_key in model_state:
            two_k, width = model_state[final_key].shape[:2]
            if (width, two_k // 2) != (info.width, info.num_keypoints):
                problems.append(f'The model has width {width} and {two_k // 2} keypoints, the checkpoint width '
                                f'{info.width} and {info.num_keypoints} keypoints.')
    raise CheckpointConversionError('the converted checkpoint does not load strictly into the model.\n' +
                                    '\n'.join(problems))


def convert_official_checkpoint(checkpoint: object,
                                model_state: Optional[Mapping[str, Tensor]] = None,
                                state_dict_key: Optional[str] = None,
                                source: str = '',
                                config: str = '') -> Tuple[dict, OfficialCheckpointInfo]:
    """Full conversion of a loaded official checkpoint.

    Args:
        checkpoint: what ``torch.load`` returned (bare or wrapped state dict).
        model_state: target ``model.state_dict()``; when given the result is checked to load strictly (see
            :func:`check_state_dict_fits`).
        state_dict_key: see :func:`extract_official_state_dict`.
        source, config: file name and config path recorded in ``meta``.

    Returns:
        ``({'state_dict': OrderedDict, 'meta': dict}, info)``; ``meta`` holds only plain Python values so the file
        loads with ``weights_only=True``.
    """
    from swahr_mmpose.version import __version__

    official = extract_official_state_dict(checkpoint, state_dict_key)
    info = detect_official_checkpoint(official)
    converted = convert_official_state_dict(official)
    filled = check_state_dict_fits(converted, model_state, info) if model_state is not None else []
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
    anything is written (with MMEngine's ``save_checkpoint``), so success means ``load_from=dst`` / ``mim test``
    work.

    Returns:
        The lines to show the user.

    Raises:
        CheckpointConversionError: the file is missing or unreadable, or the checkpoint is malformed or does not fit
            the model (the message lists the unknown / missing / mis-shaped keys and suggests the matching config).
    """
    from mmengine.runner import save_checkpoint
    from mmpose.apis import init_model

    raw = load_checkpoint_file(src, weights_only=weights_only)
    info = detect_official_checkpoint(extract_official_state_dict(raw, state_dict_key))
    lines = [f'Detected: {info.describe()}']
    config_name, cfg = (config, config) if config is not None else default_config_for(info)
    lines.append(f'Checking against: {config_name}')
    model = init_model(cfg, checkpoint=None, device='cpu')
    checkpoint, info = convert_official_checkpoint(
        raw, model_state=model.state_dict(), state_dict_key=state_dict_key, source=src, config=config_name)
    model.load_state_dict(checkpoint['state_dict'], strict=True)
    filled = checkpoint['meta']['filled_num_batches_tracked']
    if filled:
        lines.append(f'Note: {filled} BatchNorm num_batches_tracked counters were missing and set to 0 (no effect '
                     'on inference).')
    save_checkpoint(checkpoint, dst)
    lines.append(f'Wrote {len(checkpoint["state_dict"])} tensors to {dst} (loads strictly into {config_name}).')
    return lines
