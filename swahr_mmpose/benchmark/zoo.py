"""Model-zoo benchmark (``tools/benchmark_zoo.py``): every model of ``model-index.yml`` at its config's input size and
per-GPU batch, measured in one run, beside MMPose's own parts.

Per model (each column is measured in this run; a cell that could not be measured says why):

* parameters and GFLOPs (:mod:`swahr_mmpose.analysis.complexity`: MMEngine's count and the papers' convention);
* activation bytes per training sample in float32 and under autocast, without and with gradient checkpointing
  (:mod:`.memory`), and the largest batch a ``--memory-gb`` card holds; on CUDA the peak of a real step;
* one data-loader worker's samples/s on the config's ``train_pipeline`` and on MMPose's equivalent (:mod:`.pipeline`);
* train-step seconds per sample (:mod:`.train_step`): float32 and mixed precision, channels-last off and on;
* validation seconds per image split into network / aggregation / grouping, and grouping with MMPose's decoder on
  the same maps (:mod:`.validation`);
* PyTorch vs ONNX Runtime images/s (:mod:`.inference`);
* AP, only with ``--data`` and a checkpoint (MMEngine's ``Runner.test`` as ``mim test`` / ``tools/test.py``);
* data workers needed per GPU: the fastest train step's samples/s over one worker's samples/s.

Extra rows: the main job's config (``configs/swahr_hrnet_w32_synthetic.py``, on its own 256 px synthetic set, with
its training iteration split into data / forward / backward / optimizer / hooks by MMEngine's Runner) and the
multi-scale test config (validation only: it trains exactly as ``swahr_hrnet_w48_coco``).
"""
import dataclasses
import json
import math
import os
import os.path as osp
import re
import tempfile
import time
from dataclasses import asdict, dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple

import torch
import yaml
from mmengine.config import Config
from mmengine.dataset import pseudo_collate

from ..utils.precision import cpu_has_native_bf16
from .inference import describe_machine

MAIN_JOB_CONFIG = 'configs/swahr_hrnet_w32_synthetic.py'
MULTISCALE_CONFIG = 'configs/swahr_hrnet_w48_coco_multiscale-test.py'
QUICK_MODELS = ('swahr_hrnet_w32_coco', )


@dataclass
class ZooModel:
    """One row: ``kind`` is ``'zoo'`` (model-index entry), ``'main_job'`` or ``'test_only'``."""
    name: str
    config: str
    kind: str = 'zoo'


@dataclass
class BenchmarkSettings:
    """What a run measures and how often (defaults: the full run; :meth:`quick` the CI subset)."""
    device: str = 'cpu'
    memory_gb: float = 24.0
    reserve_gb: float = 1.0
    train_batch: Optional[int] = None  # None: the config's batch on CUDA, 1 on the CPU
    train_repeats: int = 1
    train_warmup: int = 1
    train_variants: Sequence[str] = ('fp32', 'fp32_cl', 'amp', 'amp_cl')
    emulated_amp: bool = False  # time mixed precision on a CPU without native bfloat16 kernels too (emulated, slow)
    train_models: Optional[str] = None  # regex of the rows that get train-step timings (None: all)
    eval_models: Optional[str] = None  # regex of the rows that get validation and deployment timings (None: all)
    mmengine_flops: bool = True
    pipeline_samples: int = 12
    synthetic_images: int = 12
    people_per_image: Tuple[int, int] = (1, 30)  # of the COCO-like images (see .zoo_data)
    val_repeats: int = 1
    val_warmup: int = 1  # also the deployment benchmark's warm-up images
    grouping_repeats: int = 3
    people: Sequence[int] = (1, 10, 30)
    deploy_images: int = 1
    iteration_split_iters: int = 5
    main_job_images: int = 48
    data_root: Optional[str] = None
    checkpoints: Dict[str, str] = field(default_factory=dict)
    seed: int = 0

    @classmethod
    def quick(cls, **overrides) -> 'BenchmarkSettings':
        base = dict(
            pipeline_samples=4,
            synthetic_images=4,
            grouping_repeats=1,
            people=(1, 30),
            iteration_split_iters=3,
            deploy_images=1,
            train_warmup=0,
            train_variants=('fp32', ),
            eval_models='main job',
            mmengine_flops=False)
        base.update(overrides)
        return cls(**base)


