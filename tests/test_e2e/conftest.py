"""Fixtures for end-to-end runs: a tiny synthetic COCO set."""
from pathlib import Path

import pytest


@pytest.fixture(scope='session')
def tiny_coco(tmp_path_factory) -> Path:
    """6 train + 3 val synthetic 128x128 images in COCO layout."""
    from swahr_mmpose.datasets.synthetic import make_synthetic_coco

    root = tmp_path_factory.mktemp('tiny_coco')
    make_synthetic_coco(str(root), num_train=6, num_val=3, image_size=(128, 128), seed=3)
    return root
