"""Shared pytest setup: register MMPose and swahr_mmpose components once; a tiny synthetic COCO set."""
from pathlib import Path

import pytest


def pytest_configure(config):
    config.addinivalue_line('markers', 'slow: end-to-end checks excluded from the default suite')
    config.addinivalue_line(
        'markers', 'cuda: GPU checks (tests/test_cuda; `bash tools/run_tests.sh -m cuda`), skipped '
        'with the reason without CUDA')


@pytest.fixture(scope='session', autouse=True)
def _register_modules():
    from mmpose.utils import register_all_modules

    import swahr_mmpose  # noqa: F401  registers our components

    register_all_modules(init_default_scope=True)


@pytest.fixture(scope='session')
def tiny_coco(tmp_path_factory) -> Path:
    """6 train + 3 val synthetic 128x128 images in COCO layout (crowd RLEs and no-keypoint people included)."""
    from swahr_mmpose.datasets.synthetic import make_synthetic_coco

    root = tmp_path_factory.mktemp('tiny_coco')
    make_synthetic_coco(str(root), num_train=6, num_val=3, image_size=(128, 128), seed=3)
    return root


@pytest.fixture(scope='module')
def one_torch_thread():
    """One torch thread for the tests that use it (tools, deploy, in-process training). On the shared,
    oversubscribed 2-core machine two threads made these small runs 3-10x slower (OpenMP threads waiting on each
    other); results do not depend on it."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
