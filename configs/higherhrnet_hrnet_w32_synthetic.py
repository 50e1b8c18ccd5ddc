# HigherHRNet baseline for the CPU quickstart: the synthetic SWAHR config without scale branches, with plain masked
# MSE and threshold 0.1, so the two differ only where the W32 COCO configs differ.
_base_ = ['./swahr_hrnet_w32_synthetic.py']

model = dict(head=dict(with_scale=False, heatmap_loss=dict(weight_mode='none'), decoder=dict(decode_keypoint_thr=0.1)))
