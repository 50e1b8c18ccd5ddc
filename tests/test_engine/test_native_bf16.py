"""NativeBF16OptimWrapper: bfloat16 autocast exactly where it was decided (native kernels, or forced), float32
otherwise with the same numbers as MMEngine's plain OptimWrapper, the decision logged once, losses in float32."""
import copy

import pytest
import torch
from mmengine.config import Config
from mmengine.logging import MMLogger
from mmengine.optim import OptimWrapper
from mmengine.registry import init_default_scope
from mmpose.registry import OPTIM_WRAPPERS

from swahr_mmpose.engine.optim_wrappers import native_bf16 as wrapper_module
from tiny_synthetic import SYNTHETIC_CONFIG, tiny_synthetic_model


def build(model, precision):
    return OPTIM_WRAPPERS.build(
        dict(type='NativeBF16OptimWrapper', precision=precision, optimizer=torch.optim.Adam(model.parameters())))


def conv_output_dtype(wrapper, model):
    with wrapper.optim_context(model):
        return model(torch.rand(1, 3, 8, 8)).dtype


@pytest.mark.parametrize('precision,native,expected', [('auto', True, torch.bfloat16), ('auto', False, torch.float32),
                                                       ('bfloat16', False, torch.bfloat16),
                                                       ('float32', True, torch.float32)])
def test_decision(precision, native, expected, monkeypatch, capsys):
    monkeypatch.setattr(wrapper_module, 'native_bf16', lambda device: native)
    # a new logger per case: its handler writes to this test's captured stdout
    logger = MMLogger.get_instance(f'test_native_bf16_{precision}_{native}', log_level='INFO')
    model = torch.nn.Conv2d(3, 4, 3)
    wrapper = build(model, precision)
    assert wrapper.autocast_dtype is None  # decided at the first step, from the model's device
    assert conv_output_dtype(wrapper, model) == expected
    assert conv_output_dtype(wrapper, model) == expected
    assert wrapper.autocast_dtype == (expected if expected == torch.bfloat16 else None)
    logged = [line for line in capsys.readouterr().out.splitlines() if 'NativeBF16OptimWrapper' in line]
    kernels = 'native bfloat16 kernels' if native else 'no native bfloat16 kernels'
    training = 'bfloat16 autocast' if expected == torch.bfloat16 else 'float32'
    assert len(logged) == 1 and kernels in logged[0] and logged[0].endswith(f'training in {training}'), logged
    del logger


def test_float32_equals_plain_optim_wrapper(one_torch_thread):
    model = tiny_synthetic_model().train()
    reference = copy.deepcopy(model)
    ours = build(model, 'float32')
    plain = OptimWrapper(optimizer=torch.optim.Adam(reference.parameters()))
    inputs = torch.rand(2, 3, 64, 64)
    for wrapper, net in ((ours, model), (plain, reference)):
        with wrapper.optim_context(net):
            out = net.head.forward(net.extract_feat(inputs))
        wrapper.update_params(sum(t.square().mean() for t in out))
    for a, b in zip(model.parameters(), reference.parameters()):
        torch.testing.assert_close(a, b, rtol=0, atol=0)


def test_bfloat16_train_step_keeps_losses_float32_and_close(one_torch_thread, tiny_coco):
    """A real loss of the tiny SWAHR model (targets from the synthetic config's pipeline): every loss float32 and
    finite under bfloat16 autocast, within bfloat16's ~3 significant digits of the float32 losses."""
    from mmengine.dataset import pseudo_collate
    from mmpose.registry import DATASETS

    init_default_scope('mmpose')
    cfg = Config.fromfile(SYNTHETIC_CONFIG)
    dataset_cfg = copy.deepcopy(cfg.train_dataloader.dataset)
    dataset_cfg.update(
        data_root=str(tiny_coco),
        ann_file='annotations/person_keypoints_train.json',
        data_prefix=dict(img='images/train/'))
    dataset = DATASETS.build(dataset_cfg)
    batch = pseudo_collate([dataset[i] for i in range(2)])

    model = tiny_synthetic_model().train()
    losses = {}
    for precision in ('float32', 'bfloat16'):
        wrapper = build(model, precision)
        with wrapper.optim_context(model):
            data = model.data_preprocessor(batch, training=True)
            losses[precision] = model(**data, mode='loss')
    assert set(losses['float32']) == set(losses['bfloat16'])
    for name, value in losses['bfloat16'].items():
        assert value.dtype == torch.float32 and torch.isfinite(value), name
        reference = losses['float32'][name]
        assert abs(value.item() - reference.item()) <= 0.05 * abs(reference.item()) + 1e-6, (name, value, reference)


def test_bad_precision():
    with pytest.raises(ValueError, match="precision must be one of \\('auto', 'bfloat16', 'float32'\\)"):
        build(torch.nn.Conv2d(3, 4, 3), 'float16')


def test_train_step_benchmark_uses_it_for_cpu_mixed_precision():
    from swahr_mmpose.benchmark.train_step import build_optim_wrapper

    cfg = Config.fromfile(SYNTHETIC_CONFIG)
    model = torch.nn.Conv2d(3, 4, 3)
    cpu = torch.device('cpu')
    assert type(build_optim_wrapper(cfg, model, None, cpu)) is OptimWrapper
    wrapper = build_optim_wrapper(cfg, model, 'bfloat16', cpu)
    assert type(wrapper).__name__ == 'NativeBF16OptimWrapper' and wrapper.precision == 'bfloat16'
    assert conv_output_dtype(wrapper, model) == torch.bfloat16
    with pytest.raises(ValueError, match="mixed precision on cpu is bfloat16 only, got amp_dtype='float16'"):
        build_optim_wrapper(cfg, model, 'float16', cpu)
