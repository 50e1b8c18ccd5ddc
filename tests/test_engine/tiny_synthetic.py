"""The synthetic config's model (SWAHR head, losses, codec) on a tiny HRNet, for the engine tests."""
import os.path as osp

import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmpose.registry import MODELS

from swahr_mmpose.testing import tiny_hrnet

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
SYNTHETIC_CONFIG = osp.join(REPO, 'configs', 'swahr_hrnet_w32_synthetic.py')


def tiny_synthetic_model(head_scale: float = 1.0) -> torch.nn.Module:
    """``swahr_hrnet_w32_synthetic.py``'s model with an 8-wide HRNet, seed 0. ``head_scale`` multiplies the head's
    parameters: the reference N(0, 0.001) init gives flat maps, scaled weights make predictions non-trivial."""
    init_default_scope('mmpose')
    cfg = Config.fromfile(SYNTHETIC_CONFIG)
    cfg.model.backbone = tiny_hrnet(8)
    cfg.model.head.in_channels = 8
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    model.init_weights()
    if head_scale != 1.0:
        for p in model.head.parameters():
            p.data.mul_(head_scale)
    return model
