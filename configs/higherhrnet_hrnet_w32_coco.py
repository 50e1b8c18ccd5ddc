# HigherHRNet baseline, HRNet-W32, COCO 512: the SWAHR config without the scale branches, with plain masked MSE,
# and the HigherHRNet detection threshold 0.1.
_base_ = ['./swahr_hrnet_w32_coco.py']

model = dict(head=dict(with_scale=False, heatmap_loss=dict(weight_mode='none'), decoder=dict(decode_keypoint_thr=0.1)))
