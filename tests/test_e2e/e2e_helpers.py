"""Helpers for end-to-end runs: config overrides and subprocess runs."""
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import List

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


def run(cmd: List[str], cwd: Path, timeout: int = 600) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    env['PYTHONUNBUFFERED'] = '1'
    proc = subprocess.run(cmd, cwd=str(cwd), capture_output=True, text=True, timeout=timeout,
                          env=env)
    assert proc.returncode == 0, (
        f'{" ".join(cmd)} failed ({proc.returncode}):\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}')
    return proc


PYTHON = sys.executable
