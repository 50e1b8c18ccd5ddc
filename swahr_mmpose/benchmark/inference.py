"""Whole-image inference speed, PyTorch vs ONNX Runtime, with and without flip test (``tools/benchmark_inference.py``).

Per image and variant, the timed call is everything from the (H, W, 3) BGR image in memory to keypoints in image
px, batch size 1 as the reference tests:

* **PyTorch**: MMPose's ``inference_bottomup(model, img)`` on the model from MMPose's ``init_model`` (the config's
  test pipeline without file loading, ``model.test_step``: data preprocessor, backbone + head (twice with flip),
  ``SWAHRHead.predict``'s aggregation, ``AEDecoder`` grouping, mapping to image px); flip on / off through
  ``model.test_cfg['flip_test']``;
* **ONNX Runtime**: :class:`~swahr_mmpose.deploy.onnx_runtime.ONNXRuntimePoseEstimator` on the same model exported
  by :func:`~swahr_mmpose.deploy.onnx_export.export_onnx` (one export per flip setting, made at the start of the
  run and not timed): the same test resize, the graph, the same decoder and projection.

All variants see the same images, interleaved image by image (every variant runs on image i before any runs on
image i + 1), so slow drifts of a shared machine hit them alike. The ONNX Runtime poses are compared with the
PyTorch poses of the same image and flip setting (:func:`~swahr_mmpose.deploy.compare.compare_predictions`).

Without a checkpoint the weights are ``init_model``'s (no ImageNet download): the maps are noise, and the decoder
may find many people; the people count per image is printed because decoding time grows with it (it is the same
for both backends).
"""
import os.path as osp
import platform
import tempfile
import time
from typing import Dict, List, Optional, Sequence, Tuple

import torch

BACKENDS = ('pytorch', 'onnxruntime')


def resolve_device(name: str) -> str:
    """``'auto'`` -> ``'cuda'`` when available, else ``'cpu'``; anything else as given."""
    if name == 'auto':
        return 'cuda' if torch.cuda.is_available() else 'cpu'
    return name


def _synchronize(device: str) -> None:
    if device.startswith('cuda'):
        torch.cuda.synchronize()


def describe_machine(device: str) -> str:
    """The machine the numbers were measured on."""
    if device.startswith('cuda'):
        return f'{torch.cuda.get_device_name(torch.device(device))} (PyTorch {torch.__version__})'
    import os
    return (f'CPU {platform.processor() or platform.machine()}, {os.cpu_count()} logical cores, '
            f'{torch.get_num_threads()} torch threads (PyTorch {torch.__version__})')


