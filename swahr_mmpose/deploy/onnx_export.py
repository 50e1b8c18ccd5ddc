"""ONNX export of a SWAHR / HigherHRNet pose estimator (the logic of ``tools/deploy/export_onnx.py``).

The exported graph (``outputs='aggregated'``, the default) is everything of ``model.test_step`` between the test
resize and the grouping, so that a runtime only resizes the image, runs the graph and decodes:

* input ``image``: (B, 3, H, W) float32, **BGR, 0..255**, the canvas ``ReferenceBottomupResize`` produces (short
  side = the config's input size, long side rounded up to a multiple of 64); H and W (and B) are dynamic;
* the data preprocessor's normalisation (BGR -> RGB, ``(x - mean) / std``);
* backbone + ``SWAHRHead.forward``, and with ``flip_test`` a second pass on the horizontally flipped image;
* ``SWAHRHead.predict``'s aggregation, traced from the head's own ``aggregate_passes``: per pass the two levels'
  heatmaps averaged at level 1's size (1/2 input res) and the level-0 tags resized to it, the flipped pass flipped
  back with its joints swapped by ``flip_indices``; both passes resized (bilinear) to the input canvas, heatmaps
  averaged, tags concatenated;
* outputs ``heatmaps`` (B, K, H, W) and ``tags`` (B, L*K, H, W) (L = 2 with flip, else 1), on the input canvas
  (input px), exactly what ``SWAHRHead.predict`` hands to ``decoder.batch_decode``.

``outputs='raw'`` exports ``model._forward`` instead (normalised input, the head's tuple ``heatmaps_0, heatmaps_1,
tags[, scales_0, scales_1]`` at 1/4 and 1/2 input res) for runtimes with their own post-processing;
:class:`~swahr_mmpose.deploy.onnx_runtime.ONNXRuntimePoseEstimator` needs ``'aggregated'``.

What the runtime needs besides the graph (test resize parameters, the codec config, flip setting, dataset
keypoint meta) is stored as JSON in the model's ``metadata_props`` under :data:`METADATA_KEY`, so an ``.onnx`` file
is self-contained.

Multi-scale test is not exported (every scale is one more network run on another canvas): export single-scale.
"""
import copy
import json
import os
import os.path as osp
import time
from typing import Any, Dict, List, Optional, Sequence, Tuple

import torch
from torch import Tensor, nn

#: ``metadata_props`` key of the JSON the runtime reads.
METADATA_KEY = 'swahr_mmpose'
#: Version of that JSON's layout.
METADATA_VERSION = 1
DEFAULT_OPSET = 17
OUTPUT_MODES = ('aggregated', 'raw')
#: Dataset meta entries copied into the ONNX metadata (what decoding, drawing and JSON output need).
DATASET_META_KEYS = ('dataset_name', 'num_keypoints', 'keypoint_id2name', 'flip_indices', 'skeleton_links')


class AggregatedPoseNetwork(nn.Module):
    """Normalisation + network (+ flipped pass) + ``SWAHRHead.predict``'s aggregation, as one traceable module.

    Args:
        model: a ``BottomupPoseEstimator`` (or subclass) with a ``SWAHRHead``, in eval mode.
        flip_test: add the flipped pass (``flip_indices`` required).
        flip_indices: (K,) symmetric joint of each joint (the dataset's ``flip_indices``).
        align_corners: ``test_cfg.align_corners`` (bilinear resizes).
        flip_shift: ``test_cfg.flip_shift`` (level-1 px shift of the flipped pass; 0 in the reference).
        normalize: apply the data preprocessor's channel conversion and ``(x - mean) / std`` in the graph; the
            input is then the raw BGR 0..255 canvas.
    """

    def __init__(self,
                 model: nn.Module,
                 flip_test: bool = False,
                 flip_indices: Optional[Sequence[int]] = None,
                 align_corners: bool = False,
                 normalize: bool = True,
                 flip_shift: float = 0.0) -> None:
        super().__init__()
        head = model.head
        if not hasattr(head, 'split_outputs'):
            raise TypeError(f'AggregatedPoseNetwork needs a SWAHRHead (with split_outputs), got '
                            f'{type(head).__name__}; export it with outputs="raw"')
        num_keypoints = head.num_keypoints
        if flip_test:
            if flip_indices is None or len(flip_indices) != num_keypoints:
                raise ValueError(f'flip_test needs flip_indices with {num_keypoints} entries (the dataset meta\'s '
                                 f'flip_indices), got {flip_indices!r}')
        self.flip_indices = list(flip_indices) if flip_test else None
        self.model = model
        self.flip_test = flip_test
        self.align_corners = align_corners
        self.flip_shift = float(flip_shift)
        self.normalizer = InputNormalizer.from_data_preprocessor(model.data_preprocessor) if normalize else None

    def forward(self, image: Tensor) -> Tuple[Tensor, Tensor]:
        """(B, 3, H, W) canvas (BGR 0..255 with ``normalize``) -> heatmaps (B, K, H, W), tags (B, L*K, H, W)."""
        inputs = self.normalizer(image) if self.normalizer is not None else image
        passes = [self.model.extract_feat(inputs)]
        if self.flip_test:
            passes.append(self.model.extract_feat(inputs.flip(-1)))
        canvas = (image.shape[-1], image.shape[-2])
        return self.model.head.aggregate_passes(passes, canvas, self.flip_indices, self.align_corners, self.flip_shift)


