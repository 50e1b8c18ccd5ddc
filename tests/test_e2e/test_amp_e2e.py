"""Mixed precision through MMEngine's AmpOptimWrapper (what ``tools/train.py --amp`` selects), with bf16 autocast so
that it runs on the CPU too, against the same run in fp32.

The test harness, and only it, patches AmpOptimWrapper's device assertion (``is_cuda_available`` as its module sees
it): the wrapper refuses to be built without a GPU, although ``torch.autocast`` supports bf16 on the CPU. On a GPU
machine the patch changes nothing and the runs use the GPU.

Checked: autocast is active (the head hands bf16 maps to the losses), our losses compute in float32 where the
scale-adaptive target (G^(1+s), ln G) and the weight (G^gamma) need it and return float32, every loss is finite,
and the per-iteration losses stay within a few percent of fp32 over the first iterations.
"""
import math

import pytest
import torch

from swahr_mmpose.models.losses import WeightAdaptiveMSELoss
from e2e_helpers import build_runner, tiny_data_overrides, tiny_model_overrides, train_records, write_config

ITERS = 4
RUN = f'''
train_cfg = dict(_delete_=True, type='IterBasedTrainLoop', max_iters={ITERS}, val_interval=1000)
param_scheduler = [dict(type='ConstantLR', factor=1.0, by_epoch=False)]
optim_wrapper = dict(optimizer=dict(lr=0.001))
default_hooks = dict(logger=dict(interval=1), checkpoint=dict(by_epoch=False, interval=1000, save_best=None))
randomness = dict(seed=0)
# fixed inputs: both runs see the same pixels
train_pipeline[1].update(scale_factor=(1.0, 1.0), rotate_factor=0, max_translate=0)
train_pipeline[2].update(prob=0.0)
train_dataloader['dataset']['pipeline'] = train_pipeline
'''
AMP = dict(optim_wrapper=dict(type='AmpOptimWrapper', dtype='bfloat16', loss_scale='dynamic'))

pytestmark = pytest.mark.usefixtures('one_torch_thread')


class DtypeRecorder:
    """Records dtypes seen by the losses: what the head hands them and what they compute in."""

    def __init__(self, monkeypatch):
        self.seen = {}
        for name in ('_modulated_target', '_pixel_weight'):
            original = getattr(WeightAdaptiveMSELoss, name)
            monkeypatch.setattr(WeightAdaptiveMSELoss, name, self._wrap(name, original))

    def _wrap(self, name, original):

        def wrapped(loss, *tensors):
            out = original(loss, *tensors)
            self.seen.setdefault(name, set()).add(tuple(t.dtype for t in tensors) + (out.dtype, ))
            return out

        return wrapped

    def attach(self, head):
        for name in ('heatmap_loss', 'scale_loss', 'tag_loss'):
            module = getattr(head, name)

            def hook(module, args, kwargs, output, name=name):
                inputs = [args[0].dtype] + [v.dtype for k, v in kwargs.items() if k == 'scale']
                outputs = output if isinstance(output, tuple) else (output, )
                self.seen.setdefault(name, set()).add(tuple(inputs) + tuple(o.dtype for o in outputs))

            module.register_forward_hook(hook, with_kwargs=True)


def train(tiny_coco, tmp_path, monkeypatch, options=None):
    cfg = write_config(tmp_path / 'cfg.py', 'swahr_hrnet_w32_synthetic.py',
                       tiny_data_overrides(tiny_coco, input_size=64) + tiny_model_overrides() + RUN)
    recorder = DtypeRecorder(monkeypatch)
    runner = build_runner(cfg, tmp_path / 'work', options)
    recorder.attach(runner.model.head)
    runner.train()
    return runner, train_records(tmp_path / 'work'), recorder.seen


@pytest.fixture(scope='module')
def fp32_run(one_torch_thread, tiny_coco, tmp_path_factory):
    with pytest.MonkeyPatch.context() as monkeypatch:
        return train(tiny_coco, tmp_path_factory.mktemp('fp32'), monkeypatch)


def test_bf16_amp_matches_fp32_with_float32_losses(fp32_run, tiny_coco, tmp_path, monkeypatch):
    from mmengine.optim import AmpOptimWrapper
    from mmengine.optim.optimizer import amp_optimizer_wrapper

    monkeypatch.setattr(amp_optimizer_wrapper, 'is_cuda_available', lambda: True)  # the device assertion only
    runner, amp, seen = train(tiny_coco, tmp_path, monkeypatch, AMP)
    assert isinstance(runner.optim_wrapper, AmpOptimWrapper) and runner.optim_wrapper.cast_dtype == torch.bfloat16

    bf16, f32 = torch.bfloat16, torch.float32
    # autocast is on: the head's maps reach the losses in bf16 (heatmaps, scale maps, tags) ...
    assert seen['heatmap_loss'] == {(bf16, bf16, f32)}
    assert seen['scale_loss'] == {(bf16, f32)}
    assert seen['tag_loss'] == {(bf16, f32, f32)}
    # ... and G^(1+s) / ln G and G^gamma are computed from float32 tensors, in float32
    assert seen['_modulated_target'] == {(f32, f32, f32)}
    assert seen['_pixel_weight'] == {(f32, f32, f32)}
    _, fp32, fp32_seen = fp32_run
    assert fp32_seen['heatmap_loss'] == {(f32, f32, f32)}  # the reference run really is fp32

    assert [r['iter'] for r in amp] == [r['iter'] for r in fp32] == list(range(1, ITERS + 1))
    for a, b in zip(amp, fp32):
        for key in ('loss', 'loss_heatmap_l0', 'loss_heatmap_l1'):
            assert math.isfinite(a[key])
            assert a[key] == pytest.approx(b[key], rel=0.05), (a['iter'], key, a[key], b[key])
