"""Shared pytest setup: register MMPose and swahr_mmpose components once."""
import pytest


def pytest_configure(config):
    config.addinivalue_line('markers', 'slow: end-to-end checks excluded from the default suite')


@pytest.fixture(scope='session', autouse=True)
def _register_modules():
    from mmpose.utils import register_all_modules

    import swahr_mmpose  # noqa: F401  registers our components

    register_all_modules(init_default_scope=True)