def read_model_index(repo_root: str, index: str = 'model-index.yml') -> List[ZooModel]:
    """Models of ``model-index.yml`` (and the metafiles it imports), in file order."""
    with open(osp.join(repo_root, index)) as f:
        top = yaml.safe_load(f)
    models = []
    for metafile in top.get('Import', []):
        with open(osp.join(repo_root, metafile)) as f:
            for entry in yaml.safe_load(f).get('Models', []):
                models.append(ZooModel(entry['Name'], entry['Config']))
    return models


def select_models(repo_root: str, pattern: Optional[str] = None, quick: bool = False) -> List[ZooModel]:
    """The rows of a run: the zoo (or the ``--quick`` subset, or the models whose name matches ``pattern``), then
    the main job's config and the multi-scale test config (unless ``pattern`` excludes them)."""
    models = read_model_index(repo_root)
    models += [
        ZooModel('swahr_hrnet_w32_synthetic (main job)', MAIN_JOB_CONFIG, 'main_job'),
        ZooModel('swahr_hrnet_w48_coco_multiscale-test', MULTISCALE_CONFIG, 'test_only')
    ]
    if quick:
        models = [m for m in models if m.name in QUICK_MODELS or m.kind == 'main_job']
    if pattern:
        regex = re.compile(pattern)
        models = [m for m in models if regex.search(m.name)]
        if not models:
            raise ValueError(f'no zoo model name matches {pattern!r}; names: '
                             f'{[m.name for m in read_model_index(repo_root)]}')
    return models


def amp_dtype_of(cfg: Config) -> str:
    """The config's mixed-precision dtype: ``optim_wrapper.dtype`` when set, else float16 (what ``--amp`` uses)."""
    return str(cfg.optim_wrapper.get('dtype', None) or 'float16')


def _why(exc: BaseException) -> str:
    return f'failed: {type(exc).__name__}: {str(exc).splitlines()[0][:160] if str(exc) else ""}'


def selected(pattern: Optional[str], name: str) -> bool:
    return pattern is None or re.search(pattern, name) is not None


def _cell(fn, *args, **kwargs):
    """Run one measurement; on failure the cell holds the reason (never a made-up number)."""
    try:
        return fn(*args, **kwargs)
    except Exception as exc:  # noqa: BLE001 - reported in the table
        return dict(error=_why(exc))


