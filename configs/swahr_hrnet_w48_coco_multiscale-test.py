# Multi-scale testing of SWAHR W48-640 (the paper's multi-scale rows use
# scales 0.5, 1 and 2): heatmaps are averaged over scales, tags come from
# scale 1. Use for `mim test` / tools/test.py with a trained checkpoint.
_base_ = ['./swahr_hrnet_w48_coco.py']

model = dict(test_cfg=dict(multiscale_test=True))

val_pipeline = [
    dict(type='LoadImage'),
    dict(type='ReferenceBottomupResize', input_size=640, aug_scales=[0.5, 2.0]),
    dict(
        type='PackMultiScalePoseInputs',
        meta_keys=('id', 'img_id', 'img_path', 'crowd_index', 'ori_shape',
                   'img_shape', 'input_size', 'input_center', 'input_scale',
                   'flip', 'flip_direction', 'flip_indices', 'raw_ann_info',
                   'skeleton_links')),
]
val_dataloader = dict(batch_size=1, dataset=dict(pipeline=val_pipeline))
test_dataloader = val_dataloader
