"""What ``--resume`` restores exactly, measured on the real synthetic config (random affine + flip on) with MMEngine's
Runner: with data-loader workers that are not persistent, a run interrupted after epoch 1 and resumed ends with the
same weights and optimizer state, bit for bit, as an uninterrupted run. With persistent workers it does not: the
workers' augmentation random state lives on across epochs and no checkpoint holds it (MMEngine 0.10.7), so a resumed
run draws other augmentations (shown on the data loader alone, without training).
"""
import pytest
import torch

from e2e_helpers import build_runner, epoch_based_overrides, tiny_data_overrides, tiny_model_overrides, write_config

RUN = '''
randomness = dict(seed=0)
'''
WORKERS = {'train_dataloader.num_workers': 1, 'train_dataloader.persistent_workers': False}

pytestmark = pytest.mark.usefixtures('one_torch_thread')


@pytest.fixture(scope='module')
def cfg(one_torch_thread, tiny_coco, tmp_path_factory):
    tmp = tmp_path_factory.mktemp('resume')
    return write_config(
        tmp / 'cfg.py', 'swahr_hrnet_w32_synthetic.py',
        tiny_data_overrides(tiny_coco, input_size=64) + tiny_model_overrides() + epoch_based_overrides(2) + RUN)


def train(cfg, work_dir, max_epochs, resume_from=None):
    options = dict(WORKERS, **{'train_cfg.max_epochs': max_epochs})
    if resume_from:
        options.update(resume=True, load_from=str(resume_from))
    build_runner(cfg, work_dir, options).train()
    return torch.load(str(work_dir / f'epoch_{max_epochs}.pth'), map_location='cpu')


def tensors(checkpoint):
    """Every tensor of the weights and of the optimizer state, by name."""
    out = {f'state_dict.{k}': v for k, v in checkpoint['state_dict'].items()}
    for index, state in checkpoint['optimizer']['state'].items():
        out.update({f'optimizer.{index}.{k}': v for k, v in state.items() if isinstance(v, torch.Tensor)})
    return out


def test_resume_with_non_persistent_workers_is_bit_exact(cfg, tmp_path):
    uninterrupted = train(cfg, tmp_path / 'straight', 2)
    first_half = train(cfg, tmp_path / 'first', 1)
    resumed = train(cfg, tmp_path / 'resumed', 2, resume_from=tmp_path / 'first' / 'epoch_1.pth')
    assert resumed['meta']['iter'] == uninterrupted['meta']['iter'] == 6
    straight, again = tensors(uninterrupted), tensors(resumed)
    assert straight.keys() == again.keys() and any(k.startswith('optimizer.') for k in straight)
    assert not torch.equal(straight['state_dict.head.final_layers.1.weight'],
                           first_half['state_dict']['head.final_layers.1.weight'])  # epoch 2 did train
    different = [name for name, value in straight.items() if not torch.equal(value, again[name])]
    assert not different, f'{len(different)} tensors differ after resuming, e.g. {different[:3]}'


def _augmentations(loader, epochs):
    """Per epoch: image id -> the random affine matrix and flip the training pipeline drew for it."""
    out = []
    for epoch in epochs:
        loader.sampler.set_epoch(epoch)  # what DistSamplerSeedHook does before each epoch
        out.append({s.img_id: (s.warp_mat.tobytes(), s.flip) for batch in loader for s in batch['data_samples']})
    return out


@pytest.mark.parametrize('persistent', [False, True])
def test_augmentation_state_across_a_restart(cfg, tmp_path, persistent):
    """Epoch 2's augmentations of one data loader vs those of a new loader that starts at epoch 2 (a resume)."""
    runner = build_runner(
        cfg, tmp_path, {
            'train_dataloader.num_workers': 1,
            'train_dataloader.persistent_workers': persistent,
            'train_dataloader.dataset.pipeline.4.meta_keys': ('img_id', 'warp_mat', 'flip'),
        })
    straight = _augmentations(runner.build_dataloader(runner._train_dataloader, seed=runner.seed), [0, 1])[1]
    restarted = _augmentations(runner.build_dataloader(runner._train_dataloader, seed=runner.seed), [1])[0]
    assert straight.keys() == restarted.keys() and len(straight) == 6
    assert (straight == restarted) is (not persistent)
