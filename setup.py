"""Install script for swahr_mmpose, an MMPose 1.x plugin (SWAHR + HigherHRNet)."""
from pathlib import Path
from setuptools import find_packages, setup

HERE = Path(__file__).parent


def read_requirements(name: str) -> list:
    """Requirement lines of ``requirements/<name>.txt`` without comments."""
    lines = (HERE / 'requirements' / f'{name}.txt').read_text().splitlines()
    return [ln.strip() for ln in lines if ln.strip() and not ln.startswith('#')]


version_ns: dict = {}
exec((HERE / 'swahr_mmpose' / 'version.py').read_text(), version_ns)

setup(
    name='swahr_mmpose',
    version=version_ns['__version__'],
    description='SWAHR (scale- and weight-adaptive heatmap regression) and '
    'HigherHRNet bottom-up pose estimation as an MMPose 1.x plugin',
    long_description=(HERE / 'README.md').read_text(encoding='utf-8'),
    long_description_content_type='text/markdown',
    packages=find_packages(include=['swahr_mmpose', 'swahr_mmpose.*']),
    python_requires='>=3.8',
    # torch, torchvision and mmcv (with ops) are deliberately not listed: their
    # right build depends on the user's CUDA; tools/setup_env.sh installs them.
    install_requires=read_requirements('runtime'),
    # deploy: ONNX export and ONNX Runtime inference (swahr_mmpose.deploy); not needed for training
    extras_require={'tests': read_requirements('tests'), 'deploy': read_requirements('deploy')},
    license='Apache License 2.0',
    zip_safe=False,
)
