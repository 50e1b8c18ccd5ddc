"""A checkpoint must match the model it is loaded into: strict loading for test, demo, export, benchmark and load_from.

MMEngine 0.10.7 loads checkpoints with ``strict=False`` (``Runner.load_checkpoint``, ``mmengine.runner.load_checkpoint``
behind MMPose's ``init_model`` and inferencers): a tensor that is missing, unexpected or of another shape only logs
a warning, and the model keeps its random weights there. A W48 checkpoint in a W32 config thus "tests" a random
network and reports its AP, and an export of a state dict that shares no key with the model writes a valid graph.

:func:`match_state_dict` compares a checkpoint's state dict with a model's; :func:`check_state_dict` raises
:class:`CheckpointMismatchError` naming the first missing / unexpected / mismatched tensors and the model the
checkpoint seems to be from (its ``meta``; the HRNet width and head outputs its shapes imply), or, with
``allow_partial=True`` (fine-tuning from another model), logs a one-line summary of what was loaded.
:func:`load_checkpoint_strict` and :func:`init_model_strict` are the loaders the tools use;
:class:`~swahr_mmpose.engine.hooks.StrictCheckpointLoadHook` (in our runtime) applies the check to ``load_from``,
``resume`` and ``tools/test.py``.
"""
import glob
import logging
import os.path as osp
import re
from dataclasses import dataclass, field
from typing import Any, Dict, List, Mapping, Optional, Tuple

import torch
from mmengine.logging import print_log
from mmengine.model import is_model_wrapper
from torch import nn

# How many names an error lists per kind.
NAME_LIMIT = 5
# The first conv of HRNet's highest-resolution branch: its output channels are the width (W32, W48).
_HRNET_WIDTH_KEY = 'backbone.stage2.0.branches.0.0.conv1.weight'
_REPO_CONFIGS = osp.join(osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))), 'configs')


class CheckpointMismatchError(RuntimeError):
    """A checkpoint's tensors do not match the model it is loaded into (and partial loading was not asked for)."""


@dataclass
class StateDictMatch:
    """How a checkpoint's state dict matches a model's (names as in ``model.state_dict()``)."""
    missing: List[str] = field(default_factory=list)  # in the model, not in the checkpoint
    unexpected: List[str] = field(default_factory=list)  # in the checkpoint, not in the model
    mismatched: List[Tuple[str, Tuple[int, ...], Tuple[int, ...]]] = field(default_factory=list)  # (name, ckpt, model)
    loaded: int = 0  # model tensors the checkpoint fills
    total: int = 0  # model tensors

    @property
    def ok(self) -> bool:
        return not (self.missing or self.unexpected or self.mismatched)

    def summary(self, loaded: bool = False) -> str:
        """``'1200 of 1434 model tensors fit; 234 missing (e.g. ...), ...'`` (``loaded``: a partial load's words)."""
        parts = [
            f'loaded {self.loaded} of {self.total} model tensors'
            if loaded else f'{self.loaded} of {self.total} model tensors fit'
        ]
        if self.missing:
            kept = ', kept as initialised' if loaded else ''
            parts.append(f'{len(self.missing)} missing (e.g. {self.missing[0]}){kept}')
        if self.unexpected:
            parts.append(f'{len(self.unexpected)} unexpected (e.g. {self.unexpected[0]})')
        if self.mismatched:
            name, ckpt, model = self.mismatched[0]
            parts.append(f'{len(self.mismatched)} of another shape{", skipped" if loaded else ""} (e.g. {name}: '
                         f'checkpoint {list(ckpt)}, model {list(model)})')
        return '; '.join(parts)

    def details(self, limit: int = NAME_LIMIT) -> List[str]:
        """One line per kind with the first ``limit`` names."""

        def names(items: List[str]) -> str:
            return ', '.join(items[:limit]) + (f', ... ({len(items) - limit} more)' if len(items) > limit else '')

        lines = []
        if self.mismatched:
            shown = [f'{n} (checkpoint {list(c)}, model {list(m)})' for n, c, m in self.mismatched]
            lines.append(f'{len(self.mismatched)} of another shape: {names(shown)}')
        if self.missing:
            lines.append(f'{len(self.missing)} missing from the checkpoint: {names(self.missing)}')
        if self.unexpected:
            lines.append(f'{len(self.unexpected)} unexpected (not in the model): {names(self.unexpected)}')
        return lines


