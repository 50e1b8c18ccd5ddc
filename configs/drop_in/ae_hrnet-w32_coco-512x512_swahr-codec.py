# MMPose's own associative-embedding model (BottomupPoseEstimator + AssociativeEmbeddingHead, HRNet-W32, 512 px)
# with only its codec replaced by SWAHR's: the same arguments, reference-exact targets and grouping. MMPose's config
# has no training pipeline; the one below uses MMPose's own transforms. Training needs one more change: MMPose's
# head passes per-person keypoint weights (sum of N_i, K) to its heatmap loss, which KeypointMSELoss rejects as soon
# as a batch holds more people than images; WeightAdaptiveMSELoss ignores them (use_target_weight=False).
_base_ = ['mmpose::body_2d_keypoint/associative_embedding/coco/ae_hrnet-w32_8xb24-300e_coco-512x512.py']
custom_imports = dict(imports=['swahr_mmpose'], allow_failed_imports=False)

codec = dict(
    type='MultiLevelAssociativeEmbedding',
    input_size=(512, 512),
    heatmap_size=(128, 128),
    sigma=2,
    decode_topk=30,
    decode_center_shift=0.5,
    decode_keypoint_order=[0, 1, 2, 3, 4, 5, 6, 11, 12, 7, 8, 9, 10, 13, 14, 15, 16],
    decode_max_instances=30)

model = dict(
    head=dict(
        keypoint_loss=dict(type='WeightAdaptiveMSELoss', use_target_weight=False),
        decoder=dict(codec, heatmap_size=codec['input_size'])))

train_pipeline = [
    dict(type='LoadImage'),
    dict(type='BottomupRandomAffine', input_size=codec['input_size']),
    dict(type='RandomFlip', direction='horizontal'),
    dict(type='GenerateTarget', encoder=codec),
    dict(type='BottomupGetHeatmapMask'),
    dict(type='PackPoseInputs'),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
