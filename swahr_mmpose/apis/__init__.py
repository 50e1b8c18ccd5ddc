"""High-level entry points (as ``mmpose.apis``): the image demo behind ``tools/demo.py``."""
from .demo import DemoReport, build_demo_config, enable_multiscale_test, list_images, read_image, run_demo

__all__ = ['DemoReport', 'build_demo_config', 'enable_multiscale_test', 'list_images', 'read_image', 'run_demo']
