"""Train a model with MMPose's own `tools/train.py` (same flags as `mim train mmpose`).

Usage: python tools/train.py CONFIG [--work-dir DIR] [--resume [CKPT]] [--allow-fresh-start] [--cfg-options k=v ...]
Run `python tools/train.py -h` for all options. `--resume` with nothing to resume is an error (MMEngine would start
from scratch) unless `--allow-fresh-start` is given.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from swahr_mmpose.utils.mim_tools import run_mmpose_tool  # noqa: E402
from swahr_mmpose.utils.resume import NothingToResumeError, check_resume_args  # noqa: E402

if __name__ == '__main__':
    try:
        argv = check_resume_args(sys.argv[1:])
    except NothingToResumeError as error:
        sys.exit(f'error: {error}')
    run_mmpose_tool('train.py', argv)
