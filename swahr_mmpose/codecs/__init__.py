"""Keypoint codecs, registered in ``mmpose.registry.KEYPOINT_CODECS``.

- ``MultiLevelAssociativeEmbedding``: the SWAHR / HigherHRNet codec; encodes multi-resolution Gaussian heatmaps and
  tag indices by the reference rules and decodes by the reference's tag grouping.
- ``AEDecoder``: the grouping alone, for heads that only need a decoder.
"""
from .ae_decoder import REFERENCE_KEYPOINT_ORDER, AEDecoder, reference_keypoint_order
from .multilevel_associative_embedding import MultiLevelAssociativeEmbedding

__all__ = ['AEDecoder', 'MultiLevelAssociativeEmbedding', 'REFERENCE_KEYPOINT_ORDER', 'reference_keypoint_order']
