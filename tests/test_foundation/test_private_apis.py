"""The few private third-party names the package still uses, each pinned by its requirement and checked here so
that an upgrade that removes or changes one fails loudly instead of degrading in silence."""
import inspect

import torch


def test_mkldnn_bf16_support_query_exists():
    # utils.precision.cpu_has_native_bf16: whether oneDNN has bf16 kernels (no public query in torch 2.13)
    assert isinstance(torch.ops.mkldnn._is_mkldnn_bf16_supported(), bool)


def test_mmengine_http_loader_keeps_its_name_and_filename_argument():
    # utils.mim_tools.failed_download_url reads the URL from this function's frame when a download fails offline
    from mmengine.runner import checkpoint

    assert 'filename' in inspect.signature(checkpoint.load_from_http).parameters
