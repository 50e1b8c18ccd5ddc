"""Official SWAHR / HigherHRNet checkpoints -> MMPose checkpoints.

The official key names and shapes are generated here from the architecture
description (docs/reference_behaviour.md#1-model), independently of MMPose's
module code, so the tests check that MMPose's HRNet + our head really use the
official names, not just that the converter inverts itself.
"""
import os.path as osp
import random
import runpy
from collections import OrderedDict
from types import SimpleNamespace
from typing import Dict, Optional, Tuple

import pytest
import torch
from mmengine.config import Config
from mmengine.runner import load_checkpoint
from mmpose.registry import MODELS

from swahr_mmpose.utils.convert_checkpoint import (OFFICIAL_REVISE_KEYS, CheckpointConversionError,
                                                   check_state_dict_fits, convert_official_checkpoint,
                                                   convert_official_state_dict, detect_official_checkpoint,
                                                   extract_official_state_dict, official_to_mmpose_key)

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
BASE_W32 = osp.join(REPO, 'configs/swahr_hrnet_w32_coco.py')
BASE_W48 = osp.join(REPO, 'configs/swahr_hrnet_w48_coco.py')
cli = SimpleNamespace(**runpy.run_path(osp.join(REPO, 'tools', 'convert_swahr_checkpoint.py')))

Shape = Tuple[int, ...]
BN_SUFFIXES = ('weight', 'bias', 'running_mean', 'running_var', 'num_batches_tracked')


# --------------------------------------------- official key set, from the spec
def mmpose_to_official_key(key: str) -> Optional[str]:
    """Inverse of ``official_to_mmpose_key`` (``None`` if the key has no official counterpart)."""
    for prefix in ('backbone.', 'head.'):
        if key.startswith(prefix) and official_to_mmpose_key(key[len(prefix):]) == key:
            return key[len(prefix):]
    return None


def _bn(keys: Dict[str, Shape], prefix: str, channels: int) -> None:
    for suffix in BN_SUFFIXES:
        keys[f'{prefix}.{suffix}'] = (() if suffix == 'num_batches_tracked' else (channels, ))


def _basic_block(keys, prefix, channels):
    keys[f'{prefix}.conv1.weight'] = (channels, channels, 3, 3)
    _bn(keys, f'{prefix}.bn1', channels)
    keys[f'{prefix}.conv2.weight'] = (channels, channels, 3, 3)
    _bn(keys, f'{prefix}.bn2', channels)


