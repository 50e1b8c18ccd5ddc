"""swahr_mmpose: SWAHR and HigherHRNet bottom-up pose estimation for MMPose 1.x.

Importing this package registers every component into MMPose's own registries
(``mmpose.registry.MODELS``, ``TRANSFORMS``, ``KEYPOINT_CODECS``), so any MMPose
config can use them by ``type`` name after
``custom_imports=dict(imports=['swahr_mmpose'], allow_failed_imports=False)``.

It also allow-lists the (few, known) Python objects inside MMEngine checkpoints
for ``torch.load(weights_only=True)``, which torch >= 2.6 uses by default and
MMEngine 0.10.7 does not opt out of (see :mod:`swahr_mmpose.utils.checkpoint`).
"""
from .utils.checkpoint import allow_mmengine_checkpoints

allow_mmengine_checkpoints()

from . import codecs, datasets, engine, models, visualization  # noqa: E402,F401
from .version import __version__  # noqa: E402

__all__ = ['__version__', 'allow_mmengine_checkpoints']
