"""Inference speed of the whole bottom-up test path, and of each stage.

Usage::

    python tools/benchmark_inference.py CONFIG [--checkpoint CKPT]
        [--num-images 20] [--warmup 3] [--device auto]
        [--image-size 640 480] [--images scene|noise]
        [--baseline auto|higherhrnet|no-flip|none]

Every image goes through exactly what ``tools/test.py`` / ``mim test`` runs per
batch (batch size 1, like the reference): the config's test pipeline (minus
``LoadImage``; the images are synthetic and in memory), ``model.test_step``
(data preprocessor, backbone with the flipped pass, ``SWAHRHead.predict``:
forward, flip/level/scale aggregation, ``AEDecoder`` grouping, mapping back to
image px).

Two passes over the same images:

1. **whole pipeline**: uninstrumented, ``images/s = N / total time``;
2. **stages**: the same calls with timers wrapped around the data
   preprocessor, ``backbone.forward``, ``head.forward``, ``head.predict`` and
   ``decoder.batch_decode`` (with a device synchronisation around each on GPU,
   so the stages sum to slightly more than pass 1).

The baseline is measured in the same run, alternating image by image with the
model: by default, for a SWAHR config, the same network without the scale
branches (HigherHRNet, same weights otherwise: its heatmaps and hence its
decoding work are identical), for a HigherHRNet config the same model without
flip test.

Without ``--checkpoint`` the weights are PyTorch's default initialisation (the
ImageNet ``init_cfg`` is not downloaded): the heatmaps are then noise and most
top-k candidates pass the threshold, so the decode times are a heavy-load case
rather than typical; the number of people decoded per image is printed.
"""
import argparse
import copy
import functools
import os.path as osp
import sys
import time
import warnings
from collections import defaultdict
from typing import Callable, Dict, List, Optional, Tuple

import numpy as np
import torch
from torch import nn

REPO_ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
if REPO_ROOT not in sys.path:  # run from a checkout without `pip install -e .`
    sys.path.insert(0, REPO_ROOT)

#: Rows of the stage table, in pipeline order.
STAGES = (
    ('pipeline', 'test pipeline (resize/warp + pack), CPU'),
    ('data_preprocessor', 'data preprocessor (normalise, to device)'),
    ('backbone', 'backbone (HRNet; both flip passes)'),
    ('head_forward', 'head forward (both flip passes)'),
    ('aggregation', 'test-time aggregation (upsample, flip, resize)'),
    ('decode', 'decode (AEDecoder grouping + refine)'),
    ('other', 'other (input flip, to image px, data samples)'),
)
# Keys of the dataset metainfo that MMPose datasets copy into every sample.
SAMPLE_META_KEYS = ('dataset_name', 'upper_body_ids', 'lower_body_ids',
                    'flip_pairs', 'dataset_keypoint_weights', 'flip_indices',
                    'skeleton_links')


# ----------------------------------------------------------------- setting up
def load_config(config):
    """Config object with the plugin and MMPose registered."""
    from mmengine.config import Config
    from mmengine.utils import import_modules_from_strings
    from mmpose.utils import register_all_modules

    import swahr_mmpose  # noqa: F401

    cfg = config if isinstance(config, Config) else Config.fromfile(config)
    if cfg.get('custom_imports'):
        import_modules_from_strings(**cfg.custom_imports)
    register_all_modules(init_default_scope=True)
    return cfg


def resolve_device(name: str) -> torch.device:
    if name == 'auto':
        return torch.device('cuda' if torch.cuda.is_available() else 'cpu')
    return torch.device(name)


def build_model(model_cfg, device: torch.device,
                checkpoint: Optional[str] = None) -> nn.Module:
    """The full pose estimator (decoder included), in eval mode on ``device``."""
    from mmengine.runner import load_checkpoint
    from mmpose.registry import MODELS

    model = MODELS.build(copy.deepcopy(model_cfg))
    if checkpoint:
        load_checkpoint(model, checkpoint, map_location='cpu', strict=True)
    return model.to(device).eval()


