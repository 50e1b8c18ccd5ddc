"""Hooks, registered in ``mmpose.registry.HOOKS``.

Our runtime (``configs/_base_/default_runtime.py``) turns on ``EvaluatorAnnotationCheckHook``.
"""
from .annotation_check import EvaluatorAnnotationCheckHook
from .time_budget import TrainingTimeBudgetHook

__all__ = ['TrainingTimeBudgetHook', 'EvaluatorAnnotationCheckHook']
