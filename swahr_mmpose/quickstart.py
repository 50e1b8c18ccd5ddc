"""The CPU quickstart behind ``tools/quickstart.py``: synthetic data -> train SWAHR -> COCO metrics -> error analysis
-> a grid of validation predictions next to the ground truth.

The training schedule is a fixed number of iterations (``configs/swahr_hrnet_w32_synthetic.py``), so a slower
machine reaches the same result later; MMEngine's log shows the progress and an ETA. An optional wall-clock budget
(``max_minutes``) stops training early, and the summary then says so prominently: such a run is not comparable.
"""
import json
import os
import os.path as osp
import time
from typing import Dict, List, Optional, Sequence

import cv2
import numpy as np
import torch

METRICS = ('AP', 'AP .5', 'AP .75', 'AP (M)', 'AP (L)', 'AR')
# The built-in set of the main job: still several people per image (1-4), a 3x range of person heights, occlusion,
# truncation, crowd regions and people without keypoints, but no people below 30 % of the image side (at the 128 px
# network input they were < 5 px tall on the 1/4 heatmaps; error analysis: recall 0.31 for people under 64 px) and
# less background clutter than the generator's default. See docs/synthetic_results.md.
QUICKSTART_SCENE = dict(height_range=(0.3, 0.9), people_per_image=(1, 4), clutter_count=(0, 4))
DEFAULT_CONFIG = 'configs/swahr_hrnet_w32_synthetic.py'  # the repository's, see find_config


def ensure_dataset(data_root: str,
                   num_train: int,
                   num_val: int,
                   image_size: int,
                   seed: int,
                   scene: Optional[dict] = None) -> str:
    """Generate the synthetic set in ``data_root`` unless the same one (same arguments) is already there.

    Args:
        scene: ``SceneConfig`` overrides (default :data:`QUICKSTART_SCENE`).
    """
    from swahr_mmpose.datasets.synthetic import make_synthetic_coco

    scene = dict(QUICKSTART_SCENE if scene is None else scene)
    spec = dict(
        num_train=num_train,
        num_val=num_val,
        image_size=[image_size, image_size],
        seed=seed,
        scene={k: list(v) if isinstance(v, tuple) else v
               for k, v in scene.items()})
    stamp = osp.join(data_root, 'generator_args.json')
    if osp.isfile(stamp):
        with open(stamp) as f:
            if json.load(f) == spec:
                print(f'[quickstart] reusing synthetic data in {data_root}')
                return data_root
    print(f'[quickstart] generating synthetic data in {data_root} ({spec})')
    make_synthetic_coco(
        data_root, num_train=num_train, num_val=num_val, image_size=(image_size, image_size), seed=seed, **scene)
    with open(stamp, 'w') as f:
        json.dump(spec, f)
    return data_root


def build_config(config: str,
                 data_root: str,
                 work_dir: str,
                 seed: int,
                 iters: Optional[int] = None,
                 max_minutes: Optional[float] = None,
                 device: Optional[str] = None,
                 cfg_options: Optional[dict] = None):
    """The synthetic config pointed at ``data_root`` and ``work_dir``; ``iters`` rescales its schedule (0 keeps the
    freshly initialised model); ``max_minutes`` adds the wall-clock budget hook. ``config`` is a path, or a path
    relative to the repository (``configs/...``) found in the checkout or the installed package."""
    from mmengine.config import Config

    from swahr_mmpose.utils.config_paths import find_config

    if not osp.isfile(config):
        found = find_config(config)
        if found is None:
            raise FileNotFoundError(f'config {config!r} is neither a file nor a repository config')
        config = found
    cfg = Config.fromfile(config)
    root = data_root.rstrip('/') + '/'
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        cfg[loader].dataset.data_root = root
    for evaluator in ('val_evaluator', 'test_evaluator'):
        cfg[evaluator].ann_file = root + 'annotations/person_keypoints_val.json'
        cfg[evaluator].outfile_prefix = osp.join(work_dir, 'predictions')
    if iters is not None and iters > 0 and iters != cfg.train_cfg.max_iters:
        rescale_schedule(cfg, iters)
    cfg.train_cfg.val_interval = cfg.train_cfg.max_iters + 1  # evaluated once, after training, by the quickstart
    cfg.default_hooks.checkpoint = dict(type='AtomicCheckpointHook', by_epoch=False, interval=cfg.train_cfg.max_iters)
    cfg.work_dir = work_dir
    cfg.randomness = dict(seed=seed)
    if max_minutes:
        cfg.custom_hooks = list(cfg.get('custom_hooks',
                                        [])) + [dict(type='TrainingTimeBudgetHook', max_seconds=max_minutes * 60)]
    if device:
        cfg.device = device
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    return cfg


