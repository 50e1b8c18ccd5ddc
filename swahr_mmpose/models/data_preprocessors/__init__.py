"""Data preprocessors: batch normalisation of test image pyramids."""
from .multiscale_preprocessor import MultiScalePoseDataPreprocessor

__all__ = ['MultiScalePoseDataPreprocessor']
