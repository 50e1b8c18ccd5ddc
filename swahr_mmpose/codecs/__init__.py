"""Keypoint codecs, registered in ``mmpose.registry.KEYPOINT_CODECS``.

- ``MultiLevelAssociativeEmbedding``: the SWAHR / HigherHRNet codec; encodes multi-resolution Gaussian heatmaps and
  tag indices by the reference rules and decodes by the reference's tag grouping.
- ``AEDecoder``: the grouping alone, for heads that only need a decoder.
- ``default_keypoint_order``: the joint order grouping visits, for any keypoint set (from its metainfo).
"""
from .ae_decoder import AEDecoder
from .multilevel_associative_embedding import MultiLevelAssociativeEmbedding
from .utils.keypoint_order import (REFERENCE_KEYPOINT_ORDER, default_keypoint_order, is_reference_keypoint_set,
                                   reference_keypoint_order, skeleton_keypoint_order)

__all__ = [
    'AEDecoder', 'MultiLevelAssociativeEmbedding', 'REFERENCE_KEYPOINT_ORDER', 'reference_keypoint_order',
    'default_keypoint_order', 'skeleton_keypoint_order', 'is_reference_keypoint_set'
]
