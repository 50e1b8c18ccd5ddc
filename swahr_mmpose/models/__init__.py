"""Model-side components: the SWAHR / HigherHRNet head and its losses."""
from . import heads, losses  # noqa: F401
