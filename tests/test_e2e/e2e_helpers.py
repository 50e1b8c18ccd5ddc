"""Helpers for end-to-end runs: config overrides and subprocess runs."""
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import List

REPO_ROOT = Path(__file__).resolve().parents[2]


def tiny_data_overrides(data_root: Path, input_size: int = 128, batch_size: int = 2) -> str:
    """Config text that points a real model config at the tiny set and size.

    The pipelines are the real ones with a smaller input/heatmap size.
    """
    hm = [(input_size // 4, input_size // 4), (input_size // 2, input_size // 2)]
    return textwrap.dedent(f'''
        data_root = {str(data_root) + '/'!r}
        train_pipeline = [
            dict(type='LoadImage'),
            dict(type='HigherHRNetRandomAffine', input_size=({input_size}, {input_size}),
                 scale_factor=(0.75, 1.5), scale_type='short', rotate_factor=30, max_translate=40),
            dict(type='BottomupRandomHorizontalFlip', prob=0.5),
            dict(type='ScaleAdaptiveGenerateTarget', input_size=({input_size}, {input_size}),
                 heatmap_sizes={hm}, sigma=2, max_num_people=30, use_ignore_mask=True),
            dict(type='PackPoseInputs', meta_keys=('id', 'img_id', 'img_path', 'ori_shape',
                 'img_shape', 'input_size', 'flip', 'flip_direction', 'flip_indices')),
        ]
        val_pipeline = [
            dict(type='LoadImage'),
            dict(type='ReferenceBottomupResize', input_size={input_size}),
            dict(type='PackMultiScalePoseInputs', meta_keys=('id', 'img_id', 'img_path',
                 'crowd_index', 'ori_shape', 'img_shape', 'input_size', 'input_center',
                 'input_scale', 'flip', 'flip_direction', 'flip_indices', 'raw_ann_info',
                 'skeleton_links')),
        ]
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
        model = dict(backbone=dict(init_cfg=None))  # no downloads in tests
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
