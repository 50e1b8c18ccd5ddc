"""Agreement of ONNX Runtime and PyTorch poses on the same images (what the export test and the benchmark report).

Two predictions of one image *agree* when they hold the same number of people and, person by person in the
decoder's order, every keypoint is within ``keypoint_tol`` image px and every keypoint / person score within
``score_tol``. Runtimes differ in floating-point rounding (about 1e-7 relative in the maps); in a rare near-tie this
moves a heatmap peak by a pixel or flips a grouping decision, which is why agreement is reported as a rate over a
set of images and never assumed.
"""
from typing import Dict, List, Optional, Sequence

import numpy as np
import torch
from torch import nn

from .onnx_runtime import ONNXRuntimePoseEstimator, PosePrediction

KEYPOINT_TOL = 1e-2  # image px
SCORE_TOL = 1e-4


def pytorch_prediction(model: nn.Module, img: np.ndarray) -> PosePrediction:
    """MMPose's ``inference_bottomup`` (the config's test pipeline + ``model.test_step``) as a
    :class:`PosePrediction`."""
    from mmpose.apis import inference_bottomup

    (sample, ) = inference_bottomup(model, img)
    pred = sample.pred_instances

    def array(value) -> np.ndarray:
        return value.cpu().numpy() if isinstance(value, torch.Tensor) else np.asarray(value)

    geometry = {k: sample.metainfo[k] for k in ('input_size', 'input_center', 'input_scale') if k in sample.metainfo}
    return PosePrediction(array(pred.keypoints), array(pred.keypoint_scores), array(pred.bbox_scores), geometry)


def compare_predictions(reference: PosePrediction,
                        candidate: PosePrediction,
                        keypoint_tol: float = KEYPOINT_TOL,
                        score_tol: float = SCORE_TOL) -> Dict[str, object]:
    """Differences between two predictions of one image (see the module docstring).

    Returns:
        dict: ``people`` (reference, candidate), ``same_count``, ``max_keypoint_diff`` (image px) and
        ``max_score_diff`` over the people both have (in order; ``nan`` if none), ``agree``.
    """
    n_ref, n_cand = len(reference), len(candidate)
    n = min(n_ref, n_cand)
    if n:
        kpt = float(np.abs(reference.keypoints[:n] - candidate.keypoints[:n]).max())
        score = float(
            max(
                np.abs(reference.keypoint_scores[:n] - candidate.keypoint_scores[:n]).max(),
                np.abs(reference.scores[:n] - candidate.scores[:n]).max()))
    else:
        kpt = score = float('nan') if n_ref or n_cand else 0.0
    same = n_ref == n_cand
    agree = same and (n == 0 or (kpt <= keypoint_tol and score <= score_tol))
    return dict(people=(n_ref, n_cand), same_count=same, max_keypoint_diff=kpt, max_score_diff=score, agree=bool(agree))


def agreement_over_images(model: nn.Module,
                          estimator: ONNXRuntimePoseEstimator,
                          images: Sequence[np.ndarray],
                          keypoint_tol: float = KEYPOINT_TOL,
                          score_tol: float = SCORE_TOL,
                          names: Optional[Sequence[str]] = None) -> Dict[str, object]:
    """PyTorch (``model``, its config's flip setting) vs ONNX Runtime (``estimator``) on every image.

    Returns:
        dict: ``rows`` (one :func:`compare_predictions` dict per image, with ``image``), ``images``, ``agreed``,
        ``rate`` (agreed / images), ``same_count`` (images with equal people counts), ``people`` (PyTorch total),
        ``max_keypoint_diff`` / ``max_score_diff`` over the images whose counts agree.
    """
    rows: List[Dict[str, object]] = []
    for i, img in enumerate(images):
        row = compare_predictions(pytorch_prediction(model, img), estimator(img), keypoint_tol, score_tol)
        row['image'] = names[i] if names else i
        rows.append(row)
    counted = [r for r in rows if r['same_count'] and r['people'][0]]
    return dict(
        rows=rows,
        images=len(rows),
        agreed=sum(r['agree'] for r in rows),
        rate=sum(r['agree'] for r in rows) / max(len(rows), 1),
        same_count=sum(r['same_count'] for r in rows),
        people=sum(r['people'][0] for r in rows),
        max_keypoint_diff=max((r['max_keypoint_diff'] for r in counted), default=0.0),
        max_score_diff=max((r['max_score_diff'] for r in counted), default=0.0),
        keypoint_tol=keypoint_tol,
        score_tol=score_tol)


def format_agreement(result: Dict[str, object]) -> str:
    """One line: the agreement rate and the largest differences."""
    return (f'ONNX Runtime vs PyTorch: {result["agreed"]}/{result["images"]} images agree ({100 * result["rate"]:.1f} '
            f'%; same people count on {result["same_count"]}, {result["people"]} people in all); largest keypoint '
            f'difference {result["max_keypoint_diff"]:.2e} px, score difference {result["max_score_diff"]:.2e} '
            f'(tolerances {result["keypoint_tol"]:g} px, {result["score_tol"]:g})')
