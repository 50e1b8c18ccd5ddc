"""tools/benchmark_inference.py (swahr_mmpose.benchmark.inference) on the synthetic W32 config (tiny HRNet, 128 px
input, CPU): both backends, both flip settings, one run."""
import importlib.util
import json
import os.path as osp

import numpy as np
import pytest

from swahr_mmpose.benchmark import inference as bench
from swahr_mmpose.testing.images import make_images

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIG = osp.join(REPO, 'configs', 'swahr_hrnet_w32_synthetic.py')


def load_tool():
    spec = importlib.util.spec_from_file_location('benchmark_inference',
                                                  osp.join(REPO, 'tools', 'benchmark_inference.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_pytorch_and_onnxruntime_side_by_side():
    pytest.importorskip('onnxruntime')
    result = bench.run_inference_benchmark(
        CONFIG, num_images=2, warmup=1, device='cpu', image_size=(160, 120), ort_threads=1)
    assert list(result['variants']) == [
        'pytorch flip=False', 'onnxruntime flip=False', 'pytorch flip=True', 'onnxruntime flip=True'
    ]
    for variant in result['variants'].values():
        assert variant['seconds'] > 0 and variant['people'] >= 0
    assert result['input_size'] == [(192, 128)]  # 160x120 -> short side 128, long side up to a multiple of 64
    assert result['providers'] == ['CPUExecutionProvider']
    assert set(result['agreement']) == {False, True}
    for agreement in result['agreement'].values():
        assert agreement['images'] == 2 and 0 <= agreement['agreed'] <= 2
    assert 'CPU' in result['machine']
    table = bench.format_inference_benchmark(result)
    for line in ('pytorch      False', 'onnxruntime  True', 'vs PyTorch', 'poses, flip=True: ONNX Runtime agrees'):
        assert line in table


def test_cli_pytorch_only(tmp_path, capsys):
    out = tmp_path / 'result.json'
    assert load_tool().main([
        CONFIG, '--num-images', '1', '--warmup', '0', '--device', 'cpu', '--image-size', '96', '64', '--images',
        'noise', '--backends', 'pytorch', '--flip', 'off', '--threads', '1', '--json',
        str(out)
    ]) == 0
    printed = capsys.readouterr().out
    assert '1 synthetic noise images of 96x64 px' in printed
    assert 'pytorch      False' in printed and 'onnxruntime' not in printed.split('\n', 4)[-1]
    saved = json.loads(out.read_text())
    assert list(saved['variants']) == ['pytorch flip=False'] and saved['agreement'] == {}


def test_images_and_argument_errors():
    (scene, ) = make_images(1, (64, 48), 'scene')
    assert scene.shape == (48, 64, 3) and scene.dtype == np.uint8
    with pytest.raises(ValueError, match='unknown image source'):
        make_images(1, (64, 48), 'photos')
    with pytest.raises(ValueError, match='backends must be'):
        bench.run_inference_benchmark(CONFIG, backends=['tensorrt'])
