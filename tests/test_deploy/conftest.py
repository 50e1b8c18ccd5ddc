"""The deploy tests run with one torch thread (see ``one_torch_thread`` in tests/conftest.py)."""
import pytest


@pytest.fixture(autouse=True)
def _single_thread(one_torch_thread):
    yield
