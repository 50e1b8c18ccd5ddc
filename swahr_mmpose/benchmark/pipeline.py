"""Data-loader throughput: one worker running a config's real ``train_pipeline``, step by step, beside MMPose's own
target steps in the same run.

A data-loader worker does, per sample: ``dataset.get_data_info(i)`` (a copy of the parsed annotation) and the
pipeline's transforms. Both are timed here, step by step, on the same images in the same order:

* **ours**: the config's ``train_pipeline`` as written (``ScaleAdaptiveGenerateTarget``: targets at both levels and
  the ignore masks, crowd RLEs included);
* **MMPose**: the same pipeline with ``ScaleAdaptiveGenerateTarget`` replaced by MMPose 1.3.2's equivalent,
  ``GenerateTarget(encoder=[AssociativeEmbedding per level], multilevel=True)`` + ``BottomupGetHeatmapMask``.
  MMPose's masks ignore polygon segmentations only (not crowd RLEs), its Gaussians use other rounding conventions:
  the same work, not the same output.

The augmentation is re-seeded per image (``np.random.seed(seed + i)``), so both pipelines see the same affine and
flip draws. Samples/s is per worker process; with ``W`` workers a loader delivers at most about ``W`` times that
(fewer when the workers share cores with training).
"""
import copy
import time
from collections import OrderedDict
from typing import Dict, List, Optional

import numpy as np
from mmengine.config import Config

from .zoo_data import build_train_dataset


def mmpose_target_steps(cfg: Config) -> List[dict]:
    """MMPose's own steps doing what ``ScaleAdaptiveGenerateTarget`` does for this config's codec."""
    codec = cfg.codec
    encoders = [
        dict(
            type='AssociativeEmbedding',
            input_size=tuple(codec['input_size']),
            heatmap_size=tuple(size),
            sigma=codec.get('sigma', 2),
            decode_topk=codec.get('decode_topk', 30)) for size in codec['heatmap_size']
    ]
    return [dict(type='GenerateTarget', encoder=encoders, multilevel=True), dict(type='BottomupGetHeatmapMask')]


def mmpose_equivalent_pipeline(cfg: Config) -> List[dict]:
    """The config's ``train_pipeline`` with its ``ScaleAdaptiveGenerateTarget`` step swapped for MMPose's."""
    pipeline = []
    for step in copy.deepcopy(list(cfg.train_pipeline)):
        if step['type'] == 'ScaleAdaptiveGenerateTarget':
            pipeline += mmpose_target_steps(cfg)
        else:
            pipeline.append(step)
    if len(pipeline) == len(cfg.train_pipeline):
        raise ValueError('the config\'s train_pipeline has no ScaleAdaptiveGenerateTarget step to compare with MMPose')
    return pipeline


def time_pipeline(dataset, num_samples: int, seed: int = 0, warmup: int = 1) -> Dict[str, object]:
    """Run ``dataset``'s pipeline on samples ``0..num_samples-1`` (cycling), timing each step.

    Returns:
        ``samples_per_s`` (one process), ``s_per_sample``, ``step_s`` (step name -> mean s per sample, in order;
        ``get_data_info`` first), ``people`` (mean annotated instances per sample).
    """
    transforms = dataset.pipeline.transforms
    names = ['get_data_info'] + [f'{i}:{type(t).__name__}' for i, t in enumerate(transforms)]
    totals: Dict[str, float] = OrderedDict((n, 0.0) for n in names)
    people = 0
    for i in range(warmup + num_samples):
        index = i % len(dataset)
        np.random.seed(seed + index)
        start = time.perf_counter()
        results = dataset.get_data_info(index)
        times = [time.perf_counter() - start]
        for t in transforms:
            start = time.perf_counter()
            results = t(results)
            times.append(time.perf_counter() - start)
            if results is None:
                raise RuntimeError(f'{type(t).__name__} dropped sample {index}; the benchmark data must pass')
        if i >= warmup:
            people += len(dataset.get_data_info(index).get('keypoints', []))
            for name, seconds in zip(names, times):
                totals[name] += seconds
    total = sum(totals.values())
    return dict(
        samples_per_s=num_samples / total,
        s_per_sample=total / num_samples,
        step_s=OrderedDict((n, v / num_samples) for n, v in totals.items()),
        people=people / num_samples)


def run_pipeline_benchmark(cfg: Config,
                           data: Dict[str, str],
                           num_samples: int,
                           seed: int = 0,
                           mmpose: bool = True) -> Dict[str, object]:
    """One worker's samples/s of the config's pipeline and of MMPose's equivalent (see the module docstring), one
    after the other on the same samples in one process."""
    ours_ds = build_train_dataset(cfg, data)
    result: Dict[str, object] = dict(ours=time_pipeline(ours_ds, num_samples, seed))
    if mmpose:
        theirs_ds = build_train_dataset(cfg, data, mmpose_equivalent_pipeline(cfg))
        result['mmpose'] = time_pipeline(theirs_ds, num_samples, seed)
        result['speedup_vs_mmpose'] = result['mmpose']['s_per_sample'] / result['ours']['s_per_sample']
    result['num_samples'] = num_samples
    return result


def target_step_seconds(
    timing: Dict[str, object], names=('ScaleAdaptiveGenerateTarget', 'GenerateTarget', 'BottomupGetHeatmapMask')
) -> Optional[float]:
    """s per sample of the target + mask steps of a :func:`time_pipeline` result."""
    total = sum(v for k, v in timing['step_s'].items() if k.split(':', 1)[-1] in names)
    return total or None
