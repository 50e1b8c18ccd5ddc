"""Data-side components: bottom-up transforms and target generation."""
from . import transforms  # noqa: F401
