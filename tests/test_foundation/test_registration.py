"""Importing swahr_mmpose registers its components into MMPose's registries."""
import importlib
import subprocess
import sys

import pytest
from mmpose.registry import KEYPOINT_CODECS, MODELS, TRANSFORMS, VISUALIZERS

EXPECTED = {
    MODELS: [
        'SWAHRHead', 'WeightAdaptiveMSELoss', 'BatchedAssociativeEmbeddingLoss', 'MultiScaleBottomupPoseEstimator',
        'MultiScalePoseDataPreprocessor'
    ],
    TRANSFORMS: [
        'ScaleAdaptiveGenerateTarget', 'HigherHRNetRandomAffine', 'BottomupRandomHorizontalFlip',
        'ReferenceBottomupResize', 'PackMultiScalePoseInputs'
    ],
    KEYPOINT_CODECS: ['AEDecoder'],
    VISUALIZERS: ['NumpyCompatPoseLocalVisualizer'],
}


@pytest.mark.parametrize('registry,names', list(EXPECTED.items()), ids=lambda v: getattr(v, 'name', str(v)))
def test_components_live_in_mmpose_registries(registry, names):
    import swahr_mmpose  # noqa: F401
    assert registry.scope == 'mmpose'
    for name in names:
        cls = registry.get(name)
        assert cls is not None, f'{name} not registered in {registry.name}'
        assert cls.__module__.startswith('swahr_mmpose.')


def test_fresh_process_import_registers_everything():
    """Registration must come from `import swahr_mmpose` alone (custom_imports)."""
    code = ('from mmpose.registry import MODELS, TRANSFORMS, KEYPOINT_CODECS\n'
            "assert 'SWAHRHead' not in MODELS.module_dict\n"
            'import swahr_mmpose\n'
            "assert 'SWAHRHead' in MODELS.module_dict\n"
            "assert 'ScaleAdaptiveGenerateTarget' in TRANSFORMS.module_dict\n"
            "assert 'AEDecoder' in KEYPOINT_CODECS.module_dict\n"
            'import mmpose.models, mmpose.apis, mmpose.visualization, mmcv.ops\n'
            'print("ok")\n')
    proc = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip().endswith('ok')


def test_mmcv_has_compiled_ops():
    """The full mmcv (not mmcv-lite) is installed: a compiled op runs."""
    import torch
    from mmcv.ops import nms
    boxes = torch.tensor([[0, 0, 10, 10], [1, 1, 10, 10], [20, 20, 30, 30]], dtype=torch.float32)
    scores = torch.tensor([0.9, 0.8, 0.7])
    _, keep = nms(boxes, scores, iou_threshold=0.5)
    assert keep.tolist() == [0, 2]


def test_torchvision_really_loads():
    torchvision = importlib.import_module('torchvision')
    import torch
    from torchvision.ops import box_iou
    iou = box_iou(torch.tensor([[0., 0., 2., 2.]]), torch.tensor([[1., 1., 3., 3.]]))
    assert abs(iou.item() - 1 / 7) < 1e-6
    assert torchvision.__version__
