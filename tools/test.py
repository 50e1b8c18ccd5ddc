"""Test a model with MMPose's own `tools/test.py` (same flags as `mim test mmpose`).

Usage: python tools/test.py CONFIG CHECKPOINT [--work-dir DIR] [--cfg-options k=v ...]
Run `python tools/test.py -h` for all options.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from swahr_mmpose.utils.mim_tools import run_mmpose_tool  # noqa: E402

if __name__ == '__main__':
    run_mmpose_tool('test.py')