def official_keys(width: int, num_keypoints: int, with_scale: bool) -> 'OrderedDict[str, Shape]':
    """Official PoseHigherResolutionNet state_dict keys -> shapes."""
    c, k = width, num_keypoints
    keys: 'OrderedDict[str, Shape]' = OrderedDict()
    # stem
    keys['conv1.weight'] = (64, 3, 3, 3)
    _bn(keys, 'bn1', 64)
    keys['conv2.weight'] = (64, 64, 3, 3)
    _bn(keys, 'bn2', 64)
    # layer1: 4 Bottlenecks (64 -> 256), downsample on the first
    for b in range(4):
        p = f'layer1.{b}'
        keys[f'{p}.conv1.weight'] = (64, 64 if b == 0 else 256, 1, 1)
        _bn(keys, f'{p}.bn1', 64)
        keys[f'{p}.conv2.weight'] = (64, 64, 3, 3)
        _bn(keys, f'{p}.bn2', 64)
        keys[f'{p}.conv3.weight'] = (256, 64, 1, 1)
        _bn(keys, f'{p}.bn3', 256)
        if b == 0:
            keys[f'{p}.downsample.0.weight'] = (256, 64, 1, 1)
            _bn(keys, f'{p}.downsample.1', 256)
    chans = [c, 2 * c, 4 * c, 8 * c]
    # transition1: [256] -> [C, 2C]
    keys['transition1.0.0.weight'] = (c, 256, 3, 3)
    _bn(keys, 'transition1.0.1', c)
    keys['transition1.1.0.0.weight'] = (2 * c, 256, 3, 3)
    _bn(keys, 'transition1.1.0.1', 2 * c)
    num_modules = {2: 1, 3: 4, 4: 3}
    for stage in (2, 3, 4):
        nb = stage
        if stage > 2:  # transition{stage-1}: one new stride-2 branch
            t = f'transition{stage - 1}.{nb - 1}.0'
            keys[f'{t}.0.weight'] = (chans[nb - 1], chans[nb - 2], 3, 3)
            _bn(keys, f'{t}.1', chans[nb - 1])
        for m in range(num_modules[stage]):
            p = f'stage{stage}.{m}'
            for i in range(nb):
                for b in range(4):
                    _basic_block(keys, f'{p}.branches.{i}.{b}', chans[i])
            last = stage == 4 and m == num_modules[stage] - 1
            for i in range(1 if last else nb):
                for j in range(nb):
                    f = f'{p}.fuse_layers.{i}.{j}'
                    if j > i:
                        keys[f'{f}.0.weight'] = (chans[i], chans[j], 1, 1)
                        _bn(keys, f'{f}.1', chans[i])
                    elif j < i:
                        for step in range(i - j):
                            out = chans[i] if step == i - j - 1 else chans[j]
                            keys[f'{f}.{step}.0.weight'] = (out, chans[j], 3, 3)
                            _bn(keys, f'{f}.{step}.1', out)
    # heads
    keys['final_layers.0.weight'] = (2 * k, c, 1, 1)
    keys['final_layers.0.bias'] = (2 * k, )
    keys['final_layers.1.weight'] = (k, c, 1, 1)
    keys['final_layers.1.bias'] = (k, )
    keys['deconv_layers.0.0.0.weight'] = (c + 2 * k, c, 4, 4)
    _bn(keys, 'deconv_layers.0.0.1', c)
    for b in range(1, 5):
        _basic_block(keys, f'deconv_layers.0.{b}.0', c)
    if with_scale:
        for level in range(2):
            p = f'conv_scale_layers.{level}'
            keys[f'{p}.0.weight'] = (k, c, 1, 1)
            keys[f'{p}.0.bias'] = (k, )
            _bn(keys, f'{p}.1', k)
            keys[f'{p}.3.weight'] = (k, 1, 9, 9)
            keys[f'{p}.3.bias'] = (k, )
    return keys


def random_official_state_dict(width=32, num_keypoints=17, with_scale=True, seed=0) -> 'OrderedDict[str, torch.Tensor]':
    g = torch.Generator().manual_seed(seed)
    out = OrderedDict()
    for key, shape in official_keys(width, num_keypoints, with_scale).items():
        if key.endswith('num_batches_tracked'):
            out[key] = torch.randint(1, 10**6, shape, generator=g)
        else:
            out[key] = torch.randn(shape, generator=g)
    return out


def build_model(base=BASE_W32, with_scale=True, num_keypoints=17):
    cfg = Config.fromfile(base)
    cfg.model.head.with_scale = with_scale
    cfg.model.head.num_keypoints = num_keypoints
    cfg.model.head.decoder = None
    return MODELS.build(cfg.model)


@pytest.fixture(scope='module')
def swahr_w32():
    return build_model()


@pytest.fixture(scope='module')
def higher_w32():
    return build_model(with_scale=False)


# ------------------------------------------------------------------ key layout
def test_spec_documented_keys_and_counts():
    keys = official_keys(32, 17, with_scale=True)
    assert len(keys) == 1828  # spec 1.6: 1,828 entries, buffers included
    assert len(official_keys(32, 17, with_scale=False)) == 1828 - 18
    documented = {
        'final_layers.0.weight': (34, 32, 1, 1),
        'final_layers.0.bias': (34, ),
        'final_layers.1.weight': (17, 32, 1, 1),
        'deconv_layers.0.0.0.weight': (66, 32, 4, 4),
        'deconv_layers.0.4.0.conv1.weight': (32, 32, 3, 3),
        'conv_scale_layers.0.0.weight': (17, 32, 1, 1),
        'conv_scale_layers.1.3.weight': (17, 1, 9, 9),
        'conv_scale_layers.0.3.weight': (17, 1, 9, 9),
        'stage2.0.branches.0.0.conv1.weight': (32, 32, 3, 3),
        # j < i fusion: Sequential of (conv3x3 s2, BN[, ReLU]) steps, so the
        # conv sits at fuse_layers.i.j.<step>.0
        'stage2.0.fuse_layers.1.0.0.0.weight': (64, 32, 3, 3),
        'stage2.0.fuse_layers.0.1.0.weight': (32, 64, 1, 1),
        'stage4.2.fuse_layers.0.3.0.weight': (32, 256, 1, 1),
        'stage4.1.fuse_layers.3.0.2.0.weight': (256, 32, 3, 3),
        'stage4.1.fuse_layers.3.0.1.0.weight': (32, 32, 3, 3),
        'transition1.0.0.weight': (32, 256, 3, 3),
    }
    for key, shape in documented.items():
        assert keys[key] == shape, key
    assert official_keys(48, 17, True)['deconv_layers.0.0.0.weight'] == (82, 48, 4, 4)
    assert official_keys(48, 14, True)['deconv_layers.0.0.0.weight'] == (76, 48, 4, 4)


