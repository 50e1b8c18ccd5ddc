"""Helpers for end-to-end runs: config overrides and subprocess runs."""
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import List, Optional

REPO_ROOT = Path(__file__).resolve().parents[2]


def tiny_data_overrides(data_root: Path, input_size: int = 128, batch_size: int = 2) -> str:
    """Config text that points a real model config at the tiny set and a smaller input size.

    The pipelines are the config's own; only the codec's sizes change (as in configs/swahr_hrnet_w48_coco.py).
    """
    hm = [(input_size // 4, input_size // 4), (input_size // 2, input_size // 2)]
    return textwrap.dedent(f'''
        data_root = {str(data_root) + '/'!r}
        codec = dict(_base_.codec, input_size=({input_size}, {input_size}), heatmap_size={hm})
        train_pipeline = _base_.train_pipeline
        train_pipeline[1].input_size = codec['input_size']
        train_pipeline[3].encoder = codec
        val_pipeline = _base_.val_pipeline
        val_pipeline[1].input_size = codec['input_size']
        train_dataloader = dict(
            batch_size={batch_size}, num_workers=0, persistent_workers=False,
            dataset=dict(data_root=data_root, ann_file='annotations/person_keypoints_train.json',
                         data_prefix=dict(img='images/train/'), pipeline=train_pipeline))
        val_dataloader = dict(
            num_workers=0, persistent_workers=False,
            dataset=dict(data_root=data_root, ann_file='annotations/person_keypoints_val.json',
                         data_prefix=dict(img='images/val/'), pipeline=val_pipeline))
        test_dataloader = val_dataloader
        val_evaluator = dict(ann_file=data_root + 'annotations/person_keypoints_val.json')
        test_evaluator = val_evaluator
        model = dict(backbone=dict(init_cfg=None), head=dict(decoder=codec))  # no downloads in tests
        ''')


def write_config(path: Path, base: str, body: str) -> Path:
    """Write a config inheriting ``configs/<base>`` from the repo."""
    base_path = REPO_ROOT / 'configs' / base
    path.write_text(f'_base_ = [{str(base_path)!r}]\n' + body)
    return path


def run(cmd: List[str], cwd: Path, timeout: int = 600, one_thread: bool = True) -> subprocess.CompletedProcess:
    """Run ``cmd``; fail with its output tails unless it exits 0. ``one_thread=False`` keeps the caller's thread
    settings (the README's commands run that way)."""
    env = dict(os.environ)
    env['PYTHONUNBUFFERED'] = '1'
    # One torch (OpenMP) thread, as the in-process runs (conftest.one_torch_thread): on the shared, oversubscribed
    # 2-core machine two threads made a 3-iteration W48 run take 55-110 s instead of 8-12 s.
    if one_thread:
        env.setdefault('OMP_NUM_THREADS', '1')
    proc = subprocess.run(cmd, cwd=str(cwd), capture_output=True, text=True, timeout=timeout, env=env)
    assert proc.returncode == 0, (
        f'{" ".join(cmd)} failed ({proc.returncode}):\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}')
    return proc


PYTHON = sys.executable


def tiny_model_overrides(width: int = 8) -> str:
    """Config text, to follow :func:`tiny_data_overrides` (it edits the ``model`` dict written there), that swaps the
    backbone for ``swahr_mmpose.testing.tiny_hrnet(width)`` (same topology, a few thousand parameters) and gives the
    head one BasicBlock: the whole model path at a fraction of the cost."""
    from swahr_mmpose.testing import tiny_hrnet

    return textwrap.dedent(f'''
        model['backbone'] = dict(_delete_=True, **{tiny_hrnet(width)!r})
        model['head'].update(in_channels={width}, num_basic_blocks=1)
        ''')


def epoch_based_overrides(max_epochs: int) -> str:
    """Config text that turns the synthetic config's fixed-iteration schedule into MMEngine's epoch loop (tests of
    epoch checkpoints and resuming): EpochBasedTrainLoop, the default sampler, a constant LR, epoch checkpoints."""
    return textwrap.dedent(f'''
        train_cfg = dict(_delete_=True, type='EpochBasedTrainLoop', max_epochs={max_epochs}, val_interval=100)
        train_dataloader['sampler'] = dict(type='DefaultSampler', shuffle=True)
        param_scheduler = [dict(type='ConstantLR', factor=1.0, by_epoch=False)]
        default_hooks = dict(logger=dict(interval=1), checkpoint=dict(by_epoch=True, interval=1, save_best=None))
        log_processor = dict(by_epoch=True)
        ''')


def build_runner(cfg_path: Path, work_dir: Path, options: Optional[dict] = None):
    """MMEngine's Runner for a config file, in this process (as tools/train.py builds it, without a subprocess)."""
    from mmengine.config import Config
    from mmengine.runner import Runner

    cfg = Config.fromfile(str(cfg_path))
    if options:
        cfg.merge_from_dict(options)
    cfg.work_dir = str(work_dir)
    # Runners of one process need distinct names: MMEngine's visualizer (and its scalars.json) is a named global.
    cfg.experiment_name = f'{work_dir.name}_{id(cfg)}'
    if cfg.get('visualizer'):
        cfg.visualizer.name = cfg.experiment_name
    return Runner.from_cfg(cfg)


def log_text(work_dir: Path) -> str:
    """The text of MMEngine's log file of a run (``work_dir/<timestamp>/<timestamp>.log``)."""
    logs = sorted(work_dir.glob('*/*.log'))
    assert logs, f'no log under {work_dir}'
    return '\n'.join(p.read_text() for p in logs)


def train_records(work_dir: Path) -> List[dict]:
    """Per-iteration training records (losses) from MMEngine's scalars.json files of a work dir."""
    import json

    records = []
    for path in sorted(work_dir.glob('*/vis_data/scalars.json')):
        records += [json.loads(line) for line in path.read_text().splitlines()]
    return [r for r in records if 'loss' in r]
