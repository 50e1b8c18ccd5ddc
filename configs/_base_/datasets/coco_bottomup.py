# COCO keypoints, bottom-up mode (one sample per image). Model configs fill in
# the pipelines, which depend on the input size.
# CheckedCocoDataset = MMPose's CocoDataset that checks the annotation file when
# it loads it (before the first iteration) and fails on a bad annotation; set
# `bad_annotations='skip'` on a dataset to train with bad people masked instead.
dataset_type = 'CheckedCocoDataset'
data_mode = 'bottomup'
data_root = 'data/coco/'

train_dataloader = dict(
    batch_size=20,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        data_mode=data_mode,
        ann_file='annotations/person_keypoints_train2017.json',
        data_prefix=dict(img='train2017/'),
        pipeline=[]))
val_dataloader = dict(
    batch_size=1,
    num_workers=2,
    persistent_workers=True,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False, round_up=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        data_mode=data_mode,
        ann_file='annotations/person_keypoints_val2017.json',
        data_prefix=dict(img='val2017/'),
        test_mode=True,
        pipeline=[]))
test_dataloader = val_dataloader

# Bottom-up: no OKS-NMS, person score = the AE decoder's instance score
# (mean joint value, as the reference).
val_evaluator = dict(
    type='CocoMetric',
    ann_file=data_root + 'annotations/person_keypoints_val2017.json',
    nms_mode='none',
    score_mode='bbox')
test_evaluator = val_evaluator