def run_inference_benchmark(config: str,
                            checkpoint: Optional[str] = None,
                            num_images: int = 10,
                            warmup: int = 2,
                            device: str = 'auto',
                            image_size: Tuple[int, int] = (640, 480),
                            images: str = 'scene',
                            backends: Sequence[str] = BACKENDS,
                            flips: Sequence[bool] = (False, True),
                            onnx_dir: Optional[str] = None,
                            opset: int = 17,
                            ort_threads: Optional[int] = None,
                            seed: int = 0) -> Dict[str, object]:
    """Time every (backend, flip) variant on the same images (see the module docstring).

    Returns:
        dict with ``variants`` (``'<backend> flip=<bool>'`` -> ``seconds`` (per image), ``people`` (per image)),
        ``agreement`` (per flip setting, when both backends ran: images agreeing / compared, largest differences),
        and the run's settings (``machine``, ``providers``, ``input_size`` (w, h) of the network input, ...).
    """
    import swahr_mmpose  # noqa: F401
    from swahr_mmpose.deploy.compare import compare_predictions, pytorch_prediction
    from swahr_mmpose.testing.images import make_images
    from swahr_mmpose.utils.checkpoint_match import init_model_strict

    unknown = sorted(set(backends) - set(BACKENDS))
    if unknown or not backends:
        raise ValueError(f'backends must be a non-empty subset of {BACKENDS}, got {list(backends)}')
    if num_images < 1 or warmup < 0:
        raise ValueError(f'num_images must be >= 1 and warmup >= 0, got {num_images}, {warmup}')
    device = resolve_device(device)
    torch.manual_seed(seed)
    model = init_model_strict(config, checkpoint, device=device)  # a checkpoint of another model fails
    test_cfg = dict(model.test_cfg)
    variants = [(backend, bool(flip)) for flip in flips for backend in backends]

    estimators = {}
    providers: List[str] = []
    export_seconds = {}
    tmp = None
    if 'onnxruntime' in backends:
        from swahr_mmpose.deploy.onnx_export import export_onnx
        from swahr_mmpose.deploy.onnx_runtime import ONNXRuntimePoseEstimator, providers_for_device

        if onnx_dir is None:
            tmp = tempfile.TemporaryDirectory(prefix='swahr_onnx_')
            onnx_dir = tmp.name
        providers = providers_for_device(device)
        stem = osp.splitext(osp.basename(config))[0] if isinstance(config, str) else 'model'
        for flip in sorted({f for _, f in variants}):
            path = osp.join(onnx_dir, f'{stem}_flip{int(flip)}.onnx')
            info = export_onnx(config, None, path, flip_test=flip, opset=opset, model=model)
            export_seconds[flip] = info['seconds']
            estimators[flip] = ONNXRuntimePoseEstimator(path, providers=providers, num_threads=ort_threads)
        providers = list(next(iter(estimators.values())).providers)

    def run(variant, img):
        backend, flip = variant
        if backend == 'pytorch':
            model.test_cfg = dict(test_cfg, flip_test=flip)
            return pytorch_prediction(model, img)
        return estimators[flip](img)

    try:
        samples = make_images(warmup + num_images, image_size, images, seed)
        for img in samples[:warmup]:
            for variant in variants:
                run(variant, img)
        seconds = {v: 0.0 for v in variants}
        people = {v: 0 for v in variants}
        comparisons: Dict[bool, list] = {f: [] for _, f in variants}
        input_sizes = set()
        for img in samples[warmup:]:
            preds = {}
            for variant in variants:
                _synchronize(device)
                start = time.perf_counter()
                preds[variant] = pred = run(variant, img)
                _synchronize(device)
                seconds[variant] += time.perf_counter() - start
                people[variant] += len(pred)
                input_sizes.add(tuple(int(v) for v in pred.geometry['input_size']))
            for flip in comparisons:
                if ('pytorch', flip) in preds and ('onnxruntime', flip) in preds:
                    comparisons[flip].append(
                        compare_predictions(preds[('pytorch', flip)], preds[('onnxruntime', flip)]))
    finally:
        model.test_cfg = test_cfg
        if tmp is not None:
            del estimators
            tmp.cleanup()

    agreement = {}
    for flip, rows in comparisons.items():
        if rows:
            counted = [r for r in rows if r['same_count'] and r['people'][0]]
            agreement[flip] = dict(
                agreed=sum(r['agree'] for r in rows),
                images=len(rows),
                max_keypoint_diff=max((r['max_keypoint_diff'] for r in counted), default=0.0),
                max_score_diff=max((r['max_score_diff'] for r in counted), default=0.0))
    return dict(
        config=config if isinstance(config, str) else getattr(config, 'filename', None) or 'in-memory config',
        checkpoint=checkpoint or 'none (init_model weights, no ImageNet download)',
        device=device,
        machine=describe_machine(device),
        providers=providers,
        ort_threads=ort_threads or 'ONNX Runtime default (one per physical core)',
        num_images=num_images,
        warmup=warmup,
        image_size=tuple(image_size),
        images=images,
        input_size=sorted(input_sizes),
        export_seconds=export_seconds,
        variants={
            f'{b} flip={f}':
            dict(backend=b, flip=f, seconds=seconds[(b, f)] / num_images, people=people[(b, f)] / num_images)
            for b, f in variants
        },
        agreement=agreement)


def format_inference_benchmark(result: Dict[str, object]) -> str:
    """The table ``tools/benchmark_inference.py`` prints: one row per variant, ONNX Runtime's speed-up over PyTorch
    at the same flip setting, and the pose agreement of the two."""
    w, h = result['image_size']
    lines = [
        f'Config: {result["config"]}   checkpoint: {result["checkpoint"]}',
        f'Machine: {result["machine"]}; PyTorch device {result["device"]}; ONNX Runtime providers '
        f'{result["providers"] or "-"}, threads: {result["ort_threads"]}',
        f'{result["num_images"]} synthetic {result["images"]} images of {w}x{h} px (network input (w, h) '
        f'{result["input_size"]}), {result["warmup"]} warm-up, batch 1, variants interleaved image by image',
        '',
        f'{"backend":<12} {"flip":<5} {"ms/img":>9} {"img/s":>7} {"vs PyTorch":>10} {"people/img":>10}',
    ]
    variants = result['variants']
    for name, v in variants.items():
        base = variants.get(f'pytorch flip={v["flip"]}')
        speedup = f'{base["seconds"] / v["seconds"]:.2f}x' if base and v['backend'] != 'pytorch' else '-'
        lines.append(f'{v["backend"]:<12} {str(v["flip"]):<5} {1e3 * v["seconds"]:>9.1f} {1 / v["seconds"]:>7.2f} '
                     f'{speedup:>10} {v["people"]:>10.1f}')
    for flip, a in result['agreement'].items():
        lines.append(f'poses, flip={flip}: ONNX Runtime agrees with PyTorch on {a["agreed"]}/{a["images"]} images '
                     f'(same people count, keypoints within 1e-2 px, scores within 1e-4); largest differences '
                     f'{a["max_keypoint_diff"]:.1e} px, {a["max_score_diff"]:.1e}')
    return '\n'.join(lines)
