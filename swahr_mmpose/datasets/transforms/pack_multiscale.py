"""``PackMultiScalePoseInputs``: ``PackPoseInputs`` that can pack an image pyramid.

MMPose 1.3.2's ``PackPoseInputs`` ``torch.stack``-s a list of images, which
fails for a test pyramid (every scale has another size), and its default
``meta_keys`` drop ``aug_scales``, which the model needs to know the scales.
"""
from typing import Dict, Sequence

import numpy as np
from mmpose.datasets.transforms.formatting import PackPoseInputs, image_to_tensor
from mmpose.registry import TRANSFORMS

DEFAULT_META_KEYS = ('id', 'img_id', 'img_path', 'category_id', 'crowd_index', 'ori_shape', 'img_shape', 'input_size',
                     'input_center', 'input_scale', 'flip', 'flip_direction', 'flip_indices', 'raw_ann_info',
                     'dataset_name', 'aug_scales')


@TRANSFORMS.register_module()
class PackMultiScalePoseInputs(PackPoseInputs):
    """Pack one image or a pyramid ``[scale 1.0, *aug_scales]`` of images.

    With a single ``img`` array this is exactly ``PackPoseInputs``. With a list
    (from ``ReferenceBottomupResize(aug_scales=...)`` or MMPose's
    ``BottomupResize(aug_scales=...)``) ``inputs`` becomes a list of (C, H_s,
    W_s) uint8 tensors, one per scale in the pipeline's order; the data sample
    is packed as for the first (scale-1) image.

    Args:
        meta_keys: as ``PackPoseInputs``; ``aug_scales`` is always added.
        pack_transformed: as ``PackPoseInputs``.
    """

    def __init__(self, meta_keys: Sequence[str] = DEFAULT_META_KEYS, pack_transformed: bool = False) -> None:
        meta_keys = tuple(meta_keys)
        if 'aug_scales' not in meta_keys:
            meta_keys += ('aug_scales', )
        super().__init__(meta_keys=meta_keys, pack_transformed=pack_transformed)

    def transform(self, results: Dict) -> Dict:
        imgs = results.get('img')
        if not isinstance(imgs, (list, tuple)):
            return super().transform(results)

        if not imgs or not all(isinstance(i, np.ndarray) for i in imgs):
            raise ValueError('PackMultiScalePoseInputs: `img` must be an array or a '
                             'non-empty list of arrays (one per scale).')
        aug_scales = results.get('aug_scales') or []
        if len(imgs) != len(aug_scales) + 1:
            raise ValueError(f'PackMultiScalePoseInputs: got {len(imgs)} images but '
                             f'`aug_scales`={aug_scales!r}; expected 1 + len(aug_scales) '
                             'images ordered [scale 1.0, *aug_scales].')
        packed = super().transform({**results, 'img': imgs[0]})
        packed['inputs'] = [image_to_tensor(img) for img in imgs]
        return packed
