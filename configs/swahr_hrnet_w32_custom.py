# SWAHR HRNet-W32 (the COCO W32 recipe, 512x512 input) on YOUR OWN COCO-format keypoint data set: people, hands,
# animals, any number of joints. Copy this file and change the settings of the first block; everything else follows
# from them (docs/custom_dataset.md walks through it). Before the first iteration, ConsistencyCheckHook compares the
# codec, the head, the flip pairs, the decoder's joint order and CocoMetric's sigmas with the metainfo and names the
# setting to change when they disagree.
_base_ = ['./swahr_hrnet_w32_coco.py']

# ---------------------------------------------------------------------------------------- change these settings
# The keypoint set: an MMPose metainfo file (configs/_base_/datasets/*.py style: keypoint names and `swap` mirror
# names, skeleton links, joint_weights, OKS sigmas). MMPose's own files (coco.py, crowdpose.py, aic.py, mpii.py,
# halpe26.py, ap10k.py, ...) are found by name; your own one by its path, relative to where you run the tools.
metainfo = dict(from_file='configs/_base_/datasets/ap10k.py')
num_keypoints = 17  # len(keypoint_info) of that file (checked against it)
data_root = 'data/my_dataset/'
train_ann_file = 'annotations/train.json'
train_img_prefix = 'images/train/'
val_ann_file = 'annotations/val.json'
val_img_prefix = 'images/val/'
# Your files mark unlabelled people (iscrowd=1 regions or num_keypoints=0 annotations with a segmentation): their
# heatmap loss is masked out (the reference's COCO setting). False when they are not marked (CrowdPose does not).
use_ignore_mask = True
# ---------------------------------------------------------------------------------------------------------------

# One codec for targets and decoding; decode_keypoint_order=metainfo: grouping visits the joints in the metainfo's
# default order (COCO-17 / CrowdPose-14: the reference order; any other set: a walk of its skeleton).
codec = dict(_base_.codec, num_keypoints=num_keypoints, decode_keypoint_order=metainfo)
train_pipeline = _base_.train_pipeline
train_pipeline[3].encoder = codec  # ScaleAdaptiveGenerateTarget
train_pipeline[3].use_ignore_mask = use_ignore_mask

model = dict(head=dict(num_keypoints=num_keypoints, decoder=codec))
train_dataloader = dict(
    dataset=dict(
        metainfo=metainfo,
        data_root=data_root,
        ann_file=train_ann_file,
        data_prefix=dict(img=train_img_prefix),
        pipeline=train_pipeline))
val_dataloader = dict(
    dataset=dict(metainfo=metainfo, data_root=data_root, ann_file=val_ann_file, data_prefix=dict(img=val_img_prefix)))
test_dataloader = val_dataloader
# CocoMetric takes its OKS sigmas from the dataset's metainfo.
val_evaluator = dict(ann_file=data_root + val_ann_file)
test_evaluator = val_evaluator
