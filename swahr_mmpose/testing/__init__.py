"""Inputs for tests, benchmarks and demos (as ``mmpose.testing``): synthetic decoder maps and tiny model configs.
The reference oracles live in ``tests/oracles``."""
from .synthetic_ae_maps import SyntheticAEMaps, make_synthetic_ae_maps
from .tiny_models import tiny_hrnet

__all__ = ['SyntheticAEMaps', 'make_synthetic_ae_maps', 'tiny_hrnet']
