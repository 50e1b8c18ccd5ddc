"""A checkpoint of another model fails to load everywhere one is loaded (tools/test.py and load_from through the
runner, export, benchmark, demo), naming the first mismatches and the model it seems to be from; ``load_partial``
loads what fits with a one-line summary. Tiny HRNets of width 8 (the config) and 16 (the "wrong" checkpoint)."""
import importlib.util
import re
from types import SimpleNamespace

import pytest
import torch

from swahr_mmpose.utils.checkpoint_match import CheckpointMismatchError, init_model_strict, load_checkpoint_strict
from e2e_helpers import REPO_ROOT, build_runner, log_text, tiny_data_overrides, tiny_model_overrides, write_config

pytestmark = pytest.mark.usefixtures('one_torch_thread')


@pytest.fixture(autouse=True)
def _cheap_config_text(monkeypatch):
    """The runner dumps ``cfg.pretty_text`` (yapf: ~2 s a runner here); not under test."""
    from mmengine.config import Config

    monkeypatch.setattr(Config, 'pretty_text', property(lambda self: self.text))


def _load_tool(path):
    spec = importlib.util.spec_from_file_location(f'tool_{path.stem}', str(path))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope='module')
def files(one_torch_thread, tiny_coco, tmp_path_factory):
    from mmpose.apis import init_model

    tmp = tmp_path_factory.mktemp('strict')
    configs = {
        w: write_config(tmp / f'tiny_w{w}.py', 'swahr_hrnet_w32_synthetic.py',
                        tiny_data_overrides(tiny_coco, input_size=64) + tiny_model_overrides(w))
        for w in (8, 16)
    }
    states = {w: init_model(str(configs[w]), None, device='cpu').state_dict() for w in (8, 16)}
    wide = tmp / 'w16.pth'
    torch.save(dict(state_dict=states[16], meta=dict(experiment_name='tiny_w16_20261201_101010')), wide)
    no_keys = tmp / 'no_keys.pth'
    torch.save(dict(state_dict={f'net.{k}': v for k, v in states[8].items()}), no_keys)
    partial = dict(states[8])
    dropped = 'head.final_layers.1.weight'
    del partial[dropped]
    partial['head.extra.weight'] = torch.zeros(3)
    partial_path = tmp / 'partial.pth'
    torch.save(dict(state_dict=partial), partial_path)
    return SimpleNamespace(
        tmp=tmp,
        cfg=configs[8],
        wide=wide,
        no_keys=no_keys,
        partial=partial_path,
        dropped=dropped,
        total=len(states[8]))


def test_a_checkpoint_of_another_width_names_the_mismatch_and_its_model(files):
    with pytest.raises(CheckpointMismatchError) as info:
        init_model_strict(str(files.cfg), str(files.wide), device='cpu')
    message = str(info.value)
    assert message.startswith(f'{files.wide} does not match the model: 85 of 274 model tensors fit; 189 of another '
                              'shape (e.g. backbone.transition1.0.0.weight: checkpoint [16, 64, 3, 3], model '
                              '[8, 64, 3, 3]).')
    assert re.search(r'\d+ of another shape: backbone\.\S+ \(checkpoint \[16, ', message), message
    assert "The checkpoint: saved by the run 'tiny_w16_20261201_101010'; an HRNet-W16 backbone (the model is " \
           'HRNet-W8)' in message
    assert 'load_partial=True' in message


def test_tools_test_fails_on_a_checkpoint_of_another_model(files, tmp_path):
    """tools/test.py CONFIG CHECKPOINT sets load_from and runs Runner.test(); MMEngine warned and reported an AP."""
    runner = build_runner(files.cfg, tmp_path / 'test', {'load_from': str(files.wide)})
    with pytest.raises(CheckpointMismatchError, match='HRNet-W16 backbone'):
        runner.test()


def test_load_from_is_strict_unless_load_partial(files, tmp_path):
    with pytest.raises(CheckpointMismatchError, match=f'1 missing from the checkpoint: {files.dropped}'):
        build_runner(files.cfg, tmp_path / 'strict', {
            'load_from': str(files.partial)
        }).load_checkpoint(str(files.partial))
    work_dir = tmp_path / 'partial'
    runner = build_runner(files.cfg, work_dir, {'load_from': str(files.partial), 'load_partial': True})
    runner.load_checkpoint(str(files.partial))
    assert (f'Partial load of {files.partial} (load_partial): loaded {files.total - 1} of {files.total} model '
            f'tensors; 1 missing (e.g. {files.dropped}), kept as initialised; 1 unexpected (e.g. '
            'head.extra.weight).') in log_text(work_dir)


def test_partial_loading_loads_what_fits(files):
    from mmpose.apis import init_model

    model = init_model(str(files.cfg), None, device='cpu')
    before = model.state_dict()[files.dropped].clone()
    load_checkpoint_strict(model, str(files.partial), allow_partial=True)
    assert torch.equal(model.state_dict()[files.dropped], before)  # missing: kept
    with pytest.raises(CheckpointMismatchError):
        load_checkpoint_strict(model, str(files.partial))


def test_export_fails_on_a_state_dict_that_shares_no_key(files, tmp_path):
    """It wrote a graph of a random network and said onnx.checker: OK."""
    export = _load_tool(REPO_ROOT / 'tools' / 'deploy' / 'export_onnx.py')
    out = tmp_path / 'model.onnx'
    with pytest.raises(CheckpointMismatchError, match=r'0 of \d+ model tensors fit; \d+ missing'):
        export.main([str(files.cfg), str(files.no_keys), '--out', str(out), '--device', 'cpu'])
    assert not out.exists()


def test_benchmark_fails_on_a_checkpoint_of_another_model(files):
    from swahr_mmpose.benchmark.inference import run_inference_benchmark

    with pytest.raises(CheckpointMismatchError, match='HRNet-W16'):
        run_inference_benchmark(
            str(files.cfg),
            str(files.wide),
            num_images=1,
            warmup=0,
            device='cpu',
            backends=('pytorch', ),
            flips=(False, ))


def test_demo_fails_on_a_checkpoint_of_another_model(files, tmp_path):
    from mmengine.config import Config

    from swahr_mmpose.apis.demo import PyTorchBackend

    with pytest.raises(CheckpointMismatchError, match='HRNet-W16'):
        PyTorchBackend(Config.fromfile(str(files.cfg)), str(files.wide), 'cpu', str(tmp_path), draw={})
