"""Train a model with MMPose's own `tools/train.py` (same flags as `mim train mmpose`).

Usage: python tools/train.py CONFIG [--work-dir DIR] [--cfg-options k=v ...]
Run `python tools/train.py -h` for all options.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from swahr_mmpose.utils.mim_tools import run_mmpose_tool  # noqa: E402

if __name__ == '__main__':
    run_mmpose_tool('train.py')
