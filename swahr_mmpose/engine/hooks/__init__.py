"""Hooks, registered in ``mmpose.registry.HOOKS``."""
from .time_budget import TrainingTimeBudgetHook

__all__ = ['TrainingTimeBudgetHook']
