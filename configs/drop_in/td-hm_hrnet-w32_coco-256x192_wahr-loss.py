# MMPose's top-down HRNet-W32 (256x192) with SWAHR's weight-adaptive heatmap loss in place of KeypointMSELoss: the
# loss takes the same (output, target, target_weights) call, so only its `type` changes.
_base_ = ['mmpose::body_2d_keypoint/topdown_heatmap/coco/td-hm_hrnet-w32_8xb64-210e_coco-256x192.py']
custom_imports = dict(imports=['swahr_mmpose'], allow_failed_imports=False)

model = dict(head=dict(loss=dict(type='WeightAdaptiveMSELoss', use_target_weight=True)))