@pytest.mark.parametrize('with_scale', [True, False])
def test_mmpose_names_equal_official_names_w32(with_scale, swahr_w32, higher_w32):
    model = swahr_w32 if with_scale else higher_w32
    ours = {mmpose_to_official_key(k): tuple(v.shape) for k, v in model.state_dict().items()}
    assert None not in ours, 'a model key has no official counterpart'
    expected = dict(official_keys(32, 17, with_scale))
    assert set(ours) - set(expected) == set()
    assert set(expected) - set(ours) == set()
    assert ours == expected
    # and the mapping round-trips
    for key in model.state_dict():
        assert official_to_mmpose_key(mmpose_to_official_key(key)) == key


@pytest.mark.parametrize('base,num_keypoints', [(BASE_W48, 17), (BASE_W48, 14)])
def test_mmpose_names_equal_official_names_w48(base, num_keypoints):
    model = build_model(base, True, num_keypoints)
    ours = {mmpose_to_official_key(k): tuple(v.shape) for k, v in model.state_dict().items()}
    assert ours == dict(official_keys(48, num_keypoints, True))


# ----------------------------------------------------------------- conversion
def _assert_landed(model, official):
    state = model.state_dict()
    assert len(state) == len(official)
    for key, value in official.items():
        assert torch.equal(state['backbone.' + key] if 'backbone.' + key in state else state['head.' + key], value), key


def _convert_and_load(model, checkpoint):
    """Convert, then load strictly into ``model`` (a module fixture: every
    test that loads overwrites all of its tensors)."""
    converted, info = convert_official_checkpoint(checkpoint, model_state=model.state_dict())
    model.load_state_dict(converted['state_dict'], strict=True)
    return model, converted, info


def test_round_trip_values(swahr_w32):
    official = random_official_state_dict(seed=1)
    model, converted, info = _convert_and_load(swahr_w32, official)
    _assert_landed(model, official)
    assert info.variant == 'swahr' and info.width == 32
    assert converted['meta']['with_scale'] is True
    assert list(converted) == ['state_dict', 'meta']


@pytest.mark.parametrize('wrap', ['state_dict', 'ddp', 'ddp_bare'])
def test_wrappers_and_ddp_prefix(wrap):
    official = OrderedDict((k, torch.empty(s)) for k, s in official_keys(32, 17, True).items())
    ddp = OrderedDict(('module.' + k, v) for k, v in official.items())
    ckpt = {
        'state_dict': {
            'state_dict': official,
            'epoch': 3,
            'model': 'x'
        },
        # DDP checkpoint.pth.tar: prefixed 'state_dict' + bare best weights
        'ddp': {
            'state_dict': ddp,
            'best_state_dict': official,
            'epoch': 3,
            'perf': 0.5
        },
        'ddp_bare': ddp,
    }[wrap]
    extracted = extract_official_state_dict(ckpt)
    assert list(extracted) == list(official)
    assert all(extracted[k] is v for k, v in official.items())


def test_best_state_dict_key(swahr_w32):
    good = random_official_state_dict(seed=2)
    ckpt = {'state_dict': random_official_state_dict(seed=3), 'best_state_dict': good}
    converted, _ = convert_official_checkpoint(ckpt, swahr_w32.state_dict(), state_dict_key='best_state_dict')
    assert torch.equal(converted['state_dict']['head.final_layers.0.weight'], good['final_layers.0.weight'])


