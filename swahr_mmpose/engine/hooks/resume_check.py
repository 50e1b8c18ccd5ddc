"""``resume=True`` with nothing to resume stops the run (``mim train --resume`` and Python runs too)."""
from mmengine.hooks import Hook
from mmpose.registry import HOOKS

from ...utils.resume import NothingToResumeError, resumable_checkpoint


@HOOKS.register_module()
class ResumeCheckHook(Hook):
    """Fail in ``before_run`` when the config asks to resume (``resume=True``, no ``load_from``) and the work dir has
    no checkpoint to resume from.

    MMEngine 0.10.7 (``Runner.load_or_resume``, which runs after ``before_run``) then logs "Auto resumed from the
    latest checkpoint None." and trains from scratch. ``tools/train.py`` checks the same before it builds anything;
    this hook covers ``mim train mmpose CONFIG --resume`` and runners built in Python. A top-level
    ``allow_fresh_start=True`` in the config starts from scratch instead.
    """

    priority = 'VERY_HIGH'

    def before_run(self, runner) -> None:
        cfg = runner.cfg
        if not cfg.get('resume', False) or cfg.get('load_from') or cfg.get('allow_fresh_start', False):
            return
        try:
            resumable_checkpoint(runner.work_dir)
        except FileNotFoundError as error:
            raise NothingToResumeError(
                f'resume=True: nothing to resume: {error}. Check the work dir, train without --resume to start from '
                'scratch, or set allow_fresh_start=True (--cfg-options allow_fresh_start=True) to start from scratch '
                'when there is nothing to resume.') from None
