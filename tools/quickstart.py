"""CPU quickstart: synthetic data -> train SWAHR -> COCO metrics -> error analysis -> predictions drawn next to the
ground truth (see :mod:`swahr_mmpose.quickstart`).

Usage: python tools/quickstart.py [--work-dir work_dirs/quickstart] [--seed 0] [--iters N] [--max-minutes M]
           [--config configs/swahr_hrnet_w32_synthetic.py]
"""
from swahr_mmpose.quickstart import main

if __name__ == '__main__':
    main()