def test_higherhrnet_into_higherhrnet_model(higher_w32):
    official = random_official_state_dict(with_scale=False, seed=4)
    model, converted, info = _convert_and_load(higher_w32, official)
    _assert_landed(model, official)
    assert info.variant == 'higherhrnet' and not info.with_scale
    assert info.suggested_config == 'configs/higherhrnet_hrnet_w32_coco.py'
    assert converted['meta']['architecture'] == 'HigherHRNet'


def test_higherhrnet_into_swahr_model_names_the_right_config(swahr_w32):
    official = random_official_state_dict(with_scale=False)
    with pytest.raises(CheckpointConversionError) as err:
        convert_official_checkpoint(official, swahr_w32.state_dict())
    msg = str(err.value)
    assert '18 key(s) of the model are missing' in msg
    assert 'head.conv_scale_layers.0.3.weight' in msg
    assert 'higherhrnet_* config' in msg
    assert 'configs/higherhrnet_hrnet_w32_coco.py' in msg


def test_swahr_into_higherhrnet_model_fails(higher_w32):
    with pytest.raises(CheckpointConversionError) as err:
        convert_official_checkpoint(random_official_state_dict(), higher_w32.state_dict())
    msg = str(err.value)
    assert '18 key(s) of the checkpoint do not exist in the model' in msg
    assert 'swahr_* config' in msg


def test_unknown_key_is_listed(swahr_w32):
    official = random_official_state_dict()
    official['incre_modules.0.weight'] = torch.zeros(1)
    with pytest.raises(CheckpointConversionError, match=r'incre_modules\.0\.weight'):
        convert_official_checkpoint(official, swahr_w32.state_dict())


def test_missing_key_is_listed(swahr_w32):
    official = random_official_state_dict()
    del official['stage3.2.branches.1.3.conv2.weight']
    with pytest.raises(CheckpointConversionError) as err:
        convert_official_checkpoint(official, swahr_w32.state_dict())
    assert '1 key(s) of the model are missing' in str(err.value)
    assert 'backbone.stage3.2.branches.1.3.conv2.weight' in str(err.value)


def test_shape_mismatch_names_key_and_shapes(swahr_w32):
    official = random_official_state_dict()
    official['final_layers.1.bias'] = torch.zeros(14)
    with pytest.raises(CheckpointConversionError) as err:
        convert_official_checkpoint(official, swahr_w32.state_dict())
    assert ('head.final_layers.1.bias: checkpoint (14,) vs model (17,)' in str(err.value))


def test_width_mismatch_hint(swahr_w32):
    official = random_official_state_dict(width=48)
    with pytest.raises(CheckpointConversionError) as err:
        convert_official_checkpoint(official, swahr_w32.state_dict())
    msg = str(err.value)
    assert 'backbone.transition1.0.0.weight: checkpoint (48, 256, 3, 3) vs ' \
        'model (32, 256, 3, 3)' in msg
    assert 'width 32 and 17 keypoints, the checkpoint width 48' in msg


def test_missing_num_batches_tracked_is_filled(swahr_w32):
    official = OrderedDict(
        (k, v) for k, v in random_official_state_dict().items() if not k.endswith('num_batches_tracked'))
    model, converted, _ = _convert_and_load(swahr_w32, official)
    assert converted['meta']['filled_num_batches_tracked'] > 0
    assert model.state_dict()['backbone.bn1.num_batches_tracked'] == 0


@pytest.mark.parametrize('bad,match', [
    ({
        'module.conv1.weight': torch.zeros(1),
        'bn1.weight': torch.zeros(1)
    }, 'only some keys carry the DDP prefix'),
    ({
        'backbone.conv1.weight': torch.zeros(1)
    }, 'MMPose checkpoint already'),
    ({
        'epoch': 3,
        'optimizer': {}
    }, 'non-tensor entries'),
    ({}, 'empty'),
])
def test_malformed_checkpoints(bad, match):
    with pytest.raises(CheckpointConversionError, match=match):
        extract_official_state_dict(bad)


def test_not_a_pose_checkpoint():
    with pytest.raises(CheckpointConversionError, match='final_layers.0.weight'):
        detect_official_checkpoint({'conv1.weight': torch.zeros(1)})


