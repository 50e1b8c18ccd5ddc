# SWAHR, HRNet-W48, COCO, 640x640 input, heatmaps at 160 and 320: the W32 recipe with another width and size.
# Reference: 8 GPUs x 10 images, peak LR 0.00096, SyncBN.
_base_ = ['./swahr_hrnet_w32_coco.py']

codec = dict(_base_.codec, input_size=(640, 640), heatmap_size=[(160, 160), (320, 320)], decode_keypoint_thr=0.1)
# The pipelines are the W32 ones; only the two steps that read the sizes change.
train_pipeline = _base_.train_pipeline
train_pipeline[1].input_size = codec['input_size']  # HigherHRNetRandomAffine
train_pipeline[3].encoder = codec  # ScaleAdaptiveGenerateTarget
val_pipeline = _base_.val_pipeline
val_pipeline[1].input_size = codec['input_size']  # ReferenceBottomupResize

model = dict(
    use_syncbn=True,  # as the reference (a no-op on a single process)
    backbone=dict(
        extra=dict(
            stage2=dict(num_channels=(48, 96)),
            stage3=dict(num_channels=(48, 96, 192)),
            stage4=dict(num_channels=(48, 96, 192, 384))),
        init_cfg=dict(checkpoint='https://download.openmmlab.com/mmpose/pretrain_models/hrnet_w48-8ef0771d.pth')),
    head=dict(in_channels=48, decoder=codec))
optim_wrapper = dict(optimizer=dict(lr=0.00096))
auto_scale_lr = dict(base_batch_size=80)
train_dataloader = dict(batch_size=10, dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=val_pipeline))
test_dataloader = val_dataloader