class RawPoseNetwork(nn.Module):
    """Normalisation + ``model._forward``: the head's tuple at 1/4 and 1/2 input res."""

    def __init__(self, model: nn.Module, normalize: bool = True) -> None:
        super().__init__()
        self.model = model
        self.normalizer = InputNormalizer.from_data_preprocessor(model.data_preprocessor) if normalize else None

    def forward(self, image: Tensor) -> Tuple[Tensor, ...]:
        inputs = self.normalizer(image) if self.normalizer is not None else image
        return tuple(self.model._forward(inputs))


class InputNormalizer(nn.Module):
    """The data preprocessor's per-image arithmetic: optional BGR <-> RGB swap, then ``(x - mean) / std``.

    Same operations in the same order as MMEngine's ``ImgDataPreprocessor`` (so the normalised input is
    bit-identical); padding (``pad_size_divisor > 1``) is not part of it and is rejected.
    """

    def __init__(self, mean: Optional[Tensor], std: Optional[Tensor], swap_channels: bool) -> None:
        super().__init__()
        self.swap_channels = swap_channels
        self.normalize = mean is not None
        if self.normalize:
            self.register_buffer('mean', mean.detach().clone().float().view(-1, 1, 1), False)
            self.register_buffer('std', std.detach().clone().float().view(-1, 1, 1), False)

    @classmethod
    def from_data_preprocessor(cls, preprocessor: nn.Module) -> 'InputNormalizer':
        divisor = getattr(preprocessor, 'pad_size_divisor', 1)
        if divisor != 1:
            raise ValueError(f'export: the data preprocessor pads to multiples of {divisor}; the exported graph does '
                             'not pad. Set data_preprocessor.pad_size_divisor=1 (the test resize already gives '
                             'multiples of 64).')
        enabled = getattr(preprocessor, '_enable_normalize', False)
        return cls(preprocessor.mean if enabled else None, preprocessor.std if enabled else None,
                   bool(getattr(preprocessor, '_channel_conversion', False)))

    def forward(self, image: Tensor) -> Tensor:
        if self.swap_channels:
            image = image[:, [2, 1, 0], ...]
        image = image.float()
        if self.normalize:
            image = (image - self.mean) / self.std
        return image


# ------------------------------------------------------------------------------------------------------ metadata
def reference_resize_kwargs(cfg) -> Dict[str, Any]:
    """Keyword arguments of the config's test ``ReferenceBottomupResize`` (what the runtime resizes with).

    Raises:
        ValueError: the test pipeline has no (single-scale) ``ReferenceBottomupResize``.
    """
    dataloader = cfg.get('test_dataloader') or cfg.get('val_dataloader')
    pipeline = dataloader.dataset.pipeline if dataloader else []
    resizes = [t for t in pipeline if t['type'] in ('ReferenceBottomupResize', 'swahr_mmpose.ReferenceBottomupResize')]
    if len(resizes) != 1:
        types = [t['type'] for t in pipeline]
        raise ValueError('export: the runtime reproduces the test resize, so the config\'s test pipeline must hold '
                         f'exactly one ReferenceBottomupResize; found {len(resizes)} in {types}')
    params = {k: v for k, v in resizes[0].items() if k != 'type'}
    if params.get('aug_scales'):
        raise ValueError(f'export: multi-scale test (aug_scales={params["aug_scales"]}) is not exported; use the '
                         'single-scale config (drop aug_scales)')
    params.pop('aug_scales', None)
    input_size = params['input_size']
    params['input_size'] = int(input_size if isinstance(input_size, int) else input_size[0])
    return params