def rescale_schedule(cfg, iters: int) -> None:
    """Stretch the iteration schedule (warm-up, decay) of ``cfg`` to ``iters`` iterations."""
    old = cfg.train_cfg.max_iters
    cfg.train_cfg.max_iters = iters
    for scheduler in cfg.param_scheduler:
        begin = int(round(scheduler.get('begin', 0) * iters / old))
        scheduler['begin'] = begin
        if 'end' in scheduler:  # every phase keeps at least one iteration
            scheduler['end'] = max(begin + 1, int(round(scheduler['end'] * iters / old)))


def draw_prediction_grid(model,
                         dataloader,
                         out_file: str,
                         num_images: int = 8,
                         columns: int = 2,
                         kpt_thr: float = 0.3) -> str:
    """One PNG: for each of the first ``num_images`` validation images, the ground truth (left) next to the
    prediction (right), drawn by MMPose's visualizer, ``columns`` pairs per row."""
    import torch
    from mmengine.structures import InstanceData

    from swahr_mmpose.visualization import NumpyCompatPoseLocalVisualizer

    visualizer = NumpyCompatPoseLocalVisualizer(name=f'quickstart_grid_{time.monotonic_ns()}', radius=2, line_width=1)
    visualizer.set_dataset_meta(dataloader.dataset.metainfo)
    tiles = []
    model.eval()
    with torch.no_grad():
        for batch in dataloader:
            for sample in model.test_step(batch):
                image = cv2.cvtColor(cv2.imread(sample.img_path), cv2.COLOR_BGR2RGB)
                gt = sample.gt_instances
                visible = np.asarray(gt.keypoints_visible)
                labelled = visible.reshape(len(visible), -1).sum(axis=1) > 0
                sample.gt_instances = InstanceData(
                    keypoints=np.asarray(gt.keypoints)[labelled], keypoints_visible=visible[labelled])
                visualizer.add_datasample(
                    'pair', image, sample, draw_gt=True, draw_pred=True, draw_bbox=False, kpt_thr=kpt_thr, show=False)
                tiles.append(visualizer.get_image())
                if len(tiles) == num_images:
                    break
            if len(tiles) == num_images:
                break
    height = max(t.shape[0] for t in tiles)
    width = max(t.shape[1] for t in tiles)
    tiles = [
        cv2.copyMakeBorder(
            t, 2, 2 + height - t.shape[0], 2, 2 + width - t.shape[1], cv2.BORDER_CONSTANT, value=(255, 255, 255))
        for t in tiles
    ]
    blank = np.full_like(tiles[0], 255)
    rows = [
        np.concatenate(tiles[i:i + columns] + [blank] * (columns - len(tiles[i:i + columns])), axis=1)
        for i in range(0, len(tiles), columns)
    ]
    grid = np.concatenate(rows, axis=0)
    os.makedirs(osp.dirname(osp.abspath(out_file)), exist_ok=True)
    cv2.imwrite(out_file, cv2.cvtColor(grid, cv2.COLOR_RGB2BGR))
    return out_file


