# HRNet-W32 + HigherHRNet head with SWAHR scale branches. Model configs set `head.decoder` to their codec and, for
# the HigherHRNet baselines, `with_scale=False`.
model = dict(
    # MMPose's BottomupPoseEstimator / PoseDataPreprocessor, extended to accept the image pyramid of multi-scale
    # test and to map output heatmaps to the image; single-scale behaviour is theirs.
    type='MultiScaleBottomupPoseEstimator',
    data_preprocessor=dict(
        type='MultiScalePoseDataPreprocessor',
        # ImageNet statistics on the 0-255 scale; LoadImage yields BGR.
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        bgr_to_rgb=True),
    backbone=dict(
        type='HRNet',
        in_channels=3,
        extra=dict(
            stage1=dict(num_modules=1, num_branches=1, block='BOTTLENECK', num_blocks=(4, ), num_channels=(64, )),
            stage2=dict(num_modules=1, num_branches=2, block='BASIC', num_blocks=(4, 4), num_channels=(32, 64)),
            stage3=dict(num_modules=4, num_branches=3, block='BASIC', num_blocks=(4, 4, 4), num_channels=(32, 64, 128)),
            stage4=dict(
                num_modules=3, num_branches=4, block='BASIC', num_blocks=(4, 4, 4, 4),
                num_channels=(32, 64, 128, 256))),
        init_cfg=dict(
            type='Pretrained',
            checkpoint='https://download.openmmlab.com/mmpose/pretrain_models/hrnet_w32-36af842e.pth'),
    ),
    head=dict(
        type='SWAHRHead',
        in_channels=32,
        num_keypoints=17,
        with_scale=True,
        heatmap_loss=dict(type='WeightAdaptiveMSELoss', gamma=0.01, target_mode='taylor', weight_mode='soft'),
        scale_loss=dict(type='ScaleRegularizationLoss', loss_weight=1.0),
        tag_loss=dict(type='BatchedAssociativeEmbeddingLoss', pull_loss_factor=0.001, push_loss_factor=0.001)),
    test_cfg=dict(multiscale_test=False, flip_test=True, align_corners=False))
