"""Check, before the first iteration, that the data, the pipelines' codec, the head and the network agree.

Each of these settings lives in a different part of a config (dataset type / metainfo, ``codec`` in the pipeline,
``model.head``, the evaluator), and a mismatch otherwise surfaces deep inside the first iteration (train) or the first
image (test), or not at all (a wrong joint order or flip pair only costs AP). :func:`check_model_data_consistency`
compares them once the runner has built the model and the data loaders; every message names the setting to change.

Keypoint-set checks (the dataset's metainfo is the reference): joints of codec and head, flip pairs (length, mutual),
the decoder's joint order (:func:`~swahr_mmpose.codecs.default_keypoint_order` of the metainfo unless the config
sets ``decode_keypoint_order`` to a list) and CocoMetric's OKS sigmas (one per joint).
"""
from typing import Any, Dict, List, Optional, Sequence, Set, Tuple

import torch
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmpose.registry import HOOKS
from torch import nn

from swahr_mmpose.codecs.utils.keypoint_order import default_keypoint_order
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


def _grouping_decoder(head: nn.Module) -> Any:
    """The head's ``AEDecoder`` (``head.decoder`` itself or the codec's ``decoder``), or ``None``."""
    decoder = getattr(head, 'decoder', None)
    if decoder is not None and not hasattr(decoder, 'keypoint_order'):
        decoder = getattr(decoder, 'decoder', None)
    return decoder if hasattr(decoder, 'keypoint_order') else None


def check_flip_indices(where: str, meta: Dict[str, Any], num_keypoints: int) -> None:
    """``meta['flip_indices']``: K entries, a permutation, and mutual (``flip[flip[k]] == k``)."""
    flip_indices = meta.get('flip_indices')
    if flip_indices is None:
        return
    flip = [int(i) for i in flip_indices]
    fix = ("fix the keypoint_info `swap` names of the dataset metainfo (each joint names its mirror, or '' on the "
           'symmetry axis)')
    if len(flip) != num_keypoints:
        raise ConfigConsistencyError(
            f'{where} metainfo flip_indices has {len(flip)} entries for the {num_keypoints} joints of '
            f'model.head.num_keypoints: {flip}; {fix}')
    if sorted(flip) != list(range(num_keypoints)):
        raise ConfigConsistencyError(
            f'{where} metainfo flip_indices {flip} is not a permutation of the {num_keypoints} joints '
            f'of model.head.num_keypoints; {fix}')
    unpaired = [k for k in range(num_keypoints) if flip[flip[k]] != k]
    if unpaired:
        raise ConfigConsistencyError(
            f'{where} metainfo flip_indices {flip} are not mutual pairs (joints {unpaired}); {fix}')


def check_keypoint_order(where: str, meta: Dict[str, Any], head: nn.Module, explicit_order: bool = False) -> None:
    """The decoder's joint order is the metainfo's default order, unless the config set one explicitly.

    Raises:
        ConfigConsistencyError: e.g. a 17-joint animal set decoded in COCO's order because the codec was not told
            the keypoint set.
    """
    decoder = _grouping_decoder(head)
    num_keypoints = getattr(head, 'num_keypoints', None)
    if explicit_order or decoder is None or decoder.keypoint_order is None or not meta.get('keypoint_id2name') \
            or int(meta.get('num_keypoints', -1)) != num_keypoints:
        return
    expected = default_keypoint_order(num_keypoints, meta)
    if list(decoder.keypoint_order) != expected:
        raise ConfigConsistencyError(
            f"{where} has the keypoint set {meta.get('dataset_name')!r}, whose skeleton gives the joint order "
            f'{expected}, but model.head.decoder matches joints in the order {list(decoder.keypoint_order)} (the '
            "COCO reference order when the codec is not told the keypoint set): set the codec's "
            'decode_keypoint_order to the same metainfo as the dataset (decode_keypoint_order=metainfo), or to an '
            'explicit list to keep another order')


