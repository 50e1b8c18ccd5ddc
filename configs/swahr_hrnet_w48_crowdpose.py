# SWAHR, HRNet-W48, CrowdPose (14 joints), 640x640 input, heatmaps 160 / 320: the W48 COCO recipe on CrowdPose.
# Trained on trainval, evaluated on test, with MMPose's CrowdPose annotation files (see MMPose's dataset preparation
# docs). The reference builds no ignore mask for CrowdPose, and initialises only the backbone from ImageNet (MMPose's
# HRNet checkpoint is backbone-only anyway).
_base_ = ['./swahr_hrnet_w48_coco.py']

data_root = 'data/crowdpose/'
crowdpose = dict(type='CheckedCrowdPoseDataset', data_root=data_root, data_prefix=dict(img='images/'))

codec = dict(_base_.codec, num_keypoints=14)
train_pipeline = _base_.train_pipeline
train_pipeline[3].encoder = codec  # ScaleAdaptiveGenerateTarget
train_pipeline[3].use_ignore_mask = False

model = dict(head=dict(num_keypoints=14, decoder=codec))
default_hooks = dict(checkpoint=dict(save_best='crowdpose/AP'))
train_dataloader = dict(
    dataset=dict(crowdpose, ann_file='annotations/mmpose_crowdpose_trainval.json', pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(crowdpose, ann_file='annotations/mmpose_crowdpose_test.json'))
test_dataloader = val_dataloader
val_evaluator = dict(
    ann_file=data_root + 'annotations/mmpose_crowdpose_test.json',
    use_area=False,
    iou_type='keypoints_crowd',
    prefix='crowdpose')
test_evaluator = val_evaluator
