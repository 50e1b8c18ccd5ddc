# SWAHR's head and losses on another MMPose backbone: LiteHRNet-18 (as in MMPose's
# td-hm_litehrnet-18_8xb64-210e_coco-256x192.py), whose 40-channel stride-4 output feeds SWAHRHead.
_base_ = ['../swahr_hrnet_w32_coco.py']

model = dict(
    backbone=dict(
        _delete_=True,
        type='LiteHRNet',
        in_channels=3,
        extra=dict(
            stem=dict(stem_channels=32, out_channels=32, expand_ratio=1),
            num_stages=3,
            stages_spec=dict(
                num_modules=(2, 4, 2),
                num_branches=(2, 3, 4),
                num_blocks=(2, 2, 2),
                module_type=('LITE', 'LITE', 'LITE'),
                with_fuse=(True, True, True),
                reduce_ratios=(8, 8, 8),
                num_channels=((40, 80), (40, 80, 160), (40, 80, 160, 320))),
            with_head=True)),
    head=dict(in_channels=40))
