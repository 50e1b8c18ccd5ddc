"""Heads: ``SWAHRHead`` (HigherHRNet + SWAHR scale branches)."""
from .swahr_head import SWAHRHead, SWAHROutputs

__all__ = ['SWAHRHead', 'SWAHROutputs']
