"""COCO-17 body model and vectorised pose sampling for the synthetic data set.

All poses are built in a *body frame* whose unit is the person's height and whose origin is the pelvis (the midpoint
of the two hips); +x is image-right of an upright person facing the camera, +y is down. COCO's convention for a
person facing the camera is kept: the person's LEFT side appears on the IMAGE RIGHT (+x).

Everything is vectorised over persons: one call samples N poses as (N, 17, 2) arrays.
"""
from dataclasses import dataclass
from typing import List, Tuple

import numpy as np

COCO_KEYPOINT_NAMES: Tuple[str, ...] = (
    'nose', 'left_eye', 'right_eye', 'left_ear', 'right_ear', 'left_shoulder', 'right_shoulder', 'left_elbow',
    'right_elbow', 'left_wrist', 'right_wrist', 'left_hip', 'right_hip', 'left_knee', 'right_knee', 'left_ankle',
    'right_ankle')
NUM_KEYPOINTS = len(COCO_KEYPOINT_NAMES)

#: COCO's category skeleton, 1-based keypoint indices (as in ``person_keypoints_*.json``).
COCO_SKELETON: List[List[int]] = [
    [16, 14], [14, 12], [17, 15], [15, 13], [12, 13], [6, 12], [7, 13], [6, 7], [6, 8], [7, 9], [8, 10], [9, 11],
    [2, 3], [1, 2], [1, 3], [2, 4], [3, 5], [4, 6], [5, 7]]

#: Index of the mirrored keypoint (left <-> right), 0-based.
COCO_FLIP_INDICES: Tuple[int, ...] = (0, 2, 1, 4, 3, 6, 5, 8, 7, 10, 9, 12, 11, 14, 13, 16, 15)

# 0-based keypoint ids, for readability below.
NOSE, L_EYE, R_EYE, L_EAR, R_EAR = 0, 1, 2, 3, 4
L_SHOULDER, R_SHOULDER, L_ELBOW, R_ELBOW, L_WRIST, R_WRIST = 5, 6, 7, 8, 9, 10
L_HIP, R_HIP, L_KNEE, R_KNEE, L_ANKLE, R_ANKLE = 11, 12, 13, 14, 15, 16


@dataclass(frozen=True)
class BodyProportions:
    """Segment lengths and widths as fractions of the person's height (adult anthropometry, rounded).

    With the defaults, pelvis-to-ankle (0.49) + pelvis-to-head-top (~0.47) + foot (~0.04) is about one height.
    """
    torso: float = 0.29             # pelvis -> shoulder midpoint
    shoulder_half_width: float = 0.11
    hip_half_width: float = 0.075
    upper_arm: float = 0.165
    forearm: float = 0.145
    thigh: float = 0.245
    shin: float = 0.245
    neck: float = 0.05              # shoulder midpoint -> bottom of the head
    head_radius_x: float = 0.055    # head ellipse semi-axes
    head_radius_y: float = 0.068
    segment_jitter: float = 0.08    # each segment length is scaled by U(1 - j, 1 + j) per person


@dataclass
class PoseBatch:
    """N sampled poses, in image pixels.

    Attributes:
        keypoints: (N, 17, 2) float64, image px (continuous; pixel (i, j) covers [i, i+1) x [j, j+1)).
        self_occluded: (N, 17) bool, face points on the far side of the head (hidden by the head itself).
        head_centre: (N, 2) float64, image px.
        head_axes: (N, 2) float64, head ellipse semi-axes (x, y) in image px.
        head_angle: (N,) float64, head ellipse rotation in degrees (cv2 convention, clockwise in image coords).
        heights: (N,) float64, person height in image px.
    """
    keypoints: np.ndarray
    self_occluded: np.ndarray
    head_centre: np.ndarray
    head_axes: np.ndarray
    head_angle: np.ndarray
    heights: np.ndarray

    def __len__(self) -> int:
        return len(self.heights)


def _direction(angle: np.ndarray, side: float) -> np.ndarray:
    """Unit vectors (N, 2) pointing 'down' rotated outwards by ``angle`` (rad); ``side`` +1 = image right."""
    return np.stack([side * np.sin(angle), np.cos(angle)], axis=-1)


