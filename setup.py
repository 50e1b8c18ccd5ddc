"""Install script for swahr_mmpose, an MMPose 1.x plugin (SWAHR + HigherHRNet)."""
import os
import shutil
from pathlib import Path
from setuptools import find_packages, setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent
# What `mim search / train / test swahr_mmpose` read from <package>/.mim, as MMPose's own setup.py ships them.
MIM_FILES = ('configs', 'tools', 'model-index.yml')


def read_requirements(name: str) -> list:
    """Requirement lines of ``requirements/<name>.txt`` without comments."""
    lines = (HERE / 'requirements' / f'{name}.txt').read_text().splitlines()
    return [ln.strip() for ln in lines if ln.strip() and not ln.startswith('#')]


def add_mim_extension(mim_dir: Path, mode: str) -> None:
    """Fill ``mim_dir`` (``<package>/.mim``) with :data:`MIM_FILES`: relative symlinks to the checkout for an
    editable install (``mode='symlink'``, so edits are seen at once), copies otherwise (``mode='copy'``; the wheel
    carries them). Replaces whatever an earlier install left there."""
    if mode not in ('symlink', 'copy'):
        raise ValueError(f'mode must be symlink or copy, got {mode!r}')
    mim_dir.mkdir(parents=True, exist_ok=True)
    for name in MIM_FILES:
        src, dst = HERE / name, mim_dir / name
        if dst.is_symlink() or dst.is_file():
            dst.unlink()
        elif dst.is_dir():
            shutil.rmtree(dst)
        if mode == 'symlink':
            dst.symlink_to(os.path.relpath(src, mim_dir))
        elif src.is_dir():
            shutil.copytree(src, dst, ignore=shutil.ignore_patterns('__pycache__', '*.pyc'))
        else:
            shutil.copyfile(src, dst)


class BuildPyWithMim(build_py):
    """``build_py`` that adds the ``.mim`` folder: into the build (copies) for wheels, into the checkout (symlinks,
    git-ignored) for ``pip install -e .``."""

    def run(self) -> None:
        super().run()
        if getattr(self, 'editable_mode', False):
            add_mim_extension(HERE / 'swahr_mmpose' / '.mim', 'symlink')
        else:
            add_mim_extension(Path(self.build_lib) / 'swahr_mmpose' / '.mim', 'copy')


version_ns: dict = {}
exec((HERE / 'swahr_mmpose' / 'version.py').read_text(), version_ns)

if __name__ == '__main__':  # a plain module for the tests (add_mim_extension); setuptools runs it as __main__
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
        extras_require={
            'tests': read_requirements('tests'),
            'deploy': read_requirements('deploy')
        },
        cmdclass={'build_py': BuildPyWithMim},
        license='Apache License 2.0',
        zip_safe=False,
    )
