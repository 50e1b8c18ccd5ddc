"""Model-side components: the SWAHR / HigherHRNet head, its losses, and the
estimator / data preprocessor that accept test-time image pyramids."""
from . import data_preprocessors, heads, losses, pose_estimators  # noqa: F401
