"""model-index.yml + configs/metafile/*.yml: readable by mim, consistent.

``mim search swahr_mmpose`` only looks inside the installed package directory
(``<site-packages>/swahr_mmpose/[.mim/]model-index.yml``), so these tests use
the two functions it is built on: ``modelindex``'s ``load`` and mim's
``convert2df``.
"""
import functools
import numbers
import os.path as osp

import pytest
import yaml
from mmpose.apis import init_model

from swahr_mmpose.analysis import complexity

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
INDEX = osp.join(REPO, 'model-index.yml')

COCO_METRICS = {'AP', 'AP@0.5', 'AP@0.75', 'AP (M)', 'AP (L)'}
CROWDPOSE_METRICS = {'AP', 'AP@0.5', 'AP@0.75', 'AP (E)', 'AP (M)', 'AP (H)'}
METADATA_KEYS = {'Architecture', 'Training Data', 'Input Size', 'Parameters', 'FLOPs', 'Official-convention FLOPs'}


def _imported_files():
    with open(INDEX) as f:
        index = yaml.safe_load(f)
    return [osp.join(REPO, p) for p in index['Import']]


def _raw_models():
    models = []
    for path in _imported_files():
        with open(path) as f:
            models += yaml.safe_load(f)['Models']
    return models


MODELS = {m['Name']: m for m in _raw_models()}


@functools.lru_cache(maxsize=None)
def _model_index():
    from modelindex.load_model_index import load
    index = load(INDEX)
    index.build_models_with_collections()
    return index


def test_index_imports_exist_and_load_with_mim_tools():
    for path in _imported_files():
        assert osp.isfile(path), path
    from mim.commands.search import convert2df
    index = _model_index()
    names = [m.name for m in index.models]
    assert sorted(names) == sorted(MODELS)  # every metafile model is indexed
    assert len(names) == len(set(names)) == 5
    table = convert2df(index)
    assert table.loc['swahr_hrnet_w32_coco', 'coco/ap'] == 0.689
    assert table.loc['swahr_hrnet_w48_crowdpose', 'crowdpose/ap_(h)'] == 0.63
    assert table.loc['higherhrnet_hrnet_w32_coco', 'model'] == 'higherhrnet'


def test_collections_are_defined():
    collections = {c.name for c in _model_index().collections}
    assert {m['In Collection'] for m in MODELS.values()} <= collections


@pytest.mark.parametrize('name', sorted(MODELS))
def test_model_entry_schema(name):
    model = MODELS[name]
    assert model['Config'] == f'configs/{name}.py'
    assert osp.isfile(osp.join(REPO, model['Config'])), \
        f'{model["Config"]} (listed in the model zoo) does not exist'
    meta = model['Metadata']
    assert set(meta) == METADATA_KEYS
    for key in ('Input Size', 'Parameters', 'FLOPs', 'Official-convention FLOPs'):
        assert isinstance(meta[key], int) and meta[key] > 0, key
    (result, ) = model['Results']
    assert result['Task'] == 'Body 2D Keypoint'
    assert result['Dataset'] == meta['Training Data']
    expected = CROWDPOSE_METRICS if result['Dataset'] == 'CrowdPose' \
        else COCO_METRICS
    assert set(result['Metrics']) == expected
    for value in result['Metrics'].values():
        assert isinstance(value, numbers.Real) and 0 < value < 1
    # No converted weights are published: the entry says where the official ones are and how to convert them.
    source = model['Converted From']
    assert source['Weights'].startswith('https://') and source['Code'].startswith('https://github.com/')
    assert model['Weights'] == (f'not published yet: download the official checkpoint ({source["Weights"]}) and run '
                                f'python tools/convert_swahr_checkpoint.py SRC DST --config {model["Config"]}')


@pytest.mark.parametrize('name', sorted(MODELS))
def test_numbers_match_our_tool_on_the_config(name):
    """Parameters and the official-convention FLOPs recomputed from the
    config the entry names (the MMEngine trace is too slow for W48 here)."""
    model = MODELS[name]
    config = osp.join(REPO, model['Config'])
    if not osp.isfile(config):
        pytest.fail(f'{model["Config"]} does not exist')
    meta = model['Metadata']
    network = init_model(config, checkpoint=None, device='cpu')
    assert complexity.count_parameters(network)['total'] == meta['Parameters']
    size = meta['Input Size']
    assert complexity.official_convention_flops(network, (1, 3, size, size)) == meta['Official-convention FLOPs']
    # BN + upsampling add < 2 %, the 4x-counted transposed conv < 4 %
    assert 0.9 < meta['FLOPs'] / meta['Official-convention FLOPs'] < 1.0
