"""SWAHR / HigherHRNet losses, registered in ``mmpose.registry.MODELS``."""
from .ae_loss import BatchedAssociativeEmbeddingLoss
from .weight_adaptive_mse import WeightAdaptiveMSELoss

__all__ = ['BatchedAssociativeEmbeddingLoss', 'WeightAdaptiveMSELoss']