def _rotate(points: np.ndarray, angle: np.ndarray) -> np.ndarray:
    """Rotate (N, K, 2) points about the origin by per-person ``angle`` (N,) rad (clockwise on screen, y down)."""
    cos, sin = np.cos(angle)[:, None], np.sin(angle)[:, None]
    x, y = points[..., 0], points[..., 1]
    return np.stack([cos * x - sin * y, sin * x + cos * y], axis=-1)


def _foreshortening(rng: np.random.Generator, shape: Tuple[int, ...]) -> np.ndarray:
    """Per-segment projected-length factor in (0.55, 1]: most limbs near full length, a few pointing at the camera."""
    return 1.0 - 0.45 * rng.random(shape) ** 3


def sample_poses(rng: np.random.Generator,
                 heights: np.ndarray,
                 pelvis: np.ndarray,
                 proportions: BodyProportions = BodyProportions(),
                 lying_prob: float = 0.08) -> PoseBatch:
    """Sample N plausible standing / walking / gesturing poses.

    Args:
        rng: the image's random generator.
        heights: (N,) person heights in image px.
        pelvis: (N, 2) pelvis positions in image px.
        proportions: segment lengths (fractions of height).
        lying_prob: probability that a person is rotated far from upright (lying, falling, acrobatics).

    Returns:
        A :class:`PoseBatch` in image px.
    """
    heights = np.asarray(heights, dtype=np.float64)
    pelvis = np.asarray(pelvis, dtype=np.float64)
    n = len(heights)
    if pelvis.shape != (n, 2):
        raise ValueError(f'pelvis must have shape (N, 2) = ({n}, 2), got {pelvis.shape}')
    p = proportions
    jitter = rng.uniform(1 - p.segment_jitter, 1 + p.segment_jitter, size=(n, 6))
    torso, upper_arm, forearm, thigh, shin, neck = (jitter[:, i] for i in range(6))
    torso, neck = torso * p.torso, neck * p.neck
    upper_arm = upper_arm[:, None] * p.upper_arm * _foreshortening(rng, (n, 2))  # (N, 2): left, right
    forearm = forearm[:, None] * p.forearm * _foreshortening(rng, (n, 2))
    thigh = thigh[:, None] * p.thigh * _foreshortening(rng, (n, 2))
    shin = shin[:, None] * p.shin * _foreshortening(rng, (n, 2))

    # Facing direction: yaw 0 = frontal; shoulders/hips narrow as the body turns sideways.
    yaw = np.clip(rng.normal(0.0, np.deg2rad(30.0), n), -np.deg2rad(75.0), np.deg2rad(75.0))
    width_factor = 0.3 + 0.7 * np.abs(np.cos(yaw))
    lean = rng.normal(0.0, np.deg2rad(8.0), n)             # torso bend relative to the pelvis
    head_tilt = rng.normal(0.0, np.deg2rad(10.0), n)

    # Limb angles measured from 'down', positive = away from the body's midline.
    shoulder_angle = rng.uniform(np.deg2rad(-15.0), np.deg2rad(170.0), (n, 2))
    elbow_bend = rng.uniform(np.deg2rad(-140.0), np.deg2rad(25.0), (n, 2))
    wide_legs = rng.random((n, 1)) < 0.25
    hip_angle = np.where(wide_legs, rng.uniform(np.deg2rad(-25.0), np.deg2rad(75.0), (n, 2)),
                         np.clip(rng.normal(np.deg2rad(6.0), np.deg2rad(8.0), (n, 2)), -0.3, 0.5))
    knee_bend = np.clip(rng.normal(0.0, np.deg2rad(25.0), (n, 2)), -np.deg2rad(80.0), np.deg2rad(80.0))

    kpts = np.zeros((n, NUM_KEYPOINTS, 2))
    hip_w = p.hip_half_width * width_factor
    kpts[:, L_HIP] = np.stack([hip_w, np.zeros(n)], -1)
    kpts[:, R_HIP] = -kpts[:, L_HIP]
    up = np.stack([np.sin(lean), -np.cos(lean)], -1)         # torso axis (pelvis -> neck)
    across = np.stack([np.cos(lean), np.sin(lean)], -1)      # torso 'right' axis
    neck_base = up * torso[:, None]
    sh_w = (p.shoulder_half_width * width_factor)[:, None]
    kpts[:, L_SHOULDER] = neck_base + across * sh_w
    kpts[:, R_SHOULDER] = neck_base - across * sh_w

    for side_idx, side, (sh, el, wr, hp, kn, an) in (
            (0, 1.0, (L_SHOULDER, L_ELBOW, L_WRIST, L_HIP, L_KNEE, L_ANKLE)),
            (1, -1.0, (R_SHOULDER, R_ELBOW, R_WRIST, R_HIP, R_KNEE, R_ANKLE))):
        # Arms hang from the shoulders in the torso's frame; 'outwards' turns opposite ways on the two sides.
        arm_angle = shoulder_angle[:, side_idx] - side * lean
        kpts[:, el] = kpts[:, sh] + _direction(arm_angle, side) * upper_arm[:, side_idx, None]
        kpts[:, wr] = kpts[:, el] + _direction(arm_angle + elbow_bend[:, side_idx], side) * forearm[:, side_idx, None]
        kpts[:, kn] = kpts[:, hp] + _direction(hip_angle[:, side_idx], side) * thigh[:, side_idx, None]
        # Shins never point far upwards (a kick beyond horizontal looks broken at these sizes).
        shin_angle = np.clip(hip_angle[:, side_idx] + knee_bend[:, side_idx], -np.deg2rad(70.0), np.deg2rad(100.0))
        kpts[:, an] = kpts[:, kn] + _direction(shin_angle, side) * shin[:, side_idx, None]

    # Head: an ellipse above the neck; face points lie on its surface, seen from the camera (azimuth + yaw).
    head_angle_rad = lean + head_tilt
    head_up = np.stack([np.sin(head_angle_rad), -np.cos(head_angle_rad)], -1)
    head_right = np.stack([np.cos(head_angle_rad), np.sin(head_angle_rad)], -1)
    head_centre = neck_base + head_up * (neck + p.head_radius_y)[:, None]
    # (azimuth, elevation) in degrees; +azimuth = person's left = image right.
    face = np.deg2rad(np.array([[0.0, -20.0], [32.0, 15.0], [-32.0, 15.0], [80.0, 0.0], [-80.0, 0.0]]))
    azimuth = face[None, :, 0] + yaw[:, None]                # (N, 5)
    u = p.head_radius_x * np.sin(azimuth) * np.cos(face[None, :, 1])
    v = p.head_radius_y * np.sin(face[None, :, 1])
    kpts[:, :5] = head_centre[:, None] + head_right[:, None] * u[..., None] + head_up[:, None] * v[..., None]
    self_occluded = np.zeros((n, NUM_KEYPOINTS), dtype=bool)
    self_occluded[:, :5] = np.cos(azimuth) <= 0.0

    # Whole-body rotation about the pelvis: mostly upright, sometimes far from it.
    lying = rng.random(n) < lying_prob
    roll = np.where(lying, rng.uniform(-np.pi / 2, np.pi / 2, n), rng.normal(0.0, np.deg2rad(6.0), n))
    scale = heights[:, None, None]
    kpts = _rotate(kpts, roll) * scale + pelvis[:, None]
    head_centre = _rotate(head_centre[:, None], roll)[:, 0] * heights[:, None] + pelvis
    head_axes = np.stack([np.full(n, p.head_radius_x), np.full(n, p.head_radius_y)], -1) * heights[:, None]
    return PoseBatch(keypoints=kpts, self_occluded=self_occluded, head_centre=head_centre, head_axes=head_axes,
                     head_angle=np.rad2deg(head_angle_rad + roll), heights=heights)


def pose_extent(proportions: BodyProportions = BodyProportions()) -> Tuple[float, float]:
    """(above, below): how far an upright body reaches above / below the pelvis, in heights (for placement)."""
    p = proportions
    return p.torso + p.neck + 2 * p.head_radius_y, p.thigh + p.shin + 0.04