def run_quickstart(config: str = DEFAULT_CONFIG,
                   work_dir: str = 'work_dirs/quickstart',
                   data_root: str = 'data/synthetic_coco',
                   num_train: int = 300,
                   num_val: int = 50,
                   image_size: int = 256,
                   seed: int = 0,
                   data_seed: int = 0,
                   iters: Optional[int] = None,
                   max_minutes: Optional[float] = None,
                   device: Optional[str] = None,
                   num_grid_images: int = 8,
                   error_analysis: bool = True,
                   cfg_options: Optional[dict] = None) -> Dict[str, object]:
    """Generate the data, train (``iters=0``: evaluate the untrained model), evaluate, analyse, draw; returns and
    writes ``<work_dir>/quickstart_summary.json``. ``seed`` seeds training, ``data_seed`` the built-in set (fixed at
    0 by default, so runs with other training seeds see the same data)."""
    from mmengine.runner import Runner

    import swahr_mmpose  # noqa: F401  (registers components)
    from swahr_mmpose.analysis.error_analysis import (ap_by_person_size, collect_image_maps, evaluate_error_analysis,
                                                      network_stride)

    ensure_dataset(data_root, num_train, num_val, image_size, data_seed)
    cfg = build_config(config, data_root, work_dir, seed, iters, max_minutes, device, cfg_options)
    runner = Runner.from_cfg(cfg)
    start = time.monotonic()
    if iters == 0:
        runner.model.init_weights()  # the untrained baseline: reference init only
    else:
        runner.train()
    train_minutes = (time.monotonic() - start) / 60
    budget_hooks = [h for h in runner.hooks if type(h).__name__ == 'TrainingTimeBudgetHook']
    stopped_early = bool(budget_hooks and budget_hooks[0].stopped_early)
    metrics = runner.test()

    summary: Dict[str, object] = {f'coco/{k}': float(metrics[f'coco/{k}']) for k in METRICS if f'coco/{k}' in metrics}
    summary.update(
        train_minutes=train_minutes,
        iters=int(runner.iter),
        planned_iters=int(cfg.train_cfg.max_iters),
        stopped_early=stopped_early,
        seed=seed,
        data_seed=data_seed,
        config=osp.basename(config),
        precision=training_precision(runner.optim_wrapper) if iters != 0 else 'not trained',
        decoder=describe_decoder(runner.model.head.decoder))
    result_file = osp.join(work_dir, 'predictions.keypoints.json')  # written by CocoMetric (outfile_prefix)
    if osp.isfile(result_file):
        summary['ap_by_size'] = ap_by_person_size(cfg.test_evaluator.ann_file, result_file)
    model = runner.model
    if error_analysis:
        dataloader = runner.test_dataloader
        stride = network_stride(model)
        analysis = evaluate_error_analysis(
            collect_image_maps(model, dataloader), model.head.decoder, cfg.test_evaluator, dataloader.dataset.metainfo,
            2 * stride)
        summary['error_analysis'] = dict(
            ap={v: m['AP']
                for v, m in analysis['metrics'].items()}, **analysis['detection'].summary())
    if num_grid_images:
        summary['grid'] = draw_prediction_grid(model, runner.test_dataloader,
                                               osp.join(work_dir, 'predictions_vs_ground_truth.png'), num_grid_images)
    with open(osp.join(work_dir, 'quickstart_summary.json'), 'w') as f:
        json.dump(summary, f, indent=2)
    print('\n'.join(format_summary(summary, work_dir)))
    return summary


def training_precision(optim_wrapper) -> str:
    """What the training steps ran in: ``'bfloat16 autocast'``, ``'float16 autocast'`` or ``'float32'``."""
    dtype = getattr(optim_wrapper, 'autocast_dtype', None) or getattr(optim_wrapper, 'cast_dtype', None)
    if dtype is None and type(optim_wrapper).__name__ == 'AmpOptimWrapper':
        dtype = torch.float16  # MMEngine's default autocast dtype on CUDA
    name = f'{str(dtype).replace("torch.", "")} autocast' if dtype is not None else 'float32'
    return f'{name} ({type(optim_wrapper).__name__})'


def describe_decoder(codec) -> str:
    """The decoding options that change poses: threshold and sub-pixel method (see ``AEDecoder``)."""
    decoder = getattr(codec, 'decoder', codec)
    subpixel = getattr(decoder, 'subpixel', 'quarter')
    method = f"DARK, blur {decoder.dark_kernel} px" if subpixel == 'dark' else 'reference quarter-pixel'
    return f'{type(decoder).__name__}, keypoint_thr {decoder.keypoint_thr:g}, sub-pixel: {method}'


def format_summary(summary: Dict[str, object], work_dir: str) -> List[str]:
    """The block the quickstart prints at the end."""
    lines = ['=' * 88]
    if summary.get('stopped_early'):
        lines += [
            '!' * 88,
            f"!! TRAINING WAS CUT SHORT by --max-minutes after {summary['iters']} of {summary['planned_iters']} "
            'iterations.', '!! These numbers are below a full run and not comparable with docs/synthetic_results.md.',
            '!' * 88
        ]
    lines.append(f"quickstart ({summary['config']}, seed {summary['seed']}): trained {summary['iters']} iterations in "
                 f"{summary['train_minutes']:.1f} min")
    if summary.get('precision'):
        lines.append(f"training precision: {summary['precision']}; decoder: {summary['decoder']}")
    lines.append('COCO keypoint metrics on the synthetic validation set (CocoMetric, flip test):')
    lines.append('  ' + ''.join(f'{name:>9s}' for name in METRICS))
    lines.append('  ' + ''.join(f"{summary.get(f'coco/{name}', float('nan')):9.3f}" for name in METRICS))
    if summary.get('ap_by_size'):
        lines.append('AP by person size (sqrt(area), image px): ' +
                     ', '.join(f'{name}: {ap:.3f}' for name, ap in summary['ap_by_size'].items()))
    analysis = summary.get('error_analysis')
    if analysis:
        ap = analysis['ap']
        lines.append(f"error analysis: AP {ap['model']:.3f}; with ground-truth tags {ap['oracle tags']:.3f} (grouping "
                     f"removed); with ground-truth peaks {ap['oracle heatmaps']:.3f} (detection removed); both "
                     f"{ap['both oracles']:.3f}; keypoint recall {analysis['recall']:.2f}, precision "
                     f"{analysis['precision']:.2f}")
    if summary.get('grid'):
        lines.append(f"validation images, ground truth (left) vs prediction (right): {summary['grid']}")
    lines.append(f'checkpoints, logs and predictions: {work_dir}')
    lines.append('=' * 88)
    return lines


