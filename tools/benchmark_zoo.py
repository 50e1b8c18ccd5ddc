"""Benchmark every model of model-index.yml at its config's input size and per-GPU batch: parameters / FLOPs,
activation memory per sample (float32, mixed precision, gradient checkpointing) and the batch a card holds, one
data worker's samples/s beside MMPose's target steps, train-step s/sample, validation split into network /
aggregation / grouping beside MMPose's decoder, PyTorch vs ONNX Runtime, AP (with --data and a checkpoint) and data
workers per GPU. See swahr_mmpose/benchmark/zoo.py and docs/benchmark.md.

Usage::

    python tools/benchmark_zoo.py [--quick] [--models REGEX] [--device cpu|cuda] [--memory-gb 24]
                                  [--out-md FILE] [--out-json FILE] [--data ROOT --checkpoint NAME=PATH ...]
"""
import os

# Before torch loads OpenMP: waiting threads sleep instead of spinning (docs/cpu_threads.md); a value set by the user
# is kept.
os.environ.setdefault('OMP_WAIT_POLICY', 'PASSIVE')

import argparse  # noqa: E402
import json  # noqa: E402
import os.path as osp  # noqa: E402
import sys  # noqa: E402
from typing import List, Optional  # noqa: E402

import torch  # noqa: E402

from swahr_mmpose.benchmark.zoo import BenchmarkSettings, run_zoo_benchmark, select_models, write_json  # noqa: E402
from swahr_mmpose.benchmark.zoo_report import format_zoo_report  # noqa: E402

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument(
        '--quick',
        action='store_true',
        help='CI subset: swahr_hrnet_w32_coco and the main job config, fewer samples and repeats')
    parser.add_argument('--models', help='regular expression on the model names (model-index.yml `Name`)')
    parser.add_argument('--device', default='cpu', choices=['cpu', 'cuda'])
    parser.add_argument('--memory-gb', type=float, default=24.0, help='card size (GiB) for the largest-batch column')
    parser.add_argument(
        '--reserve-gb',
        type=float,
        default=1.0,
        help='GiB kept free for CUDA context, workspaces and fragmentation (largest-batch column)')
    parser.add_argument(
        '--train-batch',
        type=int,
        help='train-step batch (default: the config\'s on cuda, 1 on cpu; figures are per sample)')
    parser.add_argument('--train-models', help='regex: only these rows get train-step timings (CPU time)')
    parser.add_argument(
        '--emulated-amp',
        action='store_true',
        help='on a CPU without native bfloat16 kernels, time the mixed-precision train steps anyway (emulated: many '
        'times slower than float32; use with a small --models selection)')
    parser.add_argument('--eval-models', help='regex: only these rows get validation and deployment timings')
    parser.add_argument(
        '--no-mmengine-flops',
        action='store_true',
        help='skip MMEngine\'s FlopAnalyzer (a traced forward); the papers\' count stays')
    parser.add_argument('--train-warmup', type=int, help='untimed train steps per variant (default 1; --quick 0)')
    parser.add_argument('--val-warmup', type=int, help='untimed validation / deployment runs per model (default 1)')
    parser.add_argument(
        '--threads',
        type=int,
        help='torch CPU threads (default: torch default; on a CPU shared with other work, 1 is '
        'often several times faster than oversubscribed threads)')
    parser.add_argument('--data', help='data root for AP (the config\'s layout below it)')
    parser.add_argument(
        '--checkpoint',
        action='append',
        default=[],
        metavar='NAME=PATH',
        help='checkpoint of a model for AP (repeatable)')
    parser.add_argument(
        '--from-json', metavar='FILE', help='print the tables of an earlier run\'s JSON; measure nothing')
    parser.add_argument('--out-md', default='work_dirs/benchmark_zoo.md')
    parser.add_argument('--out-json', default='work_dirs/benchmark_zoo.json')
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    if args.from_json:
        with open(args.from_json) as f:
            print(format_zoo_report(json.load(f)))
        return 0
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.device == 'cuda' and not torch.cuda.is_available():
        raise SystemExit('--device cuda: no CUDA device is visible to PyTorch; use --device cpu')
    checkpoints = {}
    for item in args.checkpoint:
        name, sep, path = item.partition('=')
        if not sep:
            raise SystemExit(f'--checkpoint takes NAME=PATH, got {item!r}')
        checkpoints[name] = path
    overrides = dict(
        device=args.device,
        memory_gb=args.memory_gb,
        reserve_gb=args.reserve_gb,
        train_batch=args.train_batch,
        data_root=args.data,
        checkpoints=checkpoints)
    for key in ('train_models', 'eval_models', 'train_warmup', 'val_warmup'):
        if getattr(args, key) is not None:
            overrides[key] = getattr(args, key)
    if args.no_mmengine_flops:
        overrides['mmengine_flops'] = False
    if args.emulated_amp:
        overrides['emulated_amp'] = True
    settings = BenchmarkSettings.quick(**overrides) if args.quick else BenchmarkSettings(**overrides)
    models = select_models(REPO, args.models, args.quick)
    result = run_zoo_benchmark(REPO, models, settings, log=lambda msg: print(msg, file=sys.stderr, flush=True))
    report = format_zoo_report(result)
    print(report)
    for path, write in ((args.out_md, lambda p: open(p, 'w').write(report + '\n')), (args.out_json,
                                                                                     lambda p: write_json(result, p))):
        if osp.dirname(path):
            import os
            os.makedirs(osp.dirname(path), exist_ok=True)
        write(path)
    return 0


if __name__ == '__main__':
    sys.exit(main())
