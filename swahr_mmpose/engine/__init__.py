"""Engine components (hooks, optimizer wrappers)."""
from . import hooks, optim_wrappers  # noqa: F401
