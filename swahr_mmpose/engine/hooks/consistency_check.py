"""Check, before the first iteration, that the data, the pipelines' codec, the head and the network agree.

Each of these settings lives in a different part of a config (dataset type / metainfo, ``codec`` in the pipeline,
``model.head``), and a mismatch otherwise surfaces deep inside the first iteration (train) or the first image
(test). :func:`check_model_data_consistency` compares them once the runner has built the model and the data
loaders; every message names the setting to change.
"""
from typing import Any, Dict, List, Optional, Sequence, Set, Tuple

import torch
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmpose.registry import HOOKS
from torch import nn

from .run_loops import loops_of_stage

ONE_CODEC = ("write the pipeline's encoder and model.head.decoder from one `codec` dict (see "
             'configs/swahr_hrnet_w32_coco.py)')


class ConfigConsistencyError(ValueError):
    """Two parts of a config disagree (joints, heatmap sizes, levels, stride)."""


def _size(value: Any) -> Optional[Tuple[int, int]]:
    """(w, h) of an int or pair, else None."""
    if isinstance(value, int):
        return value, value
    if isinstance(value, (tuple, list)) and len(value) == 2:
        return int(value[0]), int(value[1])
    return None


def _pipeline_transforms(dataset: Any) -> List[Any]:
    pipeline = getattr(dataset, 'pipeline', None)
    return list(getattr(pipeline, 'transforms', None) or [])


def check_dataset_against_head(role: str, dataset: Any, head: nn.Module) -> None:
    """Joints and flip pairs of ``dataset.metainfo`` and its pipeline's target codec against ``head``.

    Args:
        role: the config key of the data loader (``'train_dataloader'``...) for the messages.
        dataset: a built MMPose dataset (``metainfo``, ``pipeline``).
        head: the built head (``num_keypoints``; ``decoder`` with ``input_size`` / ``heatmap_sizes`` if any).

    Raises:
        ConfigConsistencyError: the first disagreement, naming the settings to change.
    """
    num_keypoints = getattr(head, 'num_keypoints', None)
    if num_keypoints is None:
        return
    where = f'{role}.dataset ({type(dataset).__name__})'
    meta = getattr(dataset, 'metainfo', None) or {}
    data_joints = meta.get('num_keypoints')
    if data_joints is not None and int(data_joints) != num_keypoints:
        raise ConfigConsistencyError(
            f"{where} has {int(data_joints)} joints (metainfo {meta.get('dataset_name')!r}) but "
            f'model.head.num_keypoints={num_keypoints}: set model.head.num_keypoints and the codec\'s num_keypoints '
            f'to {int(data_joints)}, or use a dataset type / metainfo with {num_keypoints} joints')
    flip_indices = meta.get('flip_indices')
    if flip_indices is not None and sorted(int(i) for i in flip_indices) != list(range(num_keypoints)):
        raise ConfigConsistencyError(
            f'{where} metainfo flip_indices {list(flip_indices)} is not a permutation of the {num_keypoints} joints '
            f'of model.head.num_keypoints; fix the keypoint_info `swap` names of the dataset metainfo')

    decoder = getattr(head, 'decoder', None)
    transforms = _pipeline_transforms(dataset)
    for index, transform in enumerate(transforms):
        encoder = getattr(transform, 'encoder', None)
        if encoder is None:
            continue
        step = f'{role}.dataset.pipeline[{index}] ({type(transform).__name__})'
        encoder_joints = getattr(encoder, 'num_keypoints', None)
        if encoder_joints is not None and encoder_joints != num_keypoints:
            raise ConfigConsistencyError(
                f'{step} encodes num_keypoints={encoder_joints} but model.head.num_keypoints={num_keypoints}; '
                + ONE_CODEC)
        sizes = getattr(encoder, 'heatmap_sizes', None)
        if sizes is not None and decoder is not None and hasattr(decoder, 'heatmap_sizes'):
            if len(sizes) != len(decoder.heatmap_sizes):
                raise ConfigConsistencyError(
                    f'{step} encoder has {len(sizes)} heatmap level(s) {list(sizes)} but model.head.decoder has '
                    f'{len(decoder.heatmap_sizes)} {list(decoder.heatmap_sizes)} (SWAHRHead predicts 2: 1/4 and 1/2 '
                    'of the input, heatmap_size=[(w, h), (2w, 2h)]); ' + ONE_CODEC)
            mine = (tuple(encoder.input_size), [tuple(s) for s in sizes])
            theirs = (tuple(decoder.input_size), [tuple(s) for s in decoder.heatmap_sizes])
            if mine != theirs:
                raise ConfigConsistencyError(
                    f'{step} encoder has input_size={mine[0]}, heatmap_size={mine[1]} but model.head.decoder has '
                    f'input_size={theirs[0]}, heatmap_size={theirs[1]}; ' + ONE_CODEC)
        encoder_input = _size(getattr(encoder, 'input_size', None))
        for before in transforms[:index]:
            size = _size(getattr(before, 'input_size', None))
            if size is not None and encoder_input is not None and size != encoder_input:
                raise ConfigConsistencyError(
                    f'{role}.dataset.pipeline {type(before).__name__} has input_size={size} but the target '
                    f'encoder has input_size={encoder_input}; set both from `codec["input_size"]`')


