# HigherHRNet baseline, HRNet-W48, COCO 640: the SWAHR config without the scale branches and with plain masked MSE.
_base_ = ['./swahr_hrnet_w48_coco.py']

model = dict(head=dict(with_scale=False, heatmap_loss=dict(weight_mode='none')))
