"""Keypoint codecs: ``AEDecoder`` (associative-embedding grouping)."""
from .ae_decoder import REFERENCE_KEYPOINT_ORDER, AEDecoder

__all__ = ['AEDecoder', 'REFERENCE_KEYPOINT_ORDER']
