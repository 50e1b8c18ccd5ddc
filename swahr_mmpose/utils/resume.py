"""``tools/train.py --resume`` with nothing to resume stops with an error instead of training from scratch.

MMEngine 0.10.7 (``Runner.load_or_resume``) resumes from the work dir's ``last_checkpoint`` and, when there is none,
logs "Auto resumed from the latest checkpoint None." and starts from scratch: a mistyped ``--work-dir`` silently
retrains for days. :func:`check_resume_args` looks before MMPose's ``train.py`` runs: with ``--resume`` (auto or a
path), the checkpoint must exist; ``--allow-fresh-start`` turns the error into a logged fresh start.
"""
import argparse
import os
import os.path as osp
from typing import List, Optional, Sequence

ALLOW_FRESH_START = '--allow-fresh-start'


class NothingToResumeError(SystemExit):
    """``--resume`` was given but there is no checkpoint to resume from (a ``SystemExit``: scripts exit 1)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)


def train_work_dir(config: str, work_dir: Optional[str], cfg_options: Optional[dict] = None) -> str:
    """The work dir MMPose's ``tools/train.py`` uses: ``--work-dir``, else the config's, else ``./work_dirs/NAME``."""
    if work_dir:
        return work_dir
    from mmengine.config import Config

    cfg = Config.fromfile(config)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    if cfg.get('work_dir'):
        return cfg.work_dir
    return osp.join('./work_dirs', osp.splitext(osp.basename(config))[0])


def resumable_checkpoint(work_dir: str) -> str:
    """The checkpoint ``resume=True`` would load (``last_checkpoint``), or raise saying why there is none."""
    pointer = osp.join(work_dir, 'last_checkpoint')
    if not osp.isfile(pointer):
        found = 'does not exist' if not osp.isdir(work_dir) else 'has no last_checkpoint file (no checkpoint saved)'
        raise FileNotFoundError(f'the work dir {work_dir} {found}')
    with open(pointer) as f:
        checkpoint = f.read().strip()
    if not checkpoint or not osp.isfile(checkpoint):
        others = sorted(name for name in os.listdir(work_dir) if name.endswith('.pth'))
        raise FileNotFoundError(
            f'{pointer} names {checkpoint!r}, which does not exist; checkpoints in the work dir: {others or "none"} '
            '(resume from one with --resume PATH)')
    return checkpoint


def check_resume_args(argv: Sequence[str]) -> List[str]:
    """Check ``--resume`` in MMPose ``train.py`` arguments; returns them without ``--allow-fresh-start``.

    Raises:
        NothingToResumeError: ``--resume`` names no existing checkpoint and ``--allow-fresh-start`` is not given.
    """
    from mmengine.config import DictAction

    argv = list(argv)
    allow_fresh = ALLOW_FRESH_START in argv
    argv = [arg for arg in argv if arg != ALLOW_FRESH_START]
    parser = argparse.ArgumentParser(add_help=False)  # MMPose's own parser prints the help and the usage errors
    parser.add_argument('config', nargs='?')
    parser.add_argument('--work-dir')
    parser.add_argument('--resume', nargs='?', type=str, const='auto')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    args, _ = parser.parse_known_args(argv)
    if args.resume is None or args.config is None or {'-h', '--help'} & set(argv):
        return argv
    try:
        if args.resume == 'auto':
            work_dir = train_work_dir(args.config, args.work_dir, args.cfg_options)
            checkpoint = resumable_checkpoint(work_dir)
        elif not osp.isfile(args.resume):
            raise FileNotFoundError(f'the checkpoint {args.resume} does not exist')
        else:
            return argv
    except FileNotFoundError as error:
        if not allow_fresh:
            raise NothingToResumeError(
                f'--resume: nothing to resume: {error}. Check --work-dir, run without --resume to start from scratch, '
                f'or add {ALLOW_FRESH_START} to start from scratch when there is nothing to resume.') from None
        print(f'--resume: nothing to resume ({error}); starting from scratch ({ALLOW_FRESH_START}).', flush=True)
        return _without_resume(argv, args.resume)
    print(f'--resume: resuming from {checkpoint}', flush=True)
    return argv


def _without_resume(argv: List[str], value: str) -> List[str]:
    """``argv`` without ``--resume`` and its value (``value``: as parsed; ``'auto'`` when none was given)."""
    out, i = [], 0
    while i < len(argv):
        if argv[i] == '--resume':
            i += 2 if i + 1 < len(argv) and argv[i + 1] == value else 1
            continue
        if argv[i] != f'--resume={value}':
            out.append(argv[i])
        i += 1
    return out


__all__ = ['check_resume_args', 'resumable_checkpoint', 'train_work_dir', 'NothingToResumeError', 'ALLOW_FRESH_START']
