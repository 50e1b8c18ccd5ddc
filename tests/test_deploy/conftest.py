"""Shared fixtures for the tools' tests."""
import pytest
import torch


@pytest.fixture(autouse=True)
def _one_torch_thread():
    """The shared 2-core test machine is oversubscribed; one torch thread
    keeps these (untimed) checks from stalling in thread contention."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
