"""Optimizer wrappers."""
from .native_bf16 import NativeBF16OptimWrapper

__all__ = ['NativeBF16OptimWrapper']