def _jsonable(value: Any) -> Any:
    """Config values (ConfigDict, tuples, NumPy scalars/arrays) as plain JSON types."""
    if hasattr(value, 'tolist'):
        return value.tolist()
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value


def build_metadata(cfg, model: nn.Module, flip_test: bool, outputs: str, opset: int) -> Dict[str, Any]:
    """The JSON the runtime reads (see the module docstring)."""
    from swahr_mmpose import __version__

    decoder_cfg = cfg.model.head.get('decoder')
    if decoder_cfg is None:
        raise ValueError('export: model.head.decoder (the codec) is missing from the config; the runtime decodes '
                         'with it')
    dataset_meta = model.dataset_meta or {}
    codec = _jsonable(decoder_cfg)
    grouping = getattr(model.head, 'decoder', None)
    grouping = getattr(grouping, 'decoder', grouping)  # the codec's AEDecoder, or a bare AEDecoder
    order = getattr(grouping, 'keypoint_order', None)
    if order is not None:  # the resolved order: a metainfo file named in the config does not travel with the .onnx
        codec['keypoint_order' if codec.get('type') == 'AEDecoder' else 'decode_keypoint_order'] = list(order)
    return dict(
        format_version=METADATA_VERSION,
        swahr_mmpose_version=__version__,
        outputs=outputs,
        flip_test=flip_test,
        align_corners=bool(model.test_cfg.get('align_corners', False)),
        flip_shift=float(model.test_cfg.get('flip_shift', 0.0)),
        input='image: (B, 3, H, W) float32 BGR 0..255 canvas of ReferenceBottomupResize',
        test_resize=_jsonable(reference_resize_kwargs(cfg)),
        codec=codec,
        dataset_meta=_jsonable({k: dataset_meta[k]
                                for k in DATASET_META_KEYS if k in dataset_meta}),
        opset=opset)


