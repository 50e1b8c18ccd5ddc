"""Distribution-aware sub-pixel offsets (DARK, Zhang et al., CVPR 2020) for grouped keypoints, vectorised.

An optional replacement of the reference's quarter-pixel adjustment (:func:`.refinement.quarter_offset_signs`): the
heatmap of each needed joint is smoothed with a Gaussian (MMPose's ``gaussian_blur``, which keeps each channel's
maximum), its logarithm taken, and at the keypoint's integer pixel ``p`` the peak of the second-order Taylor
expansion is taken as the keypoint: ``offset = -H(p)^-1 g(p)``, with ``g`` / ``H`` the central-difference gradient
and Hessian of the log map (the ±2 px stencil of MMPose's ``refine_keypoints_dark``). Keypoints within 2 px of the
border, or with a singular Hessian, keep offset 0 — MMPose's rules, so that the result equals
``mmpose.codecs.utils.refine_keypoints_dark`` up to float rounding (it inverts in float32, this in float64).

Units: pixels of the decoding canvas (SWAHR decodes at the network-input canvas). MMPose's rule of thumb for the
blur kernel is ``6 * sigma - 1`` (11 for sigma 2); on the main job's maps wider blurs lost AP
(docs/synthetic_results.md).
"""
from typing import Tuple

import numpy as np
from mmpose.codecs.utils import gaussian_blur


def check_blur_kernel(blur_kernel: int) -> None:
    """Raise ValueError unless ``blur_kernel`` is an odd int >= 3 (cv2's Gaussian needs an odd side)."""
    if not (isinstance(blur_kernel, int) and blur_kernel >= 3 and blur_kernel % 2 == 1):
        raise ValueError(f'dark_kernel must be an odd int >= 3 (Gaussian blur side, decoding px), got '
                         f'{blur_kernel!r}')


def modulated_log_heatmaps(heatmaps: np.ndarray, joints: np.ndarray, blur_kernel: int) -> np.ndarray:
    """Blurred log heatmaps of the given joint channels.

    Args:
        heatmaps: (K, H, W) float heatmaps, decoding px. Not modified.
        joints: (J,) unique joint indices whose channels are needed (each must have a positive maximum, which every
            channel with a detected or refined keypoint has).
        blur_kernel: odd Gaussian side, px.

    Returns:
        (J, H, W) float32 ``log(max(blur(heatmaps[joints]), 1e-10))`` (MMPose's floor).
    """
    # gaussian_blur works in place on float32 planes: hand it a copy of just the needed channels
    planes = np.ascontiguousarray(heatmaps[joints], dtype=np.float32).copy()
    planes = gaussian_blur(planes, blur_kernel)
    np.maximum(planes, 1e-10, out=planes)
    return np.log(planes, out=planes)


def dark_offsets(heatmaps: np.ndarray, joint: np.ndarray, x: np.ndarray, y: np.ndarray,
                 blur_kernel: int) -> Tuple[np.ndarray, np.ndarray]:
    """DARK offsets of M keypoints from their integer pixels.

    Args:
        heatmaps: (K, H, W) float heatmaps at the decoding canvas. Not modified.
        joint, x, y: (M,) int joint channel and integer pixel (column, row) of each keypoint; joint channels with a
            keypoint need a positive maximum (true for every detected or refined keypoint, whose value is > 0).
        blur_kernel: odd Gaussian side for the modulation, decoding px.

    Returns:
        offset_x, offset_y: (M,) float64, decoding px; 0 within 2 px of the border or where the Hessian is singular.
    """
    joint, x, y = (np.asarray(a, dtype=np.int64) for a in (joint, x, y))
    offset_x = np.zeros(joint.shape, np.float64)
    offset_y = np.zeros(joint.shape, np.float64)
    height, width = heatmaps.shape[-2:]
    inside = (x > 1) & (x < width - 2) & (y > 1) & (y < height - 2)
    if not inside.any():
        return offset_x, offset_y
    needed, plane = np.unique(joint[inside], return_inverse=True)
    log_heat = modulated_log_heatmaps(heatmaps, needed, blur_kernel)
    px, py = x[inside], y[inside]

    def at(dx: int, dy: int) -> np.ndarray:
        return log_heat[plane, py + dy, px + dx].astype(np.float64)

    centre = at(0, 0)
    grad_x = 0.5 * (at(1, 0) - at(-1, 0))
    grad_y = 0.5 * (at(0, 1) - at(0, -1))
    hess_xx = 0.25 * (at(2, 0) - 2 * centre + at(-2, 0))
    hess_yy = 0.25 * (at(0, 2) - 2 * centre + at(0, -2))
    hess_xy = 0.25 * (at(1, 1) - at(1, -1) - at(-1, 1) + at(-1, -1))
    det = hess_xx * hess_yy - hess_xy**2
    regular = det != 0
    safe_det = np.where(regular, det, 1.0)
    # offset = -H^-1 g with H^-1 = [[yy, -xy], [-xy, xx]] / det
    offset_x[inside] = np.where(regular, -(hess_yy * grad_x - hess_xy * grad_y) / safe_det, 0.0)
    offset_y[inside] = np.where(regular, -(hess_xx * grad_y - hess_xy * grad_x) / safe_det, 0.0)
    return offset_x, offset_y
