"""Tiny model configs for fast tests (same topology as the real ones)."""


def tiny_hrnet(width: int = 8) -> dict:
    """A 4-stage HRNet config with one block per branch and widths
    (w, 2w, 4w, 8w): the real HRNet topology at a fraction of the cost."""
    w = width
    return dict(
        type='HRNet',
        in_channels=3,
        extra=dict(
            stage1=dict(num_modules=1, num_branches=1, block='BOTTLENECK', num_blocks=(1, ), num_channels=(16, )),
            stage2=dict(num_modules=1, num_branches=2, block='BASIC', num_blocks=(1, 1), num_channels=(w, 2 * w)),
            stage3=dict(
                num_modules=1, num_branches=3, block='BASIC', num_blocks=(1, 1, 1), num_channels=(w, 2 * w, 4 * w)),
            stage4=dict(
                num_modules=1,
                num_branches=4,
                block='BASIC',
                num_blocks=(1, 1, 1, 1),
                num_channels=(w, 2 * w, 4 * w, 8 * w))))
