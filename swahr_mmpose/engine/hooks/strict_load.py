"""Check every checkpoint the runner loads against the model (MMEngine loads with ``strict=False``)."""
from typing import Optional

from mmengine.hooks import Hook
from mmpose.registry import HOOKS

from ...utils.checkpoint_match import check_state_dict


@HOOKS.register_module()
class StrictCheckpointLoadHook(Hook):
    """Check every checkpoint the runner loads (``load_from``, ``resume``, ``tools/test.py CHECKPOINT``) against the
    model before it is loaded (MMEngine's ``after_load_checkpoint`` runs between reading and loading).

    Args:
        allow_partial: allow a partial ``load_from`` (fine-tuning); ``None``: the config's top-level
            ``load_partial`` (default False). Resuming is always strict.
    """

    priority = 'VERY_HIGH'

    def __init__(self, allow_partial: Optional[bool] = None) -> None:
        self.allow_partial = allow_partial

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        cfg = getattr(runner, 'cfg', None) or {}
        allow = cfg.get('load_partial', False) if self.allow_partial is None else self.allow_partial
        resuming = bool(cfg.get('resume', False))
        source = cfg.get('load_from') or 'the checkpoint being resumed'
        check_state_dict(runner.model, checkpoint, source=str(source), allow_partial=bool(allow) and not resuming)
