"""SWAHR / HigherHRNet losses, registered in ``mmpose.registry.MODELS``."""
from .ae_loss import BatchedAssociativeEmbeddingLoss
from .weight_adaptive_mse import ScaleRegularizationLoss, WeightAdaptiveMSELoss

__all__ = ['BatchedAssociativeEmbeddingLoss', 'ScaleRegularizationLoss', 'WeightAdaptiveMSELoss']
