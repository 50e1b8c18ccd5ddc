# Multi-scale testing of SWAHR W48-640 (the paper's multi-scale rows use scales 0.5, 1 and 2): heatmaps are averaged
# over scales, tags come from scale 1. Use for `mim test` / tools/test.py with a trained checkpoint.
_base_ = ['./swahr_hrnet_w48_coco.py']

val_pipeline = _base_.val_pipeline
val_pipeline[1].aug_scales = [0.5, 2.0]  # ReferenceBottomupResize: scale 1 plus these

model = dict(test_cfg=dict(multiscale_test=True))
val_dataloader = dict(batch_size=1, dataset=dict(pipeline=val_pipeline))
test_dataloader = val_dataloader
