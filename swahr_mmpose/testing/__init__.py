"""Inputs for tests, benchmarks and demos (as ``mmpose.testing``): synthetic decoder maps, images and tiny model
configs.
The reference oracles live in ``tests/oracles``."""
from .images import make_images
from .synthetic_ae_maps import SyntheticAEMaps, make_clean_ae_maps, make_synthetic_ae_maps
from .tiny_models import tiny_hrnet

__all__ = ['SyntheticAEMaps', 'make_clean_ae_maps', 'make_synthetic_ae_maps', 'make_images', 'tiny_hrnet']
