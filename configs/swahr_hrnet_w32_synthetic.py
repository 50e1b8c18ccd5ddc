# CPU quickstart: SWAHR on the synthetic multi-person set written by tools/make_synthetic_coco.py (no download).
# Everything not overridden here (head, losses, targets, augmentation, decoder, test-time aggregation) is the real
# W32 COCO config; the backbone is a reduced HRNet (same 4-stage topology, 1/4 of the width, one module per stage)
# trained from scratch at 128 px network input (images are 256 px). Three recipe changes depart from the reference,
# for this short CPU schedule only (measured in docs/synthetic_results.md):
# - AE push/pull factors 0.1 instead of 0.001: at 0.001 the tags barely learn in ~1500 iterations (push loss
#   0.0004 -> 0.00024; grouping then costs most of the AP); at 0.1 grouping stops being the bottleneck;
# - flip_convention='consistent': the reference shifts flipped training targets by 0.75 / 0.5 level px, which at a
#   128 px input is 3 / 1 input px, a large error for the small people of this set;
# - test_cfg.flip_shift=-0.5: with consistent flip targets (`S - S/I - x` at level px) the flip test's array mirror
#   (`S - x`) puts the flipped pass S/I = 0.5 level-1 px right of the plain one; shifting it back raised AP by
#   0.008-0.018 on each of 3 seeds (0.178 -> 0.193).
_base_ = ['./swahr_hrnet_w32_coco.py']

data_root = 'data/synthetic_coco/'
width = 16
# A fixed number of iterations (not a time budget), so a slower machine reaches the same model later.
max_iters = 1400  # idle 2 cores: 9.0 min with AVX-512, 20.8 min with AVX2 only (docs/synthetic_results.md)
warmup_iters = 50

codec = dict(_base_.codec, input_size=(128, 128), heatmap_size=[(32, 32), (64, 64)], flip_convention='consistent')
train_pipeline = _base_.train_pipeline
train_pipeline[1].input_size = codec['input_size']  # HigherHRNetRandomAffine
train_pipeline[3].encoder = codec  # ScaleAdaptiveGenerateTarget
val_pipeline = _base_.val_pipeline
val_pipeline[1].input_size = codec['input_size']  # ReferenceBottomupResize

model = dict(
    backbone=dict(
        extra=dict(
            stage1=dict(num_blocks=(2, ), num_channels=(32, )),
            stage2=dict(num_blocks=(2, 2), num_channels=(width, 2 * width)),
            stage3=dict(num_modules=1, num_blocks=(2, 2, 2), num_channels=(width, 2 * width, 4 * width)),
            stage4=dict(num_modules=1, num_blocks=(2, 2, 2, 2), num_channels=(width, 2 * width, 4 * width, 8 * width))),
        init_cfg=None),  # no ImageNet weights offline: train from scratch
    head=dict(
        in_channels=width, num_basic_blocks=2, decoder=codec, tag_loss=dict(pull_loss_factor=0.1,
                                                                            push_loss_factor=0.1)),
    test_cfg=dict(flip_shift=-0.5))

# Channels-last convolutions: same math, ~20 % faster training steps on the CPU (swahr_mmpose/engine/hooks).
custom_hooks = _base_.custom_hooks + [dict(type='ChannelsLastHook')]

train_cfg = dict(_delete_=True, type='IterBasedTrainLoop', max_iters=max_iters, val_interval=max_iters)
# bfloat16 autocast where the CPU (or GPU) has native bfloat16 kernels, float32 elsewhere; decided at the first step
# and logged (swahr_mmpose/engine/optim_wrappers). On CPUs without them (e.g. AVX2-only) training is float32, as before.
optim_wrapper = dict(type='NativeBF16OptimWrapper', optimizer=dict(lr=0.004))  # precision='auto'
auto_scale_lr = dict(base_batch_size=16)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=warmup_iters),
    dict(type='PolyLR', power=1.0, eta_min=0.0, by_epoch=False, begin=warmup_iters, end=max_iters),
]
default_hooks = dict(
    logger=dict(interval=20), checkpoint=dict(by_epoch=False, interval=max_iters, save_best='coco/AP', rule='greater'))
log_processor = dict(by_epoch=False)

# The data pipeline runs in the main process: on 2 cores a worker process competes with torch's two threads
# (tools/train.py, MMEngine's logged time over 200 iterations: 0.45-0.55 s with one worker, 0.38-0.43 s without).
train_dataloader = dict(
    batch_size=16,
    num_workers=0,
    persistent_workers=False,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        data_root=data_root,
        ann_file='annotations/person_keypoints_train.json',
        data_prefix=dict(img='images/train/'),
        pipeline=train_pipeline))
val_dataloader = dict(
    num_workers=0,
    persistent_workers=False,
    dataset=dict(
        data_root=data_root,
        ann_file='annotations/person_keypoints_val.json',
        data_prefix=dict(img='images/val/'),
        pipeline=val_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(ann_file=data_root + 'annotations/person_keypoints_val.json')
test_evaluator = val_evaluator