def main(argv: Optional[Sequence[str]] = None) -> Dict[str, object]:
    """Command line of ``tools/quickstart.py``."""
    import argparse

    from mmengine.config import DictAction

    parser = argparse.ArgumentParser(description='CPU quickstart: synthetic data -> train SWAHR -> COCO metrics.')
    parser.add_argument('--config', default=DEFAULT_CONFIG)
    parser.add_argument('--work-dir', default='work_dirs/quickstart')
    parser.add_argument('--data-root', default='data/synthetic_coco')
    parser.add_argument('--num-train', type=int, default=300)
    parser.add_argument('--num-val', type=int, default=50)
    parser.add_argument('--image-size', type=int, default=256)
    parser.add_argument('--seed', type=int, default=0, help='training seed')
    parser.add_argument('--data-seed', type=int, default=0, help='seed of the built-in data set')
    parser.add_argument(
        '--iters',
        type=int,
        default=None,
        help='training iterations (default: the config\'s); 0 evaluates the untrained model')
    parser.add_argument(
        '--max-minutes',
        type=float,
        default=None,
        help='optional wall-clock training budget; a run it cuts short is flagged in the summary')
    parser.add_argument('--device', default=None, help="'cpu' or 'cuda' (default: cuda if available)")
    parser.add_argument('--num-grid-images', type=int, default=8)
    parser.add_argument('--no-error-analysis', action='store_true')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, default=None)
    args = parser.parse_args(argv)
    return run_quickstart(args.config, args.work_dir, args.data_root, args.num_train, args.num_val, args.image_size,
                          args.seed, args.data_seed, args.iters, args.max_minutes, args.device, args.num_grid_images,
                          not args.no_error_analysis, args.cfg_options)


def summarize_runs(summary_files: Sequence[str]) -> List[str]:
    """A markdown table of quickstart runs grouped by config: mean ± sample std over seeds of AP, AP (M), AP (L), AR,
    the oracle APs and AP by person size (``tools/summarize_quickstarts.py``); mean training minutes. Columns that are
    -1 (no such people) in every run are left out."""
    groups: Dict[str, List[Dict[str, object]]] = {}
    for path in summary_files:
        with open(path) as f:
            summary = json.load(f)
        groups.setdefault(str(summary['config']), []).append(summary)

    def stat(runs: List[Dict[str, object]], get) -> str:
        values = np.array([get(run) for run in runs], dtype=np.float64)
        if len(values) == 1:
            return f'{values[0]:.3f}'
        return f'{values.mean():.3f} ± {values.std(ddof=1):.3f}'

    columns = [('AP', lambda r: r['coco/AP']), ('AP .5', lambda r: r['coco/AP .5']),
               ('AP .75', lambda r: r['coco/AP .75']), ('AP (M)', lambda r: r['coco/AP (M)']),
               ('AP (L)', lambda r: r['coco/AP (L)']), ('AR', lambda r: r['coco/AR']),
               ('AP, GT tags', lambda r: r['error_analysis']['ap']['oracle tags']),
               ('AP, GT peaks', lambda r: r['error_analysis']['ap']['oracle heatmaps']),
               ('kpt recall', lambda r: r['error_analysis']['recall'])]
    runs_all = [run for group in groups.values() for run in group]
    size_bins = dict.fromkeys(name for run in runs_all for name in run.get('ap_by_size', {}))  # bins in their order
    columns += [(f'AP size {name}', lambda r, name=name: r.get('ap_by_size', {}).get(name, float('nan')))
                for name in size_bins]
    # A column that is -1 for every run (COCO's "no such people", e.g. AP (L) on the built-in set) says nothing.
    columns = [(name, get) for name, get in columns if any(get(run) != -1 for run in runs_all)]
    lines = [
        '| config | seeds | iterations | train min | ' + ' | '.join(name for name, _ in columns) + ' |',
        '|---|---|---|---|' + '---|' * len(columns)
    ]
    for config, runs in sorted(groups.items()):
        seeds = ', '.join(str(run['seed']) for run in sorted(runs, key=lambda r: r['seed']))
        iters = ', '.join(sorted({str(run['iters']) for run in runs}))
        minutes = f"{np.mean([run['train_minutes'] for run in runs]):.1f}"
        lines.append(f'| `{config}` | {seeds} | {iters} | {minutes} | ' +
                     ' | '.join(stat(runs, get) for _, get in columns) + ' |')
    return lines