def build_baseline(kind: str, cfg, model: nn.Module,
                   device: torch.device) -> Tuple[Optional[nn.Module], str]:
    """Baseline model sharing ``model``'s weights, and its name."""
    with_scale = cfg.model.head.get('with_scale', True)
    if kind == 'auto':
        kind = 'higherhrnet' if with_scale else 'no-flip'
    if kind == 'none':
        return None, ''
    if kind == 'higherhrnet':
        if not with_scale:
            raise ValueError('--baseline higherhrnet needs a SWAHR config '
                             '(head.with_scale=True)')
        baseline_cfg = copy.deepcopy(cfg.model)
        baseline_cfg.head.with_scale = False
        baseline = build_model(baseline_cfg, device)
        state = {
            k: v
            for k, v in model.state_dict().items()
            if not k.startswith('head.conv_scale_layers.')
        }
        baseline.load_state_dict(state, strict=True)
        return baseline, 'HigherHRNet (no scale branches)'
    if kind == 'no-flip':
        baseline = copy.deepcopy(model)
        baseline.test_cfg = dict(baseline.test_cfg, flip_test=False)
        baseline.head.test_cfg = dict(baseline.test_cfg)
        return baseline, 'same model, flip_test=False'
    raise ValueError(f'unknown baseline {kind!r}')


def build_test_pipeline(cfg) -> Callable[[dict], dict]:
    """The config's test pipeline without ``LoadImage`` (images are given)."""
    from mmcv.transforms import Compose

    dataloader = cfg.get('test_dataloader') or cfg.get('val_dataloader')
    if not dataloader or not dataloader.dataset.get('pipeline'):
        raise ValueError('the config has no test_dataloader.dataset.pipeline')
    transforms = [
        t for t in dataloader.dataset.pipeline
        if t['type'] not in ('LoadImage', 'mmpose.LoadImage')
    ]
    return Compose(transforms)


def dataset_metainfo(cfg) -> dict:
    """Per-sample metainfo (flip indices etc.) of the config's test dataset."""
    from mmpose.datasets.datasets.utils import parse_pose_metainfo
    from mmpose.registry import DATASETS

    dataset = (cfg.get('test_dataloader') or cfg.val_dataloader).dataset
    metainfo = dataset.get('metainfo') or DATASETS.get(dataset.type).METAINFO
    with warnings.catch_warnings():
        # MMPose resolves its relative metainfo paths inside the package and
        # says so on every call, as the datasets themselves do.
        warnings.filterwarnings('ignore', message='The metainfo config file')
        parsed = parse_pose_metainfo(copy.deepcopy(metainfo))
    return {k: parsed[k] for k in SAMPLE_META_KEYS if k in parsed}


def make_images(num: int, size: Tuple[int, int], source: str,
                seed: int = 0) -> List[np.ndarray]:
    """``num`` uint8 BGR (H, W, 3) images of ``size`` = (W, H).

    ``scene``: the project's synthetic people generator (figures on textured
    backgrounds); ``noise``: uniform noise.
    """
    width, height = size
    if source == 'noise':
        rng = np.random.default_rng(seed)
        return [
            rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
            for _ in range(num)
        ]
    if source == 'scene':
        from swahr_mmpose.datasets.synthetic import SceneConfig, render_scene
        scene = SceneConfig(image_size=(width, height))
        return [
            render_scene(np.random.default_rng(seed + i), scene)[0]
            for i in range(num)
        ]
    raise ValueError(f'unknown image source {source!r}')


def raw_sample(img: np.ndarray, index: int, metainfo: dict) -> dict:
    """What ``LoadImage`` + the dataset would hand to the test pipeline."""
    sample = dict(
        img=img,
        img_shape=img.shape[:2],
        ori_shape=img.shape[:2],
        id=index,
        img_id=index,
        img_path=f'synthetic_{index:06d}.jpg')
    sample.update(copy.deepcopy(metainfo))
    return sample


# -------------------------------------------------------------------- timing
def _synchronize(device: torch.device) -> None:
    if device.type == 'cuda':
        torch.cuda.synchronize(device)


class StageTimer:
    """Accumulates seconds per stage; wraps module methods while active."""

    def __init__(self, device: torch.device):
        self.device = device
        self.seconds: Dict[str, float] = defaultdict(float)
        self._restore: List[Callable[[], None]] = []

    def timed(self, name: str, fn: Callable) -> Callable:

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            _synchronize(self.device)
            start = time.perf_counter()
            out = fn(*args, **kwargs)
            _synchronize(self.device)
            self.seconds[name] += time.perf_counter() - start
            return out

        return wrapper

    def wrap(self, obj, attr: str, name: str) -> None:
        """Shadow ``obj.attr`` by a timed instance attribute."""
        had_own = attr in vars(obj)
        original = vars(obj).get(attr)
        setattr(obj, attr, self.timed(name, getattr(obj, attr)))

        def restore():
            if had_own:
                setattr(obj, attr, original)
            else:
                delattr(obj, attr)

        self._restore.append(restore)

    def instrument(self, model: nn.Module) -> None:
        self.wrap(model.data_preprocessor, 'forward', 'data_preprocessor')
        self.wrap(model.backbone, 'forward', 'backbone')
        self.wrap(model.head, 'forward', 'head_forward')
        self.wrap(model.head, 'predict', 'head_predict')
        self.wrap(model.head.decoder, 'batch_decode', 'decode')

    def restore(self) -> None:
        while self._restore:
            self._restore.pop()()


