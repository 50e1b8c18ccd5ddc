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


@pytest.fixture(scope='module')
def one_torch_thread():
    """For training in the test process: one torch thread. On the shared, oversubscribed 2-core machine two threads
    made these small runs 3-10x slower (OpenMP threads waiting on each other); results do not depend on it."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