def check_evaluator_sigmas(role: str, evaluator: Any, num_keypoints: int) -> None:
    """Every ``CocoMetric`` of ``evaluator`` has one positive OKS sigma per joint in its ``dataset_meta``."""
    from mmpose.evaluation.metrics import CocoMetric

    for metric in getattr(evaluator, 'metrics', None) or []:
        if not isinstance(metric, CocoMetric):
            continue
        meta = metric.dataset_meta or {}
        sigmas = meta.get('sigmas')
        name = meta.get('dataset_name')
        fix = (f'add sigmas=[...] with {num_keypoints} OKS sigmas (a joint\'s annotation spread relative to the '
               f'object scale; COCO uses 0.025-0.107) to the dataset metainfo file (the dataset\'s '
               'metainfo=dict(from_file=...)); see docs/custom_dataset.md')
        if sigmas is None or len(sigmas) == 0:
            raise ConfigConsistencyError(
                f'{role} evaluates with {type(metric).__name__}, which needs OKS sigmas, but the dataset metainfo '
                f'{name!r} has none: {fix}')
        if len(sigmas) != num_keypoints:
            raise ConfigConsistencyError(
                f'{role} {type(metric).__name__}: the dataset metainfo {name!r} has {len(sigmas)} sigmas for '
                f'{num_keypoints} joints (model.head.num_keypoints): {fix}')
        if not all(float(v) > 0 for v in sigmas):
            raise ConfigConsistencyError(
                f'{role} {type(metric).__name__}: the sigmas of the dataset metainfo {name!r} must all be > 0, got '
                f'{list(map(float, sigmas))}')


def check_dataset_against_head(role: str, dataset: Any, head: nn.Module, explicit_order: bool = False) -> None:
    """Joints, flip pairs and joint order of ``dataset.metainfo`` and its pipeline's target codec against ``head``.

    Args:
        role: the config key of the data loader (``'train_dataloader'``...) for the messages.
        dataset: a built MMPose dataset (``metainfo``, ``pipeline``).
        head: the built head (``num_keypoints``; ``decoder`` with ``input_size`` / ``heatmap_sizes`` if any).
        explicit_order: the config sets the decoder's joint order to a list (not checked against the metainfo).

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
    check_flip_indices(where, meta, num_keypoints)
    check_keypoint_order(where, meta, head, explicit_order)

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
                f'{step} encodes num_keypoints={encoder_joints} but model.head.num_keypoints={num_keypoints}; ' +
                ONE_CODEC)
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


def check_model_data_consistency(model: nn.Module,
                                 datasets: Dict[str, Any],
                                 check_stride: bool = True,
                                 evaluators: Optional[Dict[str, Any]] = None,
                                 explicit_order: bool = False) -> None:
    """All checks of this module: each dataset against the head, the evaluators' sigmas, then the network stride.

    Args:
        model: the built (possibly wrapped) model.
        datasets: ``{'train_dataloader': dataset, ...}``, the built datasets.
        check_stride: run :func:`check_feature_stride` (one forward of the backbone).
        evaluators: ``{'val_evaluator': evaluator, ...}``, built evaluators (their ``dataset_meta`` set).
        explicit_order: the config sets the decoder's joint order to a list.
    """
    if is_model_wrapper(model):
        model = model.module
    head = getattr(model, 'head', None)
    if head is None:
        return
    for role, dataset in datasets.items():
        check_dataset_against_head(role, dataset, head, explicit_order)
    num_keypoints = getattr(head, 'num_keypoints', None)
    if num_keypoints is not None:
        for role, evaluator in (evaluators or {}).items():
            check_evaluator_sigmas(role, evaluator, num_keypoints)
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
        loops = loops_of_stage(runner, stage, self._seen)
        if not loops:
            return
        datasets = {f'{name}_dataloader': loop.dataloader.dataset for name, loop in loops}
        evaluators = {
            f'{name}_evaluator': loop.evaluator
            for name, loop in loops if getattr(loop, 'evaluator', None) is not None
        }
        check_model_data_consistency(
            runner.model,
            datasets,
            self.check_stride and not self._stride_checked,
            evaluators,
            explicit_order=config_sets_keypoint_order(getattr(runner, 'cfg', None)))
        self._stride_checked = True

    def before_train(self, runner) -> None:
        self._check(runner, 'train')

    def before_val(self, runner) -> None:
        self._check(runner, 'val')

    def before_test(self, runner) -> None:
        self._check(runner, 'test')


def config_sets_keypoint_order(cfg: Any) -> bool:
    """Whether ``cfg.model.head.decoder`` gives the joint order as a list (``decode_keypoint_order`` of the codec,
    ``keypoint_order`` of a bare ``AEDecoder``), rather than ``None`` or a metainfo."""
    try:
        decoder = cfg.model.head.decoder
    except (AttributeError, KeyError, TypeError):
        return False
    if not isinstance(decoder, dict):
        return False
    order = decoder.get('decode_keypoint_order', decoder.get('keypoint_order'))
    return isinstance(order, (list, tuple))
