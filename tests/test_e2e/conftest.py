"""Fixtures for end-to-end runs (the tiny synthetic COCO set, ``tiny_coco``, is in tests/conftest.py)."""
import pytest


@pytest.fixture(scope='module')
def one_torch_thread():
    """For training in the test process: one torch thread. On the shared, oversubscribed 2-core machine two threads
    made these small runs 3-10x slower (OpenMP threads waiting on each other); results do not depend on it."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