def run_one(model: nn.Module, pipeline: Callable, sample: dict,
            device: torch.device,
            timer: Optional[StageTimer] = None) -> Tuple[float, list]:
    """One image through pipeline + ``test_step``; returns (seconds, preds)."""
    from mmengine.dataset import pseudo_collate

    _synchronize(device)
    start = time.perf_counter()
    data = pseudo_collate([pipeline(copy.copy(sample))])
    if timer is not None:
        timer.seconds['pipeline'] += time.perf_counter() - start
        step_start = time.perf_counter()
    with torch.no_grad():
        preds = model.test_step(data)
    _synchronize(device)
    end = time.perf_counter()
    if timer is not None:
        timer.seconds['test_step'] += end - step_start
    return end - start, preds


def stage_seconds(raw: Dict[str, float]) -> Dict[str, float]:
    """Instrumented totals -> the disjoint stages of :data:`STAGES`."""
    predict_rest = raw['head_predict'] - raw['head_forward'] - raw['decode']
    other = (raw['test_step'] - raw['data_preprocessor'] - raw['backbone'] -
             raw['head_predict'])
    return dict(
        pipeline=raw['pipeline'],
        data_preprocessor=raw['data_preprocessor'],
        backbone=raw['backbone'],
        head_forward=raw['head_forward'],
        aggregation=max(predict_rest, 0.0),
        decode=raw['decode'],
        other=max(other, 0.0))


def benchmark(config,
              checkpoint: Optional[str] = None,
              num_images: int = 20,
              warmup: int = 3,
              device: str = 'auto',
              image_size: Tuple[int, int] = (640, 480),
              images: str = 'scene',
              baseline: str = 'auto',
              seed: int = 0) -> dict:
    """Measure; returns per model: whole-pipeline seconds, stage seconds,
    people decoded per image (see the module docstring)."""
    cfg = load_config(config)
    dev = resolve_device(device)
    torch.manual_seed(seed)
    model = build_model(cfg.model, dev, checkpoint)
    base_model, base_name = build_baseline(baseline, cfg, model, dev)
    models = {'model': model}
    if base_model is not None:
        models['baseline'] = base_model
    pipeline = build_test_pipeline(cfg)
    metainfo = dataset_metainfo(cfg)
    samples = [
        raw_sample(img, i, metainfo)
        for i, img in enumerate(
            make_images(warmup + num_images, image_size, images, seed))
    ]

    for sample in samples[:warmup]:
        for m in models.values():
            run_one(m, pipeline, sample, dev)
    measured = samples[warmup:]

    whole = {name: 0.0 for name in models}
    people = {name: 0 for name in models}
    for sample in measured:  # pass 1: uninstrumented, models interleaved
        for name, m in models.items():
            seconds, preds = run_one(m, pipeline, sample, dev)
            whole[name] += seconds
            people[name] += sum(len(p.pred_instances) for p in preds)

    timers = {name: StageTimer(dev) for name in models}
    for name, m in models.items():
        timers[name].instrument(m)
    try:
        for sample in measured:  # pass 2: stages
            for name, m in models.items():
                run_one(m, pipeline, sample, dev, timers[name])
    finally:
        for timer in timers.values():
            timer.restore()

    input_sizes = {tuple(pipeline(copy.copy(measured[0]))['data_samples']
                         .metainfo['input_size'])} if measured else set()
    if isinstance(config, str):
        config_name = config
    else:
        config_name = getattr(config, 'filename', None) or 'in-memory config'
    return dict(
        config=config_name,
        device=str(dev),
        device_name=(torch.cuda.get_device_name(dev)
                     if dev.type == 'cuda' else f'CPU, {torch.get_num_threads()}'
                     ' torch threads'),
        num_images=len(measured),
        warmup=warmup,
        image_size=tuple(image_size),
        input_size=sorted(input_sizes),
        images=images,
        weights=checkpoint or 'random (PyTorch default init)',
        flip_test=bool(model.test_cfg.get('flip_test', False)),
        multiscale_test=bool(model.test_cfg.get('multiscale_test', False)),
        baseline_name=base_name,
        whole={k: v for k, v in whole.items()},
        stages={k: stage_seconds(t.seconds) for k, t in timers.items()},
        people_per_image={
            k: v / max(len(measured), 1)
            for k, v in people.items()
        })