def _unwrap(model: nn.Module) -> nn.Module:
    return model.module if is_model_wrapper(model) else model


def checkpoint_state_dict(checkpoint: Mapping[str, Any]) -> Dict[str, Any]:
    """The state dict of a loaded checkpoint (``state_dict`` or the dict itself), without a ``module.`` prefix
    (as ``Runner.load_checkpoint``'s default ``revise_keys``)."""
    state_dict = checkpoint.get('state_dict', checkpoint) if isinstance(checkpoint, Mapping) else {}
    return {re.sub(r'^module\.', '', k): v for k, v in state_dict.items()}


def match_state_dict(model: nn.Module, state_dict: Mapping[str, Any]) -> StateDictMatch:
    """Compare ``state_dict`` (a checkpoint's, prefix-free) with ``model.state_dict()``."""
    expected = _unwrap(model).state_dict()
    match = StateDictMatch(total=len(expected))
    for name, tensor in expected.items():
        value = state_dict.get(name)
        if value is None:
            match.missing.append(name)
        elif isinstance(value, torch.Tensor) and tuple(value.shape) != tuple(tensor.shape):
            match.mismatched.append((name, tuple(value.shape), tuple(tensor.shape)))
        else:
            match.loaded += 1
    match.unexpected = [name for name in state_dict if name not in expected]
    return match


def _hrnet_width(state_dict: Mapping[str, Any]) -> Optional[int]:
    value = state_dict.get(_HRNET_WIDTH_KEY)
    return int(value.shape[0]) if isinstance(value, torch.Tensor) and value.dim() else None


def describe_origin(checkpoint: Mapping[str, Any], model: Optional[nn.Module] = None) -> str:
    """What the checkpoint seems to be: its run (``meta.experiment_name``: the config name and a time stamp), the
    joint count of its ``dataset_meta``, the HRNet width its shapes imply against the model's, and this repo's
    configs of that width."""
    state_dict = checkpoint_state_dict(checkpoint)
    meta = checkpoint.get('meta', {}) if isinstance(checkpoint, Mapping) else {}
    meta = meta if isinstance(meta, Mapping) else {}
    facts = []
    if meta.get('experiment_name'):
        facts.append(f'saved by the run {meta["experiment_name"]!r}')
    dataset_meta = meta.get('dataset_meta') or {}
    if isinstance(dataset_meta, Mapping) and dataset_meta.get('num_keypoints'):
        facts.append(f'{dataset_meta.get("dataset_name", "a data set")} with {dataset_meta["num_keypoints"]} joints')
    width = _hrnet_width(state_dict)
    if width is not None:
        model_width = _hrnet_width(_unwrap(model).state_dict()) if model is not None else None
        text = f'an HRNet-W{width} backbone'
        if model_width is not None and model_width != width:
            text += f' (the model is HRNet-W{model_width})'
        configs = sorted(osp.basename(p) for p in glob.glob(osp.join(_REPO_CONFIGS, f'*_w{width}_*.py')))
        if configs:
            text += f'; configs of that width: {", ".join(configs)}'
        facts.append(text)
    elif state_dict and not any(k.startswith('backbone.') for k in state_dict):
        facts.append('no backbone.* tensors (not an MMPose pose estimator checkpoint? official SWAHR / HigherHRNet '
                     'files need tools/convert_swahr_checkpoint.py first)')
    return '; '.join(facts) if facts else 'no meta data to tell which model it is from'


