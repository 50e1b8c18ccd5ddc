"""COCO-17 body model and vectorised pose sampling for the synthetic data set.

All poses are built in a *body frame* whose unit is the person's height and whose origin is the pelvis (the midpoint
of the two hips); +x is image-right of an upright person facing the camera, +y is down. COCO's convention for a
person facing the camera is kept: the person's LEFT side appears on the IMAGE RIGHT (+x).

Everything is vectorised over persons: one call samples N poses as (N, 17, 2) arrays.

Any other keypoint set (:class:`Skeleton`, from an MMPose metainfo) is drawn as stick figures: a mirror-symmetric
rest layout of its skeleton tree (:func:`skeleton_layout`), bent edge by edge (:func:`sample_skeleton_poses`).
"""
from dataclasses import dataclass
from typing import List, Sequence, Tuple

import numpy as np

COCO_KEYPOINT_NAMES: Tuple[str, ...] = ('nose', 'left_eye', 'right_eye', 'left_ear', 'right_ear', 'left_shoulder',
                                        'right_shoulder', 'left_elbow', 'right_elbow', 'left_wrist', 'right_wrist',
                                        'left_hip', 'right_hip', 'left_knee', 'right_knee', 'left_ankle', 'right_ankle')
NUM_KEYPOINTS = len(COCO_KEYPOINT_NAMES)

#: COCO's category skeleton, 1-based keypoint indices (as in ``person_keypoints_*.json``).
COCO_SKELETON: List[List[int]] = [[16, 14], [14, 12], [17, 15], [15, 13], [12, 13], [6, 12], [7, 13], [6, 7], [6, 8],
                                  [7, 9], [8, 10], [9, 11], [2, 3], [1, 2], [1, 3], [2, 4], [3, 5], [4, 6], [5, 7]]

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
    torso: float = 0.29  # pelvis -> shoulder midpoint
    shoulder_half_width: float = 0.11
    hip_half_width: float = 0.075
    upper_arm: float = 0.165
    forearm: float = 0.145
    thigh: float = 0.245
    shin: float = 0.245
    neck: float = 0.05  # shoulder midpoint -> bottom of the head
    head_radius_x: float = 0.055  # head ellipse semi-axes
    head_radius_y: float = 0.068
    segment_jitter: float = 0.08  # each segment length is scaled by U(1 - j, 1 + j) per person


