"""Hooks, registered in ``mmpose.registry.HOOKS``.

Our runtime (``configs/_base_/default_runtime.py``) turns on the three checks: ``ConsistencyCheckHook`` and
``EvaluatorAnnotationCheckHook`` before the first iteration, ``DivergenceGuardHook`` during training.
``StrictCheckpointLoadHook`` fails on a checkpoint that does not fit the model, ``ResumeCheckHook`` on
``resume=True`` with nothing to resume; ``AtomicCheckpointHook`` replaces
MMEngine's ``CheckpointHook`` (a crash while saving keeps the previous checkpoint). ``ChannelsLastHook`` is opt-in
(the CPU quickstart uses it).
"""
from .annotation_check import EvaluatorAnnotationCheckHook
from .atomic_checkpoint import AtomicCheckpointHook
from .channels_last import ChannelsLastHook
from .consistency_check import (ConfigConsistencyError, ConsistencyCheckHook, check_dataset_against_head,
                                check_evaluator_sigmas, check_feature_stride, check_flip_indices, check_keypoint_order,
                                check_model_data_consistency)
from .divergence_guard import DivergenceError, DivergenceGuardHook
from .resume_check import ResumeCheckHook
from .strict_load import StrictCheckpointLoadHook
from .time_budget import TrainingTimeBudgetHook

__all__ = [
    'TrainingTimeBudgetHook', 'EvaluatorAnnotationCheckHook', 'ConsistencyCheckHook', 'ConfigConsistencyError',
    'check_dataset_against_head', 'check_feature_stride', 'check_model_data_consistency', 'check_flip_indices',
    'check_keypoint_order', 'check_evaluator_sigmas', 'DivergenceGuardHook', 'DivergenceError', 'ChannelsLastHook',
    'AtomicCheckpointHook', 'StrictCheckpointLoadHook', 'ResumeCheckHook'
]
