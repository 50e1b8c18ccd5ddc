"""Heads: ``SWAHRHead`` (HigherHRNet + SWAHR scale branches)."""
from .swahr_head import SWAHRHead, check_test_cfg

__all__ = ['SWAHRHead', 'check_test_cfg']