# -------------------------------------------------------------------------------------------------------- export
def export_onnx(config,
                checkpoint: Optional[str],
                out: str,
                flip_test: bool = False,
                opset: int = DEFAULT_OPSET,
                outputs: str = 'aggregated',
                example_size: Optional[Tuple[int, int]] = None,
                device: str = 'cpu',
                cfg_options: Optional[dict] = None,
                model: Optional[nn.Module] = None) -> Dict[str, Any]:
    """Export ``config`` (+ ``checkpoint``) to ``out`` and check it with ``onnx.checker``.

    Args:
        config: config file or ``Config``.
        checkpoint: MMPose checkpoint; ``None`` keeps the initial weights (tests only).
        out: output ``.onnx`` path (folders are created).
        flip_test: put the flipped pass into the graph (the configs test with it; it doubles the network cost).
        opset: ONNX opset (>= 11 for the Resize the bilinear upsampling needs).
        outputs: ``'aggregated'`` (decoder-ready maps on the input canvas) or ``'raw'`` (the head's tuple).
        example_size: (h, w) of the tracing input; default (I, I + 64) for the config's input size I (any
            size works: H and W are dynamic axes).
        device: where to build and trace the model.
        cfg_options: config overrides (as ``--cfg-options``).
        model: an already built estimator for ``config`` (skips ``init_model``; ``checkpoint`` is then ignored).

    Returns:
        dict with ``out``, ``metadata`` (the stored JSON), ``input_names``, ``output_names``, ``seconds``.
    """
    if outputs not in OUTPUT_MODES:
        raise ValueError(f'outputs must be one of {OUTPUT_MODES}, got {outputs!r}')
    if opset < 11:
        raise ValueError(f'opset {opset} is too old: bilinear Resize with half-pixel centres needs opset >= 11')
    import onnx
    from mmengine.config import Config

    import swahr_mmpose  # noqa: F401  (registers our modules)
    from swahr_mmpose.utils.checkpoint_match import init_model_strict

    cfg = config if isinstance(config, Config) else Config.fromfile(config)
    if cfg_options:
        cfg = copy.deepcopy(cfg)
        cfg.merge_from_dict(cfg_options)
    if model is None:
        model = init_model_strict(cfg, checkpoint, device=device)
    model.eval()
    test_cfg = model.test_cfg or {}
    if test_cfg.get('multiscale_test', False):
        raise ValueError('export: model.test_cfg.multiscale_test=True is not exported; use a single-scale config')
    metadata = build_metadata(cfg, model, flip_test, outputs, opset)

    if outputs == 'aggregated':
        flip_indices = metadata['dataset_meta'].get('flip_indices') if flip_test else None
        network = AggregatedPoseNetwork(
            model, flip_test, flip_indices, metadata['align_corners'], flip_shift=metadata['flip_shift'])
        output_names = ['heatmaps', 'tags']
    else:
        network = RawPoseNetwork(model)
        with_scale = getattr(model.head, 'with_scale', False)
        output_names = ['heatmaps_0', 'heatmaps_1', 'tags'] + (['scales_0', 'scales_1'] if with_scale else [])
    dev = next(model.parameters()).device
    network.to(dev).eval()
    side = metadata['test_resize']['input_size']
    height, width = example_size or (side, side + 64)
    example = torch.randint(0, 256, (1, 3, height, width), generator=torch.Generator().manual_seed(0)).float().to(dev)
    dynamic_axes = {'image': {0: 'batch', 2: 'height', 3: 'width'}}
    for name in output_names:
        dynamic_axes[name] = {0: 'batch', 2: f'{name}_height', 3: f'{name}_width'}

    os.makedirs(osp.dirname(osp.abspath(out)), exist_ok=True)
    start = time.perf_counter()
    with torch.no_grad():
        # The TorchScript-based exporter (dynamo=False) keeps H and W symbolic through the size-based resizes.
        torch.onnx.export(
            network, (example, ),
            out,
            input_names=['image'],
            output_names=output_names,
            dynamic_axes=dynamic_axes,
            opset_version=opset,
            do_constant_folding=True,
            dynamo=False)
    onnx_model = onnx.load(out)
    entry = onnx_model.metadata_props.add()
    entry.key, entry.value = METADATA_KEY, json.dumps(metadata)
    onnx_model.producer_name = 'swahr_mmpose'
    onnx.checker.check_model(onnx_model, full_check=True)
    onnx.save(onnx_model, out)
    return dict(
        out=out,
        metadata=metadata,
        input_names=['image'],
        output_names=output_names,
        seconds=time.perf_counter() - start)


def read_metadata(path_or_model) -> Dict[str, Any]:
    """The :data:`METADATA_KEY` JSON of an exported model (a path or an ``onnx.ModelProto``)."""
    import onnx

    model = onnx.load(path_or_model, load_external_data=False) if isinstance(path_or_model, str) else path_or_model
    for prop in model.metadata_props:
        if prop.key == METADATA_KEY:
            return json.loads(prop.value)
    raise ValueError(f'{path_or_model if isinstance(path_or_model, str) else "the model"} has no {METADATA_KEY!r} '
                     'metadata; export it with tools/deploy/export_onnx.py')


def format_export_report(info: Dict[str, Any]) -> List[str]:
    """Lines ``tools/deploy/export_onnx.py`` prints."""
    meta = info['metadata']
    size = osp.getsize(info['out']) / 2**20
    return [
        f'wrote {info["out"]} ({size:.1f} MiB, opset {meta["opset"]}, {info["seconds"]:.1f} s), onnx.checker: OK',
        f'input  image: (B, 3, H, W) float32 BGR 0..255, the ReferenceBottomupResize canvas '
        f'(input size {meta["test_resize"]["input_size"]}, long side a multiple of '
        f'{meta["test_resize"].get("size_divisor", 64)}); B, H, W dynamic',
        f'outputs {", ".join(info["output_names"])} ({meta["outputs"]}; flip test in graph: {meta["flip_test"]})',
    ]