class ZooBenchmark:
    """Measures :class:`ZooModel` rows (see the module docstring)."""

    def __init__(self, repo_root: str, settings: BenchmarkSettings, log=print) -> None:
        self.repo_root, self.settings, self.log = repo_root, settings, log
        self.device = torch.device(settings.device)
        self._tmp = tempfile.TemporaryDirectory(prefix='swahr_zoo_')
        self._data: Dict[str, Dict[str, str]] = {}

    def close(self) -> None:
        self._tmp.cleanup()

    # ------------------------------------------------------------------------------------------------- data
    def coco_like_data(self) -> Dict[str, str]:
        """The 640x480 COCO-like set (written once per run)."""
        if 'coco' not in self._data:
            from .zoo_data import COCO_LIKE_SCENE, write_coco_like
            scene = dataclasses.replace(COCO_LIKE_SCENE, people_per_image=tuple(self.settings.people_per_image))
            self._data['coco'] = write_coco_like(
                osp.join(self._tmp.name, 'coco_like'), self.settings.synthetic_images, self.settings.seed, scene)
        return self._data['coco']

    def main_job_data(self) -> Dict[str, str]:
        """The main job's own kind of data: the quickstart's 256 px synthetic set (train and val)."""
        if 'main' not in self._data:
            from swahr_mmpose.datasets.synthetic import make_synthetic_coco
            paths = make_synthetic_coco(
                osp.join(self._tmp.name, 'main_job'),
                num_train=self.settings.main_job_images,
                num_val=2,
                image_size=(256, 256),
                seed=self.settings.seed)
            self._data['main'] = dict(
                data_root=paths['data_root'],
                ann_file=paths['train_ann_rel'],
                crowdpose_ann_file=paths['train_ann_rel'],
                img_prefix=paths['train_img_prefix'])
        return self._data['main']

    # ----------------------------------------------------------------------------------------------- one row
    def run_model(self, model: ZooModel) -> Dict[str, object]:
        cfg = Config.fromfile(osp.join(self.repo_root, model.config))
        w, h = (int(v) for v in cfg.codec['input_size'])
        row: Dict[str, object] = dict(
            name=model.name,
            config=model.config,
            kind=model.kind,
            input_size=[w, h],
            batch_per_gpu=int(cfg.train_dataloader.batch_size),
            amp_dtype=amp_dtype_of(cfg))
        start = time.perf_counter()
        if model.kind != 'test_only':
            data = self.main_job_data() if model.kind == 'main_job' else self.coco_like_data()
            self._train_side(cfg, data, row)
            if model.kind == 'main_job':
                self.log(f'  {model.name}: iteration split')
                row['iteration_split'] = _cell(self._iteration_split, cfg)
        if selected(self.settings.eval_models, model.name):
            self.log(f'  {model.name}: validation')
            row['validation'] = _cell(self._validation, cfg)
            if model.kind != 'test_only':
                self.log(f'  {model.name}: deployment')
                row['deployment'] = _cell(self._deployment, model.config)
        else:
            row['validation'] = row['deployment'] = f'not run: --eval-models {self.settings.eval_models!r}'
        row['ap'] = self._ap(model, cfg)
        row['workers_per_gpu'] = workers_needed(row)
        row['seconds'] = time.perf_counter() - start
        return row

    def _train_side(self, cfg: Config, data: Dict[str, str], row: Dict[str, object]) -> None:
        from swahr_mmpose.analysis.complexity import get_complexity
        from .memory import activation_bytes_per_sample, largest_batch
        from .pipeline import run_pipeline_benchmark
        from .train_step import build_train_model
        from .zoo_data import build_train_dataset

        w, h = row['input_size']
        s = self.settings
        self.log(f'  {row["name"]}: params / FLOPs')
        row['complexity'] = _cell(get_complexity, cfg, (h, w), s.mmengine_flops, 'cpu')
        self.log(f'  {row["name"]}: data pipeline ({s.pipeline_samples} samples, ours and MMPose)')
        row['pipeline'] = _cell(run_pipeline_benchmark, cfg, data, s.pipeline_samples, s.seed)

        dataset = build_train_dataset(cfg, data)
        device_batch = s.train_batch or (row['batch_per_gpu'] if self.device.type == 'cuda' else 1)
        samples = [dataset.prepare_data(i % len(dataset)) for i in range(max(device_batch, 1))]

        self.log(f'  {row["name"]}: activation memory (batch-1 forward, 4 variants)')
        # on CUDA measured under real autocast on the device, elsewhere on the meta device (see .memory)
        model = build_train_model(cfg, self.device if self.device.type == 'cuda' else torch.device('cpu'))
        one = model.data_preprocessor(pseudo_collate(samples[:1]), True)
        amp = getattr(torch, row['amp_dtype'])
        memory = {}
        for key, dtype, cp in (('fp32', None, False), ('amp', amp, False), ('fp32_cp', None, True), ('amp_cp', amp,
                                                                                                     True)):
            memory[key] = _cell(activation_bytes_per_sample, model, one, dtype, cp)
        num_params = sum(p.numel() for p in model.parameters())
        del model, one
        fits = {}
        for key, m in memory.items():
            if 'error' not in m:
                fits[key] = largest_batch(s.memory_gb, num_params, m['activations'], m['weight_copies'], s.reserve_gb)
        row['memory'] = dict(
            per_sample=memory, params=num_params, memory_gb=s.memory_gb, reserve_gb=s.reserve_gb, largest_batch=fits)
        if selected(s.train_models, row['name']):
            self.log(f'  {row["name"]}: train steps on {self.device} (batch {device_batch})')
            row['train'] = self._train_steps(cfg, samples[:device_batch], row)
        else:
            row['train'] = dict(variants={}, reason=f'not run: --train-models {s.train_models!r}')

    def _train_steps(self, cfg: Config, samples: List[dict], row: Dict[str, object]) -> Dict[str, object]:
        from .memory import cuda_peak_bytes, set_checkpointing
        from .train_step import build_train_model, time_train_step

        s = self.settings
        amp = 'bfloat16' if self.device.type == 'cpu' else row['amp_dtype']
        if self.device.type == 'cuda' and amp == 'bfloat16' and not torch.cuda.is_bf16_supported():
            amp = 'float16'
        variants = {}
        model = build_train_model(cfg, self.device)
        for key, dtype, cl in (('fp32', None, False), ('fp32_cl', None, True), ('amp', amp, False), ('amp_cl', amp,
                                                                                                     True)):
            if key not in s.train_variants:
                variants[key] = 'not run: --quick' if len(s.train_variants) == 1 else 'not run: not selected'
            elif dtype and self.device.type == 'cpu' and not (cpu_has_native_bf16() or s.emulated_amp):
                variants[key] = ('not run: this CPU has no oneDNN bfloat16 kernels (autocast emulates them: '
                                 'minutes per forward)')
            else:
                self.log(f'    {key}')
                variants[key] = _cell(time_train_step, cfg, samples, self.device, dtype, cl, s.train_repeats,
                                      s.train_warmup, model)
        result: Dict[str, object] = dict(variants=variants, amp_dtype=amp, batch=len(samples))
        if self.device.type == 'cuda':
            from .train_step import TrainStepTimer, build_optim_wrapper
            batch = pseudo_collate(samples)
            peaks = {}
            for key, dtype, cp in (('fp32', None, False), ('amp_cp', amp, True)):
                timer = TrainStepTimer(model, build_optim_wrapper(cfg, model, dtype, self.device), self.device)
                set_checkpointing(model, cp)
                timer.step(batch)  # Adam's state exists before the measured step, as from iteration 2 on
                peaks[key] = _cell(cuda_peak_bytes, lambda: timer.step(batch), self.device)
                set_checkpointing(model, False)
            result['cuda_max_memory_allocated'] = peaks
        else:
            result['cuda_max_memory_allocated'] = 'not measured: --device cpu'
        return result

    def _iteration_split(self, cfg: Config) -> Dict[str, float]:
        from .train_step import iteration_split

        return iteration_split(cfg, self.main_job_data()['data_root'], iters=self.settings.iteration_split_iters)

    def _validation(self, cfg: Config) -> Dict[str, object]:
        from mmpose.apis import init_model

        from swahr_mmpose.testing.images import make_images
        from .validation import time_grouping, time_validation

        s = self.settings
        model = init_model(cfg, None, device=str(self.device))
        img = make_images(1, (640, 480), 'scene', s.seed)[0]
        result = time_validation(model, img, self.device, s.val_repeats, s.val_warmup)
        result['grouping'] = time_grouping(result['canvas'], model.head.num_keypoints, result['tags_per_joint'],
                                           model.head.decoder, s.people, s.grouping_repeats, self.device, s.seed)
        result.update(
            flip_test=bool(model.test_cfg.get('flip_test')),
            scales=[1.0] + [float(v) for v in (cfg.val_pipeline[1].get('aug_scales') or [])]
            if model.test_cfg.get('multiscale_test') else [1.0])
        return result

    def _deployment(self, config: str) -> Dict[str, object]:
        from .inference import run_inference_benchmark

        result = run_inference_benchmark(
            osp.join(self.repo_root, config),
            num_images=self.settings.deploy_images,
            warmup=self.settings.val_warmup,
            device=self.settings.device,
            flips=(True, ),
            seed=self.settings.seed)
        v = result['variants']
        return dict(
            pytorch_s=v['pytorch flip=True']['seconds'],
            onnxruntime_s=v['onnxruntime flip=True']['seconds'],
            agreement=result['agreement'].get(True),
            providers=result['providers'],
            input_size=result['input_size'])

    def _ap(self, model: ZooModel, cfg: Config):
        s = self.settings
        checkpoint = s.checkpoints.get(model.name)
        if not s.data_root or not checkpoint:
            missing = ' and '.join(x for x, ok in (('--data', s.data_root), (f'--checkpoint {model.name}=PATH',
                                                                             checkpoint)) if not ok)
            return f'not run: needs {missing}'
        return _cell(evaluate_ap, cfg, s.data_root, checkpoint, s.device)


