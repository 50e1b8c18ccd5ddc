# SWAHR (HigherHRNet + scale/weight-adaptive heatmap regression), HRNet-W32, COCO, 512x512 input, heatmaps at 128
# and 256. Reference: 8 GPUs x 20 images. This config writes the pipelines; the other model configs inherit them
# and change only the sizes (through `codec`).
_base_ = [
    './_base_/schedules/adam_warmup_linear_300e.py',
    './_base_/datasets/coco_bottomup.py',
    './_base_/models/swahr_hrnet_w32.py',
]

# One codec for the targets (pipeline) and the grouping (head): the single source of every size.
codec = dict(
    type='MultiLevelAssociativeEmbedding',
    input_size=(512, 512),
    heatmap_size=[(128, 128), (256, 256)],  # 1/4 and 1/2 of the input
    num_keypoints=17,
    sigma=2,
    max_num_people=30,
    decode_keypoint_thr=0.12,  # the reference W32 COCO config (0.1 in the others)
    decode_tag_thr=1.0,
    decode_topk=30,
    decode_nms_kernel=5)

train_pipeline = [
    dict(type='LoadImage'),
    dict(
        type='HigherHRNetRandomAffine',
        input_size=codec['input_size'],
        scale_factor=(0.75, 1.5),
        scale_type='short',
        rotate_factor=30,
        max_translate=40),
    dict(type='BottomupRandomHorizontalFlip', prob=0.5),
    dict(type='ScaleAdaptiveGenerateTarget', encoder=codec, use_ignore_mask=True),
    dict(
        type='PackPoseInputs',
        meta_keys=('id', 'img_id', 'img_path', 'ori_shape', 'img_shape', 'input_size', 'flip', 'flip_direction',
                   'flip_indices')),
]
val_pipeline = [
    dict(type='LoadImage'),
    dict(type='ReferenceBottomupResize', input_size=codec['input_size']),
    dict(
        type='PackMultiScalePoseInputs',
        meta_keys=('id', 'img_id', 'img_path', 'crowd_index', 'ori_shape', 'img_shape', 'input_size', 'input_center',
                   'input_scale', 'flip', 'flip_direction', 'flip_indices', 'raw_ann_info', 'skeleton_links')),
]

model = dict(head=dict(decoder=codec))
optim_wrapper = dict(optimizer=dict(lr=0.002))
auto_scale_lr = dict(base_batch_size=160)
train_dataloader = dict(batch_size=20, dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=val_pipeline))
test_dataloader = val_dataloader
