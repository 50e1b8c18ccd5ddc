"""Deployment: ONNX export of SWAHR / HigherHRNet models and an ONNX Runtime inference path without MMEngine's runner.

This subpackage is not imported by ``import swahr_mmpose``, and ``onnx`` / ``onnxruntime`` (the optional ``deploy``
extra, ``pip install swahr_mmpose[deploy]``) are only imported when an export or a session is made.

* :mod:`swahr_mmpose.deploy.onnx_export`: :func:`~swahr_mmpose.deploy.onnx_export.export_onnx` (behind
  ``tools/deploy/export_onnx.py``);
* :mod:`swahr_mmpose.deploy.onnx_runtime`: :class:`~swahr_mmpose.deploy.onnx_runtime.ONNXRuntimePoseEstimator`;
* :mod:`swahr_mmpose.deploy.compare`: agreement of ONNX Runtime and PyTorch poses.
"""
from .onnx_export import export_onnx, read_metadata
from .onnx_runtime import ONNXRuntimePoseEstimator, PosePrediction, providers_for_device

__all__ = ['export_onnx', 'read_metadata', 'ONNXRuntimePoseEstimator', 'PosePrediction', 'providers_for_device']