def evaluate_ap(cfg: Config, data_root: str, checkpoint: str, device: str) -> Dict[str, float]:
    """The config's test metrics on ``data_root`` with ``checkpoint``: MMEngine's ``Runner.test`` (what ``mim test``
    and ``tools/test.py`` run)."""
    from mmengine.runner import Runner

    cfg = cfg.copy()
    root = data_root.rstrip('/') + '/'
    cfg.test_dataloader.dataset.data_root = root
    old_root = cfg.get('data_root', '')
    ann = cfg.test_evaluator.ann_file
    cfg.test_evaluator.ann_file = root + ann[len(old_root):] if old_root and ann.startswith(old_root) else ann
    cfg.load_from = checkpoint
    cfg.work_dir = tempfile.mkdtemp(prefix='swahr_zoo_ap_')
    if device == 'cpu':
        os.environ.setdefault('CUDA_VISIBLE_DEVICES', '')
    return Runner.from_cfg(cfg).test()


def fastest_train_s(row: Dict[str, object]) -> Optional[float]:
    """Seconds per sample of the fastest measured train-step variant."""
    variants = (row.get('train') or {}).get('variants', {})
    times = [v['s_per_sample'] for v in variants.values() if isinstance(v, dict) and 's_per_sample' in v]
    return min(times) if times else None


