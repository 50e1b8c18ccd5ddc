"""The model zoo the OpenMMLab way: `mim search / train / test swahr_mmpose` in the environment of
tools/setup_env.sh, run as a user would (a subprocess in a folder outside the checkout).

mim (openmim 0.3.9) reads ``<distribution location>/swahr_mmpose/.mim``: setup.py fills ``.mim`` (symlinks for an
editable install, copies in a wheel) and the setup script links ``<site-packages>/swahr_mmpose`` to the checkout.
When the environment's swahr_mmpose is installed from another checkout, the subprocess tests are skipped (they
would test that checkout).
"""
import importlib.util
import json
import os.path as osp
import subprocess
import sys
from importlib import metadata
from urllib.parse import unquote, urlparse

import pytest
import yaml

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def _installed_from() -> str:
    """Project folder of the editable install, '' for a wheel install; skip if swahr_mmpose is not installed."""
    try:
        dist = metadata.distribution('swahr_mmpose')
    except metadata.PackageNotFoundError:
        pytest.skip('swahr_mmpose is not installed (run tools/setup_env.sh)')
    direct_url = json.loads(dist.read_text('direct_url.json') or '{}')
    if not direct_url.get('dir_info', {}).get('editable'):
        return ''
    return osp.realpath(unquote(urlparse(direct_url['url']).path))


@pytest.fixture(scope='module')
def mim_env():
    source = _installed_from()
    if source and source != osp.realpath(REPO):
        pytest.skip(f'the environment\'s swahr_mmpose is installed from {source}, not this checkout ({REPO}); '
                    'tools/setup_env.sh in this checkout installs it')
    return source


def mim(args, cwd, timeout=300) -> subprocess.CompletedProcess:
    proc = subprocess.run(
        [sys.executable, '-m', 'mim'] + args, cwd=str(cwd), capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, f'mim {" ".join(args)} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}'
    return proc


def metafile_models():
    with open(osp.join(REPO, 'model-index.yml')) as f:
        imports = yaml.safe_load(f)['Import']
    models = []
    for path in imports:
        with open(osp.join(REPO, path)) as f:
            models += yaml.safe_load(f)['Models']
    return models


def test_mim_search_prints_the_model_table(mim_env, tmp_path):
    out = mim(['search', 'swahr_mmpose', '--display-width', '300'], cwd=tmp_path).stdout
    for model in metafile_models():
        assert f'config id: {model["Name"]}' in out
        assert str(model['Metadata']['Parameters']) in out
        assert str(model['Metadata']['FLOPs']) in out
        metric = 'crowdpose/ap ' if model['Results'][0]['Dataset'] == 'CrowdPose' else 'coco/ap '
        assert metric in out
    assert 'not published yet: download the official checkpoint' in out


def test_installed_package_carries_its_mim_folder(mim_env, tmp_path):
    code = ('import os.path as osp; from mim.utils import get_installed_path; '
            'print(osp.join(get_installed_path("swahr_mmpose"), ".mim"))')
    proc = subprocess.run([sys.executable, '-c', code], cwd=str(tmp_path), capture_output=True, text=True)
    mim_dir = proc.stdout.strip().splitlines()[-1]
    for name in ('model-index.yml', 'configs/swahr_hrnet_w32_coco.py', 'configs/metafile/swahr_coco.yml',
                 'configs/_base_/default_runtime.py', 'tools/train.py', 'tools/test.py', 'tools/deploy/export_onnx.py'):
        assert osp.isfile(osp.join(mim_dir, name)), f'{name} missing from {mim_dir}'


def test_mim_train_and_test_from_another_folder(mim_env, tmp_path):
    """`mim train swahr_mmpose CONFIG_NAME` finds the config in the package's .mim folder; one iteration on two
    synthetic images, then `mim test` on its checkpoint (synthetic config: tiny HRNet, 128 px)."""
    from swahr_mmpose.datasets.synthetic import make_synthetic_coco

    make_synthetic_coco(str(tmp_path / 'data' / 'synthetic_coco'), num_train=2, num_val=2, image_size=(128, 128))
    options = [
        '--cfg-options', 'train_cfg.max_iters=1', 'train_dataloader.batch_size=2', 'train_dataloader.num_workers=0',
        'train_dataloader.persistent_workers=False', 'val_dataloader.num_workers=0',
        'val_dataloader.persistent_workers=False', 'test_dataloader.num_workers=0',
        'test_dataloader.persistent_workers=False', 'default_hooks.checkpoint.save_best=None'
    ]
    mim(['train', 'swahr_mmpose', 'swahr_hrnet_w32_synthetic.py', '--work-dir', 'work'] + options, cwd=tmp_path)
    checkpoint = tmp_path / 'work' / 'iter_1.pth'
    assert checkpoint.is_file()
    out = mim(
        [
            'test', 'swahr_mmpose', 'swahr_hrnet_w32_synthetic.py', '--checkpoint',
            str(checkpoint), '--work-dir', 'work_test'
        ] + options,
        cwd=tmp_path)
    assert 'coco/AP' in out.stdout + out.stderr


def _load_setup_module():
    spec = importlib.util.spec_from_file_location('swahr_setup', osp.join(REPO, 'setup.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # not __main__: defines the helpers without calling setup()
    return module


@pytest.mark.parametrize('mode', ['copy', 'symlink'])
def test_add_mim_extension(tmp_path, mode):
    setup = _load_setup_module()
    mim_dir = tmp_path / 'swahr_mmpose' / '.mim'
    (mim_dir / 'configs').mkdir(parents=True)  # left over from an earlier install: replaced
    setup.add_mim_extension(mim_dir, mode)
    for name in setup.MIM_FILES:
        assert (mim_dir / name).is_symlink() is (mode == 'symlink')
    assert (mim_dir / 'model-index.yml').read_text() == open(osp.join(REPO, 'model-index.yml')).read()
    assert (mim_dir / 'configs' / 'swahr_hrnet_w32_coco.py').is_file()
    assert (mim_dir / 'tools' / 'deploy' / 'export_onnx.py').is_file()
    if mode == 'copy':
        assert not list(mim_dir.rglob('__pycache__'))
    with pytest.raises(ValueError, match='symlink or copy'):
        setup.add_mim_extension(mim_dir, 'hardlink')
