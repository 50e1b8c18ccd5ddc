# SWAHR (HigherHRNet + scale/weight-adaptive heatmap regression), HRNet-W32,
# COCO, 512x512 input, heatmaps at 128 and 256. Reference: 8 GPUs x 20 images.
_base_ = [
    './_base_/schedules/adam_warmup_linear_300e.py',
    './_base_/datasets/coco_bottomup.py',
    './_base_/models/swahr_hrnet_w32.py',
]

input_size = 512
heatmap_sizes = [(128, 128), (256, 256)]

optim_wrapper = dict(optimizer=dict(lr=0.002))
auto_scale_lr = dict(base_batch_size=160)

# The reference W32 COCO config detects joints above 0.12 (0.1 elsewhere).
model = dict(head=dict(decoder=dict(keypoint_thr=0.12)))

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

train_dataloader = dict(batch_size=20, dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=val_pipeline))
test_dataloader = val_dataloader