def check_feature_stride(model: nn.Module) -> None:
    """The head's level-0 heatmap size must be what the backbone (+ neck) produces at the codec's input size.

    Runs ``model.extract_feat`` once on a zero image of the decoder's ``input_size`` (eval mode, no grad; training
    mode is restored), so it holds for any backbone. Skipped when the head has no multi-level decoder.

    Raises:
        ConfigConsistencyError: with the heatmap sizes to set.
    """
    head = getattr(model, 'head', None)
    decoder = getattr(head, 'decoder', None)
    sizes: Optional[Sequence[Tuple[int, int]]] = getattr(decoder, 'heatmap_sizes', None)
    input_size = _size(getattr(decoder, 'input_size', None))
    if not sizes or input_size is None or not hasattr(model, 'extract_feat'):
        return
    first_conv = next((m for m in model.modules() if isinstance(m, nn.Conv2d)), None)
    if first_conv is None:
        return
    parameter = next(model.parameters())
    width, height = input_size
    image = torch.zeros(1, first_conv.in_channels, height, width, device=parameter.device, dtype=parameter.dtype)
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            feats = model.extract_feat(image)
    finally:
        model.train(was_training)
    feat_h, feat_w = feats[-1].shape[-2:]
    w0, h0 = sizes[0]
    if (feat_w, feat_h) != (w0, h0):
        stride = width / feat_w
        raise ConfigConsistencyError(
            f'model.head.decoder heatmap_size[0]={(w0, h0)} (level 0) but the backbone\'s feature map for the '
            f'{width}x{height} codec input_size is {feat_w}x{feat_h} (network stride {stride:g}): set the codec\'s '
            f'heatmap_size to [({feat_w}, {feat_h}), ({2 * feat_w}, {2 * feat_h})], i.e. input_size / {stride:g} '
            f'and / {stride / 2:g}')


def check_model_data_consistency(model: nn.Module, datasets: Dict[str, Any], check_stride: bool = True) -> None:
    """All checks of this module: each dataset against the head, then the network stride.

    Args:
        model: the built (possibly wrapped) model.
        datasets: ``{'train_dataloader': dataset, ...}``, the built datasets.
        check_stride: run :func:`check_feature_stride` (one forward of the backbone).
    """
    if is_model_wrapper(model):
        model = model.module
    head = getattr(model, 'head', None)
    if head is None:
        return
    for role, dataset in datasets.items():
        check_dataset_against_head(role, dataset, head)
    if check_stride:
        check_feature_stride(model)


@HOOKS.register_module()
class ConsistencyCheckHook(Hook):
    """Run :func:`check_model_data_consistency` when a run's loops start (``before_train``, ``before_val``,
    ``before_test``: the loops are built, no iteration has run), for ``train()``, ``val()`` and ``test()``, once per
    loop (and the stride check once).

    Args:
        check_stride: also compare the level-0 heatmap size with the backbone output (one forward on zeros).
    """

    priority = 'VERY_HIGH'

    def __init__(self, check_stride: bool = True) -> None:
        self.check_stride = check_stride
        self._seen: Set[int] = set()
        self._stride_checked = False

    def _check(self, runner, stage: str) -> None:
        datasets = {f'{name}_dataloader': loop.dataloader.dataset
                    for name, loop in loops_of_stage(runner, stage, self._seen)}
        if not datasets:
            return
        check_model_data_consistency(runner.model, datasets, self.check_stride and not self._stride_checked)
        self._stride_checked = True

    def before_train(self, runner) -> None:
        self._check(runner, 'train')

    def before_val(self, runner) -> None:
        self._check(runner, 'val')

    def before_test(self, runner) -> None:
        self._check(runner, 'test')
