"""Offline, the ImageNet weights every COCO / CrowdPose config downloads cannot be fetched: tools/train.py names the
file and the two ways on instead of dying in a long URLError traceback."""
import sys

from swahr_mmpose.utils.mim_tools import explain_download_failure
from e2e_helpers import REPO_ROOT, tiny_data_overrides, tiny_model_overrides, write_config

UNREACHABLE = 'http://127.0.0.1:9/hrnet_w32-offline-test.pth'  # the discard port: connection refused at once


def test_train_offline_names_the_weights_and_the_options(tiny_coco, tmp_path):
    import subprocess

    body = (
        tiny_data_overrides(tiny_coco, input_size=64) + tiny_model_overrides() +
        f"model['backbone']['init_cfg'] = dict(type='Pretrained', checkpoint={UNREACHABLE!r})\n")
    cfg = write_config(tmp_path / 'cfg.py', 'swahr_hrnet_w32_synthetic.py', body)
    proc = subprocess.run(
        [sys.executable,
         str(REPO_ROOT / 'tools' / 'train.py'),
         str(cfg), '--work-dir',
         str(tmp_path / 'work')],
        capture_output=True,
        text=True,
        timeout=600)
    assert proc.returncode == 1, proc.stderr[-3000:]
    assert f'ERROR: could not download the weights {UNREACHABLE}' in proc.stderr
    assert '--cfg-options model.backbone.init_cfg=None' in proc.stderr
    assert 'model.backbone.init_cfg.checkpoint=/path/to/hrnet_w32-offline-test.pth' in proc.stderr
    assert 'Traceback' not in proc.stderr


def test_other_errors_are_not_taken_for_downloads():
    try:
        open('/nonexistent/file')
    except OSError as err:
        assert explain_download_failure(err) is None