def workers_needed(row: Dict[str, object]):
    """ceil(train samples/s of the fastest variant / one worker's samples/s), or the reason it is missing."""
    train_s = fastest_train_s(row)
    pipeline = (row.get('pipeline') or {}).get('ours')
    if train_s is None or not pipeline:
        return 'not measured: ' + ('no train step' if train_s is None else 'no pipeline timing')
    return dict(
        value=(1 / train_s) / pipeline['samples_per_s'], workers=math.ceil((1 / train_s) / pipeline['samples_per_s']))


def run_zoo_benchmark(repo_root: str,
                      models: Sequence[ZooModel],
                      settings: BenchmarkSettings,
                      log=print) -> Dict[str, object]:
    """Measure every row; returns the JSON-able result (``rows`` and the run's settings)."""
    bench = ZooBenchmark(repo_root, settings, log)
    rows = []
    start = time.perf_counter()
    try:
        for model in models:
            log(f'{model.name} ({model.config})')
            rows.append(bench.run_model(model))
    finally:
        bench.close()
    return dict(
        rows=rows,
        settings=asdict(settings),
        machine=describe_machine(settings.device),
        torch_threads=torch.get_num_threads(),
        total_seconds=time.perf_counter() - start,
        date=time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime()))


def write_json(result: Dict[str, object], path: str) -> None:
    with open(path, 'w') as f:
        json.dump(result, f, indent=1, default=str)
