"""Checks that matter on a GPU (``bash tools/run_tests.sh -m cuda``; every test here carries the ``cuda`` marker).

Without CUDA the GPU cases skip with the reason; the CPU cases of the device-parametrised tests still run (they are
the baselines the GPU cases are compared with, and they keep this file's code exercised on CPU-only CI). Model: the
main job's config with a tiny HRNet (width 8) at 128 px, fed by the config's real train pipeline.

Tolerances: a float32 step on the GPU matches the CPU loss to rtol 1e-3 (cuDNN picks other algorithms and summation
orders); fp16 / bf16 autocast matches the float32 loss to rtol 5e-2 (half precision keeps ~3 significant digits in
the convolutions; the losses themselves compute in float32).
"""
import os
import os.path as osp
import socket

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.dataset import pseudo_collate

from swahr_mmpose.benchmark.train_step import TrainStepTimer, build_optim_wrapper, build_train_model
from swahr_mmpose.benchmark.zoo_data import build_train_dataset
from swahr_mmpose.testing import make_synthetic_ae_maps, tiny_hrnet

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIG = osp.join(REPO, 'configs', 'swahr_hrnet_w32_synthetic.py')
CUDA = torch.cuda.is_available()
requires_cuda = pytest.mark.skipif(not CUDA, reason='needs a CUDA device (torch.cuda.is_available() is False)')
DEVICES = ['cpu', pytest.param('cuda', marks=requires_cuda)]
pytestmark = [pytest.mark.cuda, pytest.mark.usefixtures('one_torch_thread')]


def tiny_cfg() -> Config:
    cfg = Config.fromfile(CONFIG)
    cfg.model.backbone = tiny_hrnet(8)
    cfg.model.head.in_channels = 8
    return cfg


@pytest.fixture(scope='module')
def batch(tiny_coco):
    data = dict(
        data_root=str(tiny_coco),
        ann_file='annotations/person_keypoints_train.json',
        crowdpose_ann_file='annotations/person_keypoints_train.json',
        img_prefix='images/train/')
    dataset = build_train_dataset(tiny_cfg(), data)
    np.random.seed(0)
    return pseudo_collate([dataset.prepare_data(i) for i in range(2)])


def first_losses(device: str, batch, amp_dtype=None, steps: int = 1, checkpointing: bool = False):
    """Losses of ``steps`` train steps from the same initial weights (seed 0)."""
    torch.manual_seed(0)
    cfg = tiny_cfg()
    model = build_train_model(cfg, torch.device('cpu'))
    for p in model.head.parameters():  # non-trivial maps (the reference init is near zero)
        p.data.add_(0.05 * torch.randn_like(p))
    model.to(device)
    if checkpointing:
        model.head.with_cp = True
    wrapper = build_optim_wrapper(cfg, model, amp_dtype, torch.device(device))
    timer = TrainStepTimer(model, wrapper, torch.device(device))
    losses = [timer.step(batch)['loss'] for _ in range(steps)]
    return losses, wrapper, model


@pytest.mark.parametrize('device', DEVICES)
def test_train_step_matches_the_cpu_float32_step(device, batch):
    losses, _, model = first_losses(device, batch, steps=2)
    assert all(np.isfinite(losses)) and losses[0] > 0
    assert all(torch.isfinite(p).all() for p in model.parameters())
    if device != 'cpu':
        reference, _, _ = first_losses('cpu', batch, steps=2)
        np.testing.assert_allclose(losses, reference, rtol=1e-3)


@requires_cuda
def test_fp16_amp_with_dynamic_loss_scaling_matches_float32(batch):
    fp32, _, _ = first_losses('cuda', batch, steps=3)
    fp16, wrapper, model = first_losses('cuda', batch, 'float16', steps=3)
    assert type(wrapper).__name__ == 'AmpOptimWrapper' and wrapper.loss_scaler.is_enabled()
    assert np.isfinite(wrapper.loss_scaler.get_scale())
    assert all(np.isfinite(fp16)) and all(torch.isfinite(p).all() for p in model.parameters())
    np.testing.assert_allclose(fp16, fp32, rtol=5e-2)