def check_state_dict(model: nn.Module,
                     checkpoint: Mapping[str, Any],
                     source: str = 'the checkpoint',
                     allow_partial: bool = False,
                     logger: str = 'current') -> StateDictMatch:
    """Check that ``checkpoint`` fits ``model`` exactly.

    Args:
        model: the model (wrappers are unwrapped).
        checkpoint: a loaded checkpoint (``state_dict`` inside, or a plain state dict).
        source: how messages name the checkpoint (its path).
        allow_partial: log a one-line summary instead of raising (fine-tuning from another model: mismatched
            tensors are then skipped, missing ones keep the model's initial weights).

    Returns:
        The comparison.

    Raises:
        CheckpointMismatchError: any missing, unexpected or mismatched tensor, unless ``allow_partial``.
    """
    match = match_state_dict(model, checkpoint_state_dict(checkpoint))
    if match.ok:
        return match
    if allow_partial:
        print_log(
            f'Partial load of {source} (load_partial): {match.summary(loaded=True)}.',
            logger=logger,
            level=logging.WARNING)
        return match
    lines = [f'{source} does not match the model: {match.summary()}.'] + [f'  {line}' for line in match.details()]
    lines.append(f'The checkpoint: {describe_origin(checkpoint, model)}.')
    lines.append('Use the config this checkpoint was trained with; to fine-tune from another model on purpose, load '
                 'it partially (training: --cfg-options load_partial=True).')
    raise CheckpointMismatchError('\n'.join(lines))


def load_checkpoint_strict(model: nn.Module,
                           filename: str,
                           map_location: str = 'cpu',
                           allow_partial: bool = False) -> Dict[str, Any]:
    """Load ``filename`` into ``model`` after :func:`check_state_dict`; returns the loaded checkpoint dict."""
    from mmengine.runner import CheckpointLoader

    checkpoint = CheckpointLoader.load_checkpoint(filename, map_location=map_location)
    match = check_state_dict(model, checkpoint, source=str(filename), allow_partial=allow_partial)
    state_dict = checkpoint_state_dict(checkpoint)
    if not match.ok:  # partial: only the tensors that fit
        skip = set(match.unexpected) | {name for name, _, _ in match.mismatched}
        state_dict = {k: v for k, v in state_dict.items() if k not in skip}
    _unwrap(model).load_state_dict(state_dict, strict=match.ok)
    return checkpoint


def check_checkpoint_file(model: nn.Module, filename: str, allow_partial: bool = False) -> StateDictMatch:
    """Read ``filename`` and :func:`check_state_dict` it against ``model`` (for a model another API has loaded
    non-strictly, e.g. MMPose's inferencers)."""
    from mmengine.runner import CheckpointLoader

    checkpoint = CheckpointLoader.load_checkpoint(filename, map_location='cpu')
    return check_state_dict(model, checkpoint, source=str(filename), allow_partial=allow_partial)


def init_model_strict(config: Any,
                      checkpoint: Optional[str] = None,
                      device: str = 'cuda:0',
                      cfg_options: Optional[dict] = None,
                      allow_partial: bool = False) -> nn.Module:
    """MMPose's ``init_model``, loading ``checkpoint`` strictly (:func:`load_checkpoint_strict`).

    The dataset meta comes from the checkpoint when it has one, else from the config (as ``init_model``).
    """
    from mmpose.apis import init_model

    model = init_model(config, None, device=device, cfg_options=cfg_options)
    if checkpoint is not None:
        loaded = load_checkpoint_strict(model, checkpoint, allow_partial=allow_partial)
        dataset_meta = (loaded.get('meta') or {}).get('dataset_meta')
        if dataset_meta:
            model.dataset_meta = dataset_meta
    return model


__all__ = [
    'CheckpointMismatchError', 'StateDictMatch', 'match_state_dict', 'check_state_dict', 'describe_origin',
    'load_checkpoint_strict', 'init_model_strict', 'checkpoint_state_dict', 'check_checkpoint_file'
]
