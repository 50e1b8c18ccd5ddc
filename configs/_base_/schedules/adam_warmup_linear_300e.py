# SWAHR's schedule (reference trainer): Adam without weight decay, linear warm-up
# from 0.1x over 3 epochs, then linear decay to 0 at epoch 300, updated every
# iteration. Model configs set the peak LR and the batch size it belongs to.
# It builds on the shared runtime (both define `train_cfg`).
# One known difference: the reference sets each LR after the optimizer step, so
# its very first iteration runs at the full peak LR; here warm-up starts at 0.1x.
_base_ = ['../default_runtime.py']

max_epochs = 300
warmup_epochs = 3

train_cfg = dict(by_epoch=True, max_epochs=max_epochs, val_interval=10)
optim_wrapper = dict(optimizer=dict(type='Adam', lr=0.002, weight_decay=0.0))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=True, begin=0, end=warmup_epochs, convert_to_iter_based=True),
    dict(
        type='PolyLR',
        power=1.0,
        eta_min=0.0,
        by_epoch=True,
        begin=warmup_epochs,
        end=max_epochs,
        convert_to_iter_based=True),
]
# The reference's peak LR is tied to 8 GPUs x images per GPU; enable with
# `--auto-scale-lr` to rescale for another total batch size.
auto_scale_lr = dict(base_batch_size=160)
