# SWAHR, HRNet-W48, COCO, 640x640 input, heatmaps at 160 and 320.
# Reference: 8 GPUs x 10 images, peak LR 0.00096, SyncBN.
_base_ = [
    './_base_/schedules/adam_warmup_linear_300e.py',
    './_base_/datasets/coco_bottomup.py',
    './_base_/models/swahr_hrnet_w48.py',
]

input_size = 640
heatmap_sizes = [(160, 160), (320, 320)]

optim_wrapper = dict(optimizer=dict(lr=0.00096))
auto_scale_lr = dict(base_batch_size=80)
# The reference trains W48 with SyncBN (a no-op on a single process).
model = dict(use_syncbn=True)

train_pipeline = [
    dict(type='LoadImage'),
    dict(
        type='HigherHRNetRandomAffine',
        input_size=(input_size, input_size),
        scale_factor=(0.75, 1.5),
        scale_type='short',
        rotate_factor=30,
        max_translate=40),
    dict(type='BottomupRandomHorizontalFlip', prob=0.5),
    dict(
        type='ScaleAdaptiveGenerateTarget',
        input_size=(input_size, input_size),
        heatmap_sizes=heatmap_sizes,
        sigma=2,
        max_num_people=30,
        use_ignore_mask=True),
    dict(
        type='PackPoseInputs',
        meta_keys=('id', 'img_id', 'img_path', 'ori_shape', 'img_shape',
                   'input_size', 'flip', 'flip_direction', 'flip_indices')),
]
val_pipeline = [
    dict(type='LoadImage'),
    dict(type='ReferenceBottomupResize', input_size=input_size),
    dict(
        type='PackMultiScalePoseInputs',
        meta_keys=('id', 'img_id', 'img_path', 'crowd_index', 'ori_shape',
                   'img_shape', 'input_size', 'input_center', 'input_scale',
                   'flip', 'flip_direction', 'flip_indices', 'raw_ann_info',
                   'skeleton_links')),
]

train_dataloader = dict(batch_size=10, dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=val_pipeline))
test_dataloader = val_dataloader
