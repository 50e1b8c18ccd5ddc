"""``tools/train.py --resume`` with nothing to resume stops (MMEngine would log "Auto resumed from the latest
checkpoint None." and train from scratch), unless ``--allow-fresh-start`` asks for a fresh start."""
import runpy
import sys

import pytest

from swahr_mmpose.utils.resume import ALLOW_FRESH_START, NothingToResumeError, check_resume_args
from e2e_helpers import REPO_ROOT, build_runner, tiny_data_overrides, tiny_model_overrides, write_config

RUN = '''
train_cfg = dict(_delete_=True, type='IterBasedTrainLoop', max_iters=1, val_interval=100)
default_hooks = dict(checkpoint=dict(by_epoch=False, interval=1, save_best=None))
'''


@pytest.fixture(scope='module')
def cfg(tiny_coco, tmp_path_factory):
    tmp = tmp_path_factory.mktemp('preflight')
    return write_config(tmp / 'cfg.py', 'swahr_hrnet_w32_synthetic.py',
                        tiny_data_overrides(tiny_coco, input_size=64) + tiny_model_overrides() + RUN)


def test_train_resume_in_an_empty_work_dir_stops(cfg, tmp_path, monkeypatch):
    """tools/train.py as a script, in this process (a subprocess would spend ~10 s importing torch and MMPose)."""
    work_dir = tmp_path / 'typo'
    monkeypatch.setattr(sys, 'argv', ['train.py', str(cfg), '--work-dir', str(work_dir), '--resume'])
    with pytest.raises(SystemExit) as info:
        runpy.run_path(str(REPO_ROOT / 'tools' / 'train.py'), run_name='__main__')
    assert f'nothing to resume: the work dir {work_dir} does not exist' in str(info.value.code)
    assert not work_dir.exists()  # nothing was trained


def test_resume_args(cfg, tmp_path):
    work_dir = tmp_path / 'work'
    work_dir.mkdir()
    args = [str(cfg), '--work-dir', str(work_dir), '--resume']
    with pytest.raises(NothingToResumeError, match='has no last_checkpoint file'):
        check_resume_args(args)
    assert check_resume_args(args + [ALLOW_FRESH_START]) == [str(cfg), '--work-dir', str(work_dir)]
    (work_dir / 'last_checkpoint').write_text(str(work_dir / 'iter_3.pth'))
    (work_dir / 'iter_2.pth').write_bytes(b'')
    with pytest.raises(
            NothingToResumeError,
            match=r"iter_3.pth', which does not exist; checkpoints in the work dir: "
            r"\['iter_2.pth'\]"):
        check_resume_args(args)
    (work_dir / 'iter_3.pth').write_bytes(b'')
    assert check_resume_args(args) == args
    missing = str(tmp_path / 'missing.pth')
    with pytest.raises(NothingToResumeError, match='missing.pth does not exist'):
        check_resume_args([str(cfg), '--resume', missing])
    assert check_resume_args([str(cfg), '--resume', missing, ALLOW_FRESH_START]) == [str(cfg)]
    assert check_resume_args([str(cfg)]) == [str(cfg)]  # no --resume: untouched


def test_the_runtime_stops_resume_with_nothing_to_resume(cfg, tmp_path, monkeypatch):
    """``mim train mmpose CONFIG --resume`` and Python runs go through the runtime's ResumeCheckHook instead."""
    from mmengine.config import Config

    monkeypatch.setattr(Config, 'pretty_text', property(lambda self: self.text))  # the runner's yapf dump: slow
    with pytest.raises(
            NothingToResumeError, match='resume=True: nothing to resume: the work dir .* has no '
            'last_checkpoint file'):
        build_runner(cfg, tmp_path / 'empty', {'resume': True}).train()
    assert not list((tmp_path / 'empty').glob('*.pth'))
    build_runner(cfg, tmp_path / 'fresh', {'resume': True, 'allow_fresh_start': True}).train()
    assert (tmp_path / 'fresh' / 'iter_1.pth').is_file()


@pytest.mark.parametrize('argv', [['-h'], ['--help'], ['--resume', '-h'], []], ids=['h', 'help', 'resume-h', 'none'])
def test_help_and_usage_errors_are_left_to_mmpose(argv):
    """`mim train` runs `train.py -h` and needs exit status 0: the resume pre-check must not parse help or a missing
    config itself (MMPose's parser prints the help, or the usage error, with every option)."""
    assert check_resume_args(argv) == argv


def test_train_tool_prints_help_with_status_0(monkeypatch, capsys):
    monkeypatch.setattr(sys, 'argv', ['train.py', '-h'])
    with pytest.raises(SystemExit) as info:
        runpy.run_path(str(REPO_ROOT / 'tools' / 'train.py'), run_name='__main__')
    assert info.value.code == 0
    assert '--cfg-options' in capsys.readouterr().out
