"""CPU quickstart: synthetic data -> train SWAHR -> COCO metrics -> drawn predictions.

Runs the whole loop on the built-in synthetic multi-person data set, with no
download: generates it (once per seed/size), trains
``configs/swahr_hrnet_w32_synthetic.py`` on the CPU within a time budget,
evaluates the final model with MMPose's ``CocoMetric`` (flip test, AE grouping)
and saves validation images with the predicted skeletons drawn by MMPose's
visualizer.

Usage: python tools/quickstart.py [--work-dir work_dirs/quickstart] [--seed 0]
           [--config configs/swahr_hrnet_w32_synthetic.py] [--max-minutes 10]
"""
import argparse
import json
import os
import sys
import time
from typing import Dict, List, Optional

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO_ROOT)

METRICS = ('AP', 'AP .5', 'AP .75', 'AP (M)', 'AP (L)', 'AR')


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--config', default=os.path.join(REPO_ROOT, 'configs', 'swahr_hrnet_w32_synthetic.py'))
    parser.add_argument('--work-dir', default=os.path.join(REPO_ROOT, 'work_dirs', 'quickstart'))
    parser.add_argument('--data-root', default=os.path.join(REPO_ROOT, 'data', 'synthetic_coco'))
    parser.add_argument('--num-train', type=int, default=300)
    parser.add_argument('--num-val', type=int, default=50)
    parser.add_argument('--image-size', type=int, default=256)
    parser.add_argument('--seed', type=int, default=0, help='data and training seed')
    parser.add_argument('--epochs', type=int, default=None,
                        help='override the config epochs; 0 evaluates the freshly initialised model')
    parser.add_argument('--max-minutes', type=float, default=10.0,
                        help='training time budget; stops early (with a warning) on slow machines')
    parser.add_argument('--num-vis', type=int, default=5, help='validation images to draw')
    parser.add_argument('--device', default=None, help="'cpu' or 'cuda' (default: cuda if available)")
    return parser.parse_args(argv)


def ensure_dataset(args: argparse.Namespace) -> str:
    """Generate the synthetic set unless the same one is already on disk."""
    from swahr_mmpose.datasets.synthetic import make_synthetic_coco

    spec = dict(num_train=args.num_train, num_val=args.num_val,
                image_size=[args.image_size, args.image_size], seed=args.seed)
    stamp = os.path.join(args.data_root, 'generator_args.json')
    if os.path.isfile(stamp):
        with open(stamp) as f:
            if json.load(f) == spec:
                print(f'[quickstart] reusing synthetic data in {args.data_root}')
                return args.data_root
    print(f'[quickstart] generating synthetic data in {args.data_root} ({spec})')
    make_synthetic_coco(args.data_root, num_train=args.num_train, num_val=args.num_val,
                        image_size=(args.image_size, args.image_size), seed=args.seed)
    with open(stamp, 'w') as f:
        json.dump(spec, f)
    return args.data_root


def build_config(args: argparse.Namespace):
    from mmengine.config import Config

    cfg = Config.fromfile(args.config)
    data_root = args.data_root.rstrip('/') + '/'
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        cfg[loader].dataset.data_root = data_root
    for evaluator in ('val_evaluator', 'test_evaluator'):
        cfg[evaluator].ann_file = data_root + 'annotations/person_keypoints_val.json'
        cfg[evaluator].outfile_prefix = os.path.join(args.work_dir, 'predictions')
    if args.epochs:
        # Stretch or shrink the schedule with the run: a scheduler that ended
        # with the configured training ends with the new one.
        old_epochs = cfg.train_cfg.max_epochs
        cfg.train_cfg.max_epochs = args.epochs
        schedulers = []
        for scheduler in cfg.param_scheduler:
            if scheduler.get('begin', 0) >= args.epochs:
                continue  # starts after the shortened run ends
            end = scheduler.get('end')
            if end is not None and (end >= old_epochs or end > args.epochs):
                scheduler['end'] = args.epochs
            schedulers.append(scheduler)
        cfg.param_scheduler = schedulers
    # Evaluate once, after training, with drawn predictions (see main()).
    cfg.train_cfg.val_interval = cfg.train_cfg.max_epochs + 1
    cfg.work_dir = args.work_dir
    cfg.randomness = dict(seed=args.seed)
    cfg.custom_hooks = list(cfg.get('custom_hooks', [])) + [
        dict(type='TrainingTimeBudgetHook', max_seconds=args.max_minutes * 60)
    ]
    num_val = max(1, args.num_val)
    cfg.default_hooks.visualization = dict(
        type='PoseVisualizationHook', enable=True, kpt_thr=0.3, out_dir='vis',
        interval=max(1, num_val // max(1, args.num_vis)))
    if args.device:
        cfg.device = args.device
    return cfg


def main(argv: Optional[List[str]] = None) -> Dict[str, float]:
    args = parse_args(argv)
    from mmengine.runner import Runner

    import swahr_mmpose  # noqa: F401  (registers components)

    ensure_dataset(args)
    cfg = build_config(args)
    runner = Runner.from_cfg(cfg)

    start = time.monotonic()
    if args.epochs == 0:
        runner.model.init_weights()  # the untrained baseline: reference init only
    else:
        runner.train()
    train_minutes = (time.monotonic() - start) / 60
    metrics = runner.test()

    vis_dirs = [os.path.join(root) for root, _, files in os.walk(args.work_dir)
                if os.path.basename(root) == 'vis' and files]
    print('\n' + '=' * 72)
    print(f'quickstart ({os.path.basename(args.config)}), seed {args.seed}: '
          f'trained {runner.epoch} epochs / {runner.iter} iterations in {train_minutes:.1f} min')
    print('COCO keypoint metrics on the synthetic validation set (CocoMetric):')
    for name in METRICS:
        value = metrics.get(f'coco/{name}')
        print(f'  {name:8s} {value:.3f}' if value is not None else f'  {name:8s} n/a')
    print(f'checkpoints and logs: {args.work_dir}')
    for vis in vis_dirs:
        print(f'validation images with predicted skeletons: {vis}')
    print('=' * 72)
    summary = {f'coco/{k}': float(metrics[f'coco/{k}']) for k in METRICS if f'coco/{k}' in metrics}
    summary.update(train_minutes=train_minutes, epochs=runner.epoch, iters=runner.iter)
    with open(os.path.join(args.work_dir, 'quickstart_summary.json'), 'w') as f:
        json.dump(summary, f, indent=2)
    return summary


if __name__ == '__main__':
    main()
