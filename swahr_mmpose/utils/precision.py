"""Which devices have native bfloat16 kernels (so that bfloat16 autocast pays instead of being emulated)."""
import torch


def cpu_has_native_bf16() -> bool:
    """Whether oneDNN has native bfloat16 kernels on this CPU (AVX512-BF16 or AMX).

    Without them CPU autocast still runs, but emulates bfloat16 convolutions, many times slower than float32.
    torch 2.13 has no public query; ``tests/test_foundation/test_private_apis.py`` pins this private one.
    """
    return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())


def native_bf16(device: torch.device) -> bool:
    """Whether ``device`` runs bfloat16 autocast natively: a CPU with oneDNN bf16 kernels, a CUDA device with bf16
    support (compute capability >= 8.0); False elsewhere."""
    if device.type == 'cpu':
        return cpu_has_native_bf16()
    if device.type == 'cuda':
        return torch.cuda.is_bf16_supported()
    return False