# ------------------------------------------------------------------- report
def format_table(result: dict) -> str:
    n = max(result['num_images'], 1)
    names = ['model'] + (['baseline'] if 'baseline' in result['whole'] else [])
    titles = {'model': osp.basename(result['config']),
              'baseline': result['baseline_name']}

    # each model's column: "ms/img img/s", at least as wide as its title
    width = {k: max(20, len(titles[k])) for k in names}

    def cells(key: str, seconds: float) -> str:
        ms = 1000 * seconds / n
        ips = n / seconds if seconds > 0 else float('inf')
        return f'{ms:10.2f} {ips:9.2f}'.rjust(width[key])

    label_w = max(len(label) for _, label in STAGES) + 2
    head = f'{"stage":<{label_w}}' + ''.join(
        f' | {titles[k]:>{width[k]}}' for k in names)
    units = f'{"ms/img":>10} {"img/s":>9}'
    sub = f'{"":<{label_w}}' + ''.join(
        f' | {units:>{width[k]}}' for k in names)
    lines = [
        f'Config: {result["config"]}   device: {result["device"]} '
        f'({result["device_name"]})',
        f'{result["num_images"]} synthetic {result["images"]} images of '
        f'{result["image_size"][0]}x{result["image_size"][1]} px '
        f'(network input {result["input_size"]} (w, h)), '
        f'{result["warmup"]} warm-up, batch 1, flip_test='
        f'{result["flip_test"]}, multiscale_test={result["multiscale_test"]}',
        f'weights: {result["weights"]}',
        '', head, sub, '-' * len(sub)
    ]
    for key, label in STAGES:
        lines.append(f'{label:<{label_w}}' + ''.join(
            f' | {cells(k, result["stages"][k][key])}' for k in names))
    lines.append('-' * len(sub))
    lines.append(f'{"sum of stages (instrumented)":<{label_w}}' + ''.join(
        f' | {cells(k, sum(result["stages"][k].values()))}' for k in names))
    lines.append(f'{"WHOLE PIPELINE (uninstrumented)":<{label_w}}' + ''.join(
        f' | {cells(k, result["whole"][k])}' for k in names))
    lines.append(f'{"people decoded per image":<{label_w}}' + ''.join(
        f' | {result["people_per_image"][k]:>{width[k]}.1f}' for k in names))
    return '\n'.join(lines)


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Images/s of the bottom-up test path and of its stages.')
    parser.add_argument('config')
    parser.add_argument('--checkpoint', help='MMPose checkpoint (optional)')
    parser.add_argument('--num-images', type=int, default=20)
    parser.add_argument('--warmup', type=int, default=3)
    parser.add_argument(
        '--device', default='auto', help="'auto' (cuda if available), "
        "'cpu', 'cuda', 'cuda:1', ...")
    parser.add_argument(
        '--image-size', type=int, nargs=2, default=(640, 480),
        metavar=('W', 'H'), help='synthetic image size (default 640 480)')
    parser.add_argument('--images', choices=('scene', 'noise'),
                        default='scene')
    parser.add_argument(
        '--baseline', choices=('auto', 'higherhrnet', 'no-flip', 'none'),
        default='auto', help='auto: higherhrnet for SWAHR configs, no-flip '
        'otherwise')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument(
        '--threads', type=int,
        help='torch CPU threads (default: torch\'s choice)')
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.num_images < 1 or args.warmup < 0:
        raise SystemExit('--num-images must be >= 1 and --warmup >= 0')
    if args.threads:
        torch.set_num_threads(args.threads)
    result = benchmark(args.config, args.checkpoint, args.num_images,
                       args.warmup, args.device, tuple(args.image_size),
                       args.images, args.baseline, args.seed)
    print(format_table(result))
    return 0


if __name__ == '__main__':
    sys.exit(main())