@requires_cuda
@pytest.mark.skipif(CUDA and not torch.cuda.is_bf16_supported(), reason='this GPU has no bfloat16 support')
def test_bf16_amp_matches_float32(batch):
    fp32, _, _ = first_losses('cuda', batch, steps=2)
    bf16, _, model = first_losses('cuda', batch, 'bfloat16', steps=2)
    assert all(np.isfinite(bf16)) and all(torch.isfinite(p).all() for p in model.parameters())
    np.testing.assert_allclose(bf16, fp32, rtol=5e-2)


@requires_cuda
def test_checkpointed_head_on_cuda_gives_the_same_loss(batch):
    plain, _, _ = first_losses('cuda', batch, steps=2)
    checkpointed, _, _ = first_losses('cuda', batch, steps=2, checkpointing=True)
    np.testing.assert_allclose(checkpointed, plain, rtol=1e-4)


@requires_cuda
def test_decoder_on_cuda_tensors_gives_the_cpu_poses():
    from swahr_mmpose.codecs import AEDecoder

    decoder = AEDecoder()
    for people in (1, 10, 30):
        sample = make_synthetic_ae_maps(people, canvas_size=(256, 192), seed=people)
        cpu = decoder.batch_decode(sample.heatmaps[None], sample.tags[None])
        gpu = decoder.batch_decode(sample.heatmaps[None].cuda(), sample.tags[None].cuda())
        for ours, theirs in zip(gpu, cpu):
            ours, theirs = np.asarray(ours[0]), np.asarray(theirs[0])
            assert ours.shape == theirs.shape and ours.shape[0] > 0
            np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-3)


@requires_cuda
def test_onnx_export_from_a_cuda_model_matches_pytorch(tmp_path):
    ort = pytest.importorskip('onnxruntime')
    from mmpose.apis import init_model

    from swahr_mmpose.deploy.onnx_export import AggregatedPoseNetwork, export_onnx

    torch.manual_seed(0)
    model = init_model(tiny_cfg(), None, device='cuda')
    info = export_onnx(tiny_cfg(), None, str(tmp_path / 'tiny.onnx'), flip_test=True, model=model)
    image = torch.randint(0, 256, (1, 3, 128, 192), generator=torch.Generator().manual_seed(1)).float()
    network = AggregatedPoseNetwork(model, True, info['metadata']['dataset_meta']['flip_indices'],
                                    info['metadata']['align_corners']).cuda().eval()
    with torch.no_grad():
        expected = [t.cpu().numpy() for t in network(image.cuda())]
    session = ort.InferenceSession(info['out'], providers=['CPUExecutionProvider'])
    got = session.run(None, {'image': image.numpy()})
    for e, g in zip(expected, got):
        np.testing.assert_allclose(g, e, rtol=1e-3, atol=1e-4)


def _ddp_worker(rank: int, world: int, port: int, batch, out: str) -> None:
    from torch.nn.parallel import DistributedDataParallel

    os.environ.update(MASTER_ADDR='127.0.0.1', MASTER_PORT=str(port))
    torch.distributed.init_process_group('nccl', rank=rank, world_size=world)
    torch.cuda.set_device(rank)
    torch.manual_seed(0)
    model = build_train_model(tiny_cfg(), torch.device('cpu')).cuda(rank)
    ddp = DistributedDataParallel(model, device_ids=[rank])
    data = model.data_preprocessor(batch_for_rank(batch, rank), True)
    losses = ddp(**data, mode='loss')
    sum(losses.values()).backward()
    grads = torch.cat([p.grad.flatten() for p in model.parameters() if p.grad is not None])
    gathered = [torch.zeros_like(grads) for _ in range(world)]
    torch.distributed.all_gather(gathered, grads)
    if rank == 0:
        torch.save(dict(same=all(torch.equal(gathered[0], g) for g in gathered), norm=float(grads.norm())), out)
    torch.distributed.destroy_process_group()


def batch_for_rank(batch, rank: int):
    return dict(inputs=[batch['inputs'][rank]], data_samples=[batch['data_samples'][rank]])


@requires_cuda
@pytest.mark.skipif(CUDA and torch.cuda.device_count() < 2, reason='NCCL DDP needs two GPUs')
def test_nccl_ddp_step_averages_gradients_over_two_gpus(batch, tmp_path):
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        port = s.getsockname()[1]
    out = str(tmp_path / 'ddp.pt')
    torch.multiprocessing.spawn(_ddp_worker, args=(2, port, batch, out), nprocs=2, join=True)
    result = torch.load(out)
    assert result['same'] and result['norm'] > 0
