"""Our runtime runs ConsistencyCheckHook: a config mistake fails before the first training iteration or test image,
through MMEngine's Runner on the real synthetic config (tests/test_engine/test_consistency_check.py has the cases)."""
import pytest

from swahr_mmpose.engine.hooks import ConfigConsistencyError
from e2e_helpers import build_runner, tiny_data_overrides, tiny_model_overrides, write_config

FOURTEEN_JOINTS = '''
codec['num_keypoints'] = 14
model['head'].update(num_keypoints=14)
'''

pytestmark = pytest.mark.usefixtures('one_torch_thread')


def test_head_joints_vs_data_on_the_test_path(tiny_coco, tmp_path):
    """The issue's case on the test path (it was a bare IndexError in SWAHRHead.predict)."""
    cfg = write_config(tmp_path / 'cfg.py', 'swahr_hrnet_w32_synthetic.py',
                       tiny_data_overrides(tiny_coco, input_size=64) + tiny_model_overrides() + FOURTEEN_JOINTS)
    runner = build_runner(cfg, tmp_path / 'work')
    with pytest.raises(
            ConfigConsistencyError,
            match=r"^test_dataloader.dataset \(CheckedCocoDataset\) has 17 joints "
            r"\(metainfo 'coco'\) but model.head.num_keypoints=14"):
        runner.test()