def test_convert_rejects_foreign_keys_without_model():
    with pytest.raises(CheckpointConversionError, match='classifier.weight'):
        convert_official_state_dict({'classifier.weight': torch.zeros(1)})


def test_detect_crowdpose_w48():
    keys = official_keys(48, 14, with_scale=True)
    info = detect_official_checkpoint({k: torch.empty(s) for k, s in keys.items()})
    assert (info.variant, info.width, info.num_keypoints) == ('swahr', 48, 14)
    assert info.suggested_config == 'configs/swahr_hrnet_w48_crowdpose.py'


def test_check_state_dict_fits_passes_on_own_state(swahr_w32):
    state = swahr_w32.state_dict()
    assert check_state_dict_fits(dict(state), state) == []


# ------------------------------------------------------------------------- CLI
def test_cli_round_trip_with_mmengine_loader(tmp_path, swahr_w32):
    official = random_official_state_dict(seed=5)
    src = tmp_path / 'checkpoint.pth.tar'
    torch.save({'state_dict': OrderedDict(('module.' + k, v) for k, v in official.items()), 'epoch': 1}, src)
    dst = tmp_path / 'converted.pth'
    assert cli.main([str(src), str(dst), '--config', BASE_W32]) == 0
    # what `load_from` does, through MMEngine's own loader, strictly
    model = swahr_w32
    ckpt = load_checkpoint(model, str(dst), map_location='cpu', strict=True)
    assert ckpt['meta']['source_format'] == 'official swahr'
    _assert_landed(model, official)


def test_cli_detects_config_and_reports_errors(tmp_path, capsys):
    official = random_official_state_dict(with_scale=False, seed=6)
    src, dst = tmp_path / 'higher.pth', tmp_path / 'out.pth'
    torch.save(official, src)
    assert cli.main([str(src), str(dst)]) == 0  # picks a HigherHRNet model
    out = capsys.readouterr().out
    assert 'official HigherHRNet checkpoint, HRNet-W32, 17 keypoints' in out
    assert torch.load(dst, weights_only=True)['meta']['with_scale'] is False
    # ... and a SWAHR config refuses it with a pointer to the right family
    assert cli.main([str(src), str(dst), '--config', BASE_W32]) == 1
    assert 'higherhrnet_* config' in capsys.readouterr().err


def test_official_file_loads_through_mmengine_with_the_revise_keys(tmp_path, swahr_w32):
    """The conversion is MMEngine's revise_keys: an official DDP checkpoint loads strictly without converting."""
    official = random_official_state_dict(seed=7)
    src = tmp_path / 'checkpoint.pth.tar'
    torch.save({'state_dict': OrderedDict(('module.' + k, v) for k, v in official.items())}, src)
    load_checkpoint(swahr_w32, str(src), map_location='cpu', strict=True, revise_keys=OFFICIAL_REVISE_KEYS)
    _assert_landed(swahr_w32, official)


def test_cli_unreadable_files_get_one_clear_line(tmp_path, capsys):
    """A missing file, random bytes and a truncated download give a message, not a traceback; only a real checkpoint
    that weights_only refuses suggests --unsafe-load."""
    dst = str(tmp_path / 'out.pth')
    assert cli.main([str(tmp_path / 'nope.pth'), dst]) == 1
    assert 'checkpoint not found' in capsys.readouterr().err
    (tmp_path / 'random.pth').write_bytes(random.Random(0).randbytes(4096))
    truncated = tmp_path / 'truncated.pth'
    torch.save(random_official_state_dict(), truncated)
    truncated.write_bytes(truncated.read_bytes()[:1000])
    for name in ('random.pth', 'truncated.pth'):
        assert cli.main([str(tmp_path / name), dst]) == 1
        err = capsys.readouterr().err
        assert err.startswith('ERROR: ') and 'Traceback' not in err, err
        assert '--unsafe-load' not in err and ('not a PyTorch checkpoint' in err or 'corrupt' in err), err
    pickled = tmp_path / 'with_objects.pth'
    torch.save({'state_dict': random_official_state_dict(), 'args': SimpleNamespace(lr=1)}, pickled)
    assert cli.main([str(pickled), dst]) == 1
    assert '--unsafe-load' in capsys.readouterr().err