@dataclass
class PoseBatch:
    """N sampled poses, in image pixels.

    Attributes:
        keypoints: (N, K, 2) float64, image px (continuous; pixel (i, j) covers [i, i+1) x [j, j+1)); K = 17 for the
            COCO body model.
        self_occluded: (N, K) bool, face points on the far side of the head (hidden by the head itself).
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
    return 1.0 - 0.45 * rng.random(shape)**3


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
    lean = rng.normal(0.0, np.deg2rad(8.0), n)  # torso bend relative to the pelvis
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
    up = np.stack([np.sin(lean), -np.cos(lean)], -1)  # torso axis (pelvis -> neck)
    across = np.stack([np.cos(lean), np.sin(lean)], -1)  # torso 'right' axis
    neck_base = up * torso[:, None]
    sh_w = (p.shoulder_half_width * width_factor)[:, None]
    kpts[:, L_SHOULDER] = neck_base + across * sh_w
    kpts[:, R_SHOULDER] = neck_base - across * sh_w

    for side_idx, side, (sh, el, wr, hp, kn, an) in ((0, 1.0, (L_SHOULDER, L_ELBOW, L_WRIST, L_HIP, L_KNEE, L_ANKLE)),
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
    azimuth = face[None, :, 0] + yaw[:, None]  # (N, 5)
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
    return PoseBatch(
        keypoints=kpts,
        self_occluded=self_occluded,
        head_centre=head_centre,
        head_axes=head_axes,
        head_angle=np.rad2deg(head_angle_rad + roll),
        heights=heights)


def pose_extent(proportions: BodyProportions = BodyProportions()) -> Tuple[float, float]:
    """(above, below): how far an upright body reaches above / below the pelvis, in heights (for placement)."""
    p = proportions
    return p.torso + p.neck + 2 * p.head_radius_y, p.thigh + p.shin + 0.04


# --------------------------------------------------------------------------------------------------- any skeleton
COCO_LINKS: Tuple[Tuple[int, int], ...] = tuple((a - 1, b - 1) for a, b in COCO_SKELETON)


@dataclass(frozen=True)
class Skeleton:
    """A keypoint set as the generator needs it (from an MMPose metainfo: names, links, flip pairs).

    Attributes:
        name: the metainfo's ``dataset_name``.
        keypoint_names: K names, index order.
        links: 0-based joint pairs (the metainfo's ``skeleton_links``).
        flip_indices: (K,) the mirrored joint of each joint.
        category: COCO category name written to the annotation files.
    """
    name: str
    keypoint_names: Tuple[str, ...]
    links: Tuple[Tuple[int, int], ...]
    flip_indices: Tuple[int, ...]
    category: str = 'person'

    def __post_init__(self):
        k = len(self.keypoint_names)
        if k < 1:
            raise ValueError('a skeleton needs at least one keypoint')
        if sorted(self.flip_indices) != list(range(k)):
            raise ValueError(f'flip_indices must be a permutation of range({k}), got {list(self.flip_indices)}')
        if any(not (0 <= j < k) for link in self.links for j in link):
            raise ValueError(f'skeleton links must index the {k} keypoints (0-based), got {list(self.links)}')

    @property
    def num_keypoints(self) -> int:
        return len(self.keypoint_names)

    @property
    def is_coco(self) -> bool:
        """COCO-17 with COCO's links: drawn by the COCO body model (:func:`sample_poses`), as without a metainfo."""
        return (self.keypoint_names == COCO_KEYPOINT_NAMES
                and set(map(frozenset, self.links)) == set(map(frozenset, COCO_LINKS)) and self.category == 'person')

    def coco_category(self, category_id: int = 1) -> dict:
        """The COCO category entry: keypoint names and the 1-based skeleton."""
        return dict(
            supercategory=self.category,
            id=category_id,
            name=self.category,
            keypoints=list(self.keypoint_names),
            skeleton=[[a + 1, b + 1] for a, b in self.links])

    @classmethod
    def from_metainfo(cls, metainfo, category: str = 'person') -> 'Skeleton':
        """From a metainfo file path, ``dict(from_file=...)`` or a parsed MMPose metainfo."""
        from swahr_mmpose.codecs.utils.keypoint_order import keypoint_names, load_metainfo

        meta = load_metainfo(metainfo)
        return cls(
            name=str(meta['dataset_name']),
            keypoint_names=keypoint_names(meta),
            links=tuple((int(a), int(b)) for a, b in meta['skeleton_links']),
            flip_indices=tuple(int(i) for i in meta['flip_indices']),
            category=category)

    def sides(self) -> np.ndarray:
        """(K,) +1 for joints drawn on the image right (a pair's 'left' joint, by name, else its lower index), -1
        for their mirrors, 0 on the symmetry axis (``flip_indices[k] == k``)."""
        sides = np.zeros(self.num_keypoints)
        for k, f in enumerate(self.flip_indices):
            if f == k:
                continue
            name = self.keypoint_names[k].lower()
            left = name.startswith(('left', 'l_', 'l ')) or '_left' in name
            partner_left = self.keypoint_names[f].lower().startswith(('left', 'l_', 'l ')) or \
                '_left' in self.keypoint_names[f].lower()
            sides[k] = 1.0 if (left and not partner_left) or (left == partner_left and k < f) else -1.0
        return sides


@dataclass(frozen=True)
class SkeletonLayout:
    """A rest pose of a skeleton as a tree, in the body frame (unit: figure height, origin: the root joint).

    Attributes:
        order: (K,) joints in breadth-first order from the root (parents before children).
        parent: (K,) parent joint of each joint (-1: a root of a skeleton part).
        angle: (K,) rest direction of the edge parent -> joint, rad from 'down' (+y), positive towards +x.
        length: (K,) rest edge length in heights (0 for roots).
        offset: (K, 2) rest position of part roots (other than the first) relative to the first root.
        sides: (K,) as :meth:`Skeleton.sides`.
        above, below: how far the rest figure reaches above / below the root, in heights.
    """
    order: np.ndarray
    parent: np.ndarray
    angle: np.ndarray
    length: np.ndarray
    offset: np.ndarray
    sides: np.ndarray
    above: float
    below: float


def _fan(centre: float, count: int, spread: float) -> np.ndarray:
    """``count`` angles evenly spread over ``centre`` +- ``spread`` (just ``centre`` for one)."""
    if count == 1:
        return np.array([centre])
    return centre + np.linspace(-spread, spread, count)


def _bfs_parents(num_keypoints: int, order: np.ndarray, links) -> np.ndarray:
    """(K,) breadth-first tree parent of each joint (-1 for the first joint of each skeleton part)."""
    neighbours = [set() for _ in range(num_keypoints)]
    for a, b in links:
        if a != b:
            neighbours[a].add(b)
            neighbours[b].add(a)
    parent = np.full(num_keypoints, -1, dtype=np.int64)
    visited = set()
    for start in order:
        if start in visited:
            continue
        visited.add(start)
        queue = [start]
        while queue:
            p = queue.pop(0)
            for n in sorted(neighbours[p]):
                if n not in visited:
                    visited.add(n)
                    parent[n] = p
                    queue.append(n)
    return parent


def _tree_order(parent: np.ndarray, starts: Sequence[int]) -> np.ndarray:
    """Breadth-first order of the forest ``parent`` (children in ascending index), trees in the order of ``starts``."""
    children = [[] for _ in parent]
    for c, p in enumerate(parent):
        if p >= 0:
            children[p].append(c)
    order: List[int] = []
    for start in starts:
        if parent[start] >= 0 or start in order:
            continue
        queue = [start]
        while queue:
            j = queue.pop(0)
            order.append(j)
            queue += children[j]
    return np.asarray(order, dtype=np.int64)


def skeleton_layout(skeleton: Skeleton) -> SkeletonLayout:
    """Lay a skeleton out as a mirror-symmetric tree from its most central joint (see :class:`SkeletonLayout`).

    Edges on the symmetry axis leave the root up, then down (more than two: fanned around up); side edges leave
    sideways (left joints to +x). Deeper edges continue their parent's direction, siblings fanned out (fingers,
    toes); side children of an axis joint leave halfway between its direction and the side. A mirror joint's edge
    is the mirror of its partner's, so the rest figure is symmetric wherever the links are.
    """
    from swahr_mmpose.codecs.utils.keypoint_order import skeleton_keypoint_order

    k = skeleton.num_keypoints
    flip = np.asarray(skeleton.flip_indices)
    sides = skeleton.sides()
    walk = skeleton_keypoint_order(k, skeleton.links)
    # The tree grows from the most central joint on the symmetry axis (if one is linked), so it is symmetric.
    axis_joints = [j for j in walk if sides[j] == 0]
    first = axis_joints[0] if axis_joints and any(axis_joints[0] in link for link in skeleton.links) else walk[0]
    parent = _bfs_parents(k, np.array([first] + walk), skeleton.links)
    order = _tree_order(parent, [first] + walk)
    angle = np.zeros(k)
    spread = np.deg2rad(25.0)
    for j in order:  # axis and left joints; parents come first
        if sides[j] < 0:
            continue
        children = sorted((c for c in range(k) if parent[c] == j and sides[c] >= 0), key=lambda c: (sides[c], c))
        axis = [c for c in children if sides[c] == 0]
        left = [c for c in children if sides[c] > 0]
        if parent[j] < 0:
            axis_angles = np.array([np.pi, 0.0]) if len(axis) == 2 else _fan(np.pi, len(axis), np.deg2rad(70.0))
            left_angles = _fan(np.pi / 2, len(left), np.deg2rad(40.0))
        elif sides[j] == 0:
            base = abs((angle[j] + np.pi) % (2 * np.pi) - np.pi)  # in [0, pi]: 0 = down, pi = up
            axis_angles = _fan(angle[j], len(axis), spread)
            left_angles = _fan((base + np.pi / 2) / 2, len(left), spread)
        else:
            axis_angles = left_angles = _fan(angle[j], len(children), spread)
            axis_angles, left_angles = left_angles[:len(axis)], left_angles[len(axis):]
        angle[axis] = axis_angles
        angle[left] = left_angles
    for j in order:  # mirror joints: their partner's edge, mirrored, where the tree is symmetric there
        if sides[j] < 0:
            partner = flip[j]
            symmetric = parent[j] >= 0 and parent[partner] >= 0 and flip[parent[j]] == parent[partner]
            if symmetric:
                angle[j] = -angle[partner]
            else:
                angle[j] = angle[parent[j]] if parent[j] >= 0 and parent[parent[j]] >= 0 else -np.pi / 2
    length = np.where(parent >= 0, 1.0, 0.0)
    offset = np.zeros((k, 2))
    roots = [j for j in order if parent[j] < 0]
    for i, r in enumerate(roots[1:], 1):  # further parts (and loose joints) beside the first one
        offset[r] = (0.6 * ((i + 1) // 2) * (1 if i % 2 else -1), 0.0)
    points = _layout_points(order, parent, angle, length, offset)
    for j in order:  # an axis joint hanging from a side joint (a nose linked to the eyes) is put back on the axis
        p = parent[j]
        if p >= 0 and sides[j] == 0 and sides[p] != 0 and roots[0] == order[0]:
            dx = -points[p, 0]
            length[j] = max(1.0, abs(dx) + 1e-3)
            angle[j] = np.arctan2(dx, np.sign(np.cos(angle[j]) or 1.0) * np.sqrt(length[j]**2 - dx**2))
            points = _layout_points(order, parent, angle, length, offset)
    span = max(float(np.ptp(points[:, 1])), 0.5 * float(np.ptp(points[:, 0])), 1e-6)
    points, length, offset = points / span, length / span, offset / span
    return SkeletonLayout(
        order=order,
        parent=parent,
        angle=angle,
        length=length,
        offset=offset,
        sides=sides,
        above=float(-points[:, 1].min()),
        below=float(points[:, 1].max()))


def _layout_points(order, parent, angle, length, offset) -> np.ndarray:
    points = np.zeros((len(order), 2))
    for j in order:
        if parent[j] < 0:
            points[j] = offset[j]
        else:
            points[j] = points[parent[j]] + length[j] * np.array([np.sin(angle[j]), np.cos(angle[j])])
    return points


def sample_skeleton_poses(rng: np.random.Generator,
                          layout: SkeletonLayout,
                          heights: np.ndarray,
                          root: np.ndarray,
                          lying_prob: float = 0.08,
                          bend: float = np.deg2rad(18.0),
                          segment_jitter: float = 0.12) -> PoseBatch:
    """Sample N poses of any skeleton: the rest layout with every edge turned by a random bend (accumulated down
    the tree), lengths jittered and foreshortened, the figure squeezed sideways (turning) and rotated as a whole.

    Args:
        rng: the image's random generator.
        layout: :func:`skeleton_layout` of the skeleton.
        heights: (N,) figure heights in image px.
        root: (N, 2) positions of the root joint in image px.
        lying_prob: probability that a figure is rotated far from its rest orientation.
        bend: std of each edge's turn relative to its parent edge, rad.
        segment_jitter: edge lengths are scaled by U(1 - j, 1 + j).

    Returns:
        A :class:`PoseBatch` in image px (no self-occlusion; the head fields are zeros, unused by the renderer).
    """
    heights = np.asarray(heights, dtype=np.float64)
    root = np.asarray(root, dtype=np.float64)
    n, k = len(heights), len(layout.order)
    if root.shape != (n, 2):
        raise ValueError(f'root must have shape (N, 2) = ({n}, 2), got {root.shape}')
    turn = rng.normal(0.0, bend, (n, k))
    scale = rng.uniform(1 - segment_jitter, 1 + segment_jitter, (n, k)) * _foreshortening(rng, (n, k))
    squeeze = 0.3 + 0.7 * np.abs(np.cos(np.clip(rng.normal(0.0, np.deg2rad(30.0), n), -1.3, 1.3)))
    total_turn = np.zeros((n, k))
    kpts = np.zeros((n, k, 2))
    for j in layout.order:  # parents first; vectorised over the N figures
        p = layout.parent[j]
        if p < 0:
            kpts[:, j] = layout.offset[j]
            continue
        total_turn[:, j] = total_turn[:, p] + turn[:, j]
        a = layout.angle[j] + total_turn[:, j]
        step = np.stack([np.sin(a), np.cos(a)], -1) * (layout.length[j] * scale[:, j])[:, None]
        kpts[:, j] = kpts[:, p] + step
    kpts[..., 0] *= squeeze[:, None]
    lying = rng.random(n) < lying_prob
    roll = np.where(lying, rng.uniform(-np.pi / 2, np.pi / 2, n), rng.normal(0.0, np.deg2rad(6.0), n))
    kpts = _rotate(kpts, roll) * heights[:, None, None] + root[:, None]
    return PoseBatch(
        keypoints=kpts,
        self_occluded=np.zeros((n, k), dtype=bool),
        head_centre=np.zeros((n, 2)),
        head_axes=np.zeros((n, 2)),
        head_angle=np.zeros(n),
        heights=heights)
