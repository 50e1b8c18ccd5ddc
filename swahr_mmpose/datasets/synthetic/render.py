"""Drawing for the synthetic data set: textured backgrounds, capsule figures, and a preview overlay.

Images are uint8 (H, W, 3) in cv2's BGR order. Coordinates follow the COCO mask convention: pixel (i, j) covers
[i, i+1) x [j, j+1), so a point (x, y) lies in pixel (floor(x), floor(y)); cv2, whose integer coordinates are pixel
centres, is therefore given (x - 0.5, y - 0.5), at 1/16 px precision (``shift=4``).

Every figure is drawn twice with the same primitives: anti-aliased in colour into the image, and aliased with its
integer id into an ``owner`` map (uint8 (H, W), 0 = background). The owner map after all figures are drawn tells
which figure is on top at each pixel; the scene uses it for occlusion and segmentation.
"""
from dataclasses import dataclass
from typing import List, Optional, Sequence, Tuple

import cv2
import numpy as np

from .skeleton import (COCO_SKELETON, L_ANKLE, L_ELBOW, L_HIP, L_KNEE, L_SHOULDER, L_WRIST, NUM_KEYPOINTS, R_ANKLE,
                       R_ELBOW, R_HIP, R_KNEE, R_SHOULDER, R_WRIST, PoseBatch, Skeleton, SkeletonLayout)

_SHIFT = 4
_ONE = 1 << _SHIFT

#: Fixed disc colour per keypoint (BGR). Left joints are warm/light, right joints cool/dark, so a horizontal flip
#: changes the picture in a learnable way.
KEYPOINT_COLOURS: np.ndarray = np.array(
    [
        (0, 0, 255),  # nose: red
        (0, 140, 255),  # left_eye: orange
        (255, 140, 0),  # right_eye: azure
        (0, 255, 255),  # left_ear: yellow
        (255, 255, 0),  # right_ear: cyan
        (255, 0, 255),  # left_shoulder: magenta
        (0, 200, 0),  # right_shoulder: green
        (200, 170, 255),  # left_elbow: pink
        (140, 255, 140),  # right_elbow: light green
        (255, 255, 255),  # left_wrist: white
        (20, 20, 20),  # right_wrist: black
        (100, 0, 200),  # left_hip: crimson
        (200, 100, 0),  # right_hip: blue
        (100, 200, 255),  # left_knee: peach
        (255, 200, 100),  # right_knee: sky
        (0, 80, 160),  # left_ankle: brown
        (120, 40, 0),  # right_ankle: navy
    ],
    dtype=np.uint8)

# Limb segments (start, end, width as a fraction of height, colour slot); colour slots are resolved per person.
_LEGS = ((L_HIP, L_KNEE, 0.065, 'trousers_l'), (L_KNEE, L_ANKLE, 0.05, 'trousers_l'),
         (R_HIP, R_KNEE, 0.065, 'trousers_r'), (R_KNEE, R_ANKLE, 0.05, 'trousers_r'))
_ARMS = ((L_SHOULDER, L_ELBOW, 0.048, 'shirt_l'), (L_ELBOW, L_WRIST, 0.038, 'skin_l'),
         (R_SHOULDER, R_ELBOW, 0.048, 'shirt_r'), (R_ELBOW, R_WRIST, 0.038, 'skin_r'))
_JOINT_RADIUS = 0.022  # body joint disc radius, fraction of height
_FACE_RADIUS = 0.012  # face point disc radius, fraction of height


def _fixed(points: np.ndarray) -> np.ndarray:
    """Continuous px (COCO convention) -> cv2 fixed-point pixel-centre coordinates (int32)."""
    return np.round((np.asarray(points, dtype=np.float64) - 0.5) * _ONE).astype(np.int32)


def _radius(r_px: float) -> int:
    return int(round(max(r_px, 1.0) * _ONE))


# --------------------------------------------------------------------------------------------------- backgrounds
def render_background(rng: np.random.Generator, width: int, height: int,
                      clutter_count: Tuple[int, int] = (2, 11)) -> np.ndarray:
    """A random textured background: gradient + low-frequency noise (+ stripes) + clutter shapes + pixel noise.

    Args:
        clutter_count: inclusive (min, max) number of clutter shapes.

    Returns:
        uint8 (height, width, 3) BGR image.
    """
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    theta = rng.uniform(0, 2 * np.pi)
    ramp = xs * np.cos(theta) + ys * np.sin(theta)
    ramp = (ramp - ramp.min()) / max(float(np.ptp(ramp)), 1e-6)
    c0, c1 = rng.uniform(0, 255, (2, 3)).astype(np.float32)
    img = c0 + (c1 - c0) * ramp[..., None]

    # Low-frequency colour blotches: a coarse random grid upsampled smoothly.
    grid = rng.normal(0, 35, (int(rng.integers(2, 9)), int(rng.integers(2, 9)), 3)).astype(np.float32)
    img += cv2.resize(grid, (width, height), interpolation=cv2.INTER_CUBIC)

    if rng.random() < 0.4:  # stripes (fabric, fences, floors)
        phi = rng.uniform(0, np.pi)
        period = rng.uniform(5, 40)
        wave = np.sin(2 * np.pi * (xs * np.cos(phi) + ys * np.sin(phi)) / period + rng.uniform(0, 2 * np.pi))
        img += wave[..., None] * rng.uniform(-60, 60, 3).astype(np.float32)
    img = np.clip(img, 0, 255).astype(np.uint8)

    # Clutter: shapes of all kinds, including thick lines that look a bit like limbs (hard negatives).
    side = min(width, height)
    for _ in range(int(rng.integers(clutter_count[0], clutter_count[1] + 1))):
        colour = tuple(int(c) for c in rng.integers(0, 256, 3))
        kind = int(rng.integers(0, 4))
        thickness = -1 if rng.random() < 0.6 else int(rng.integers(1, 4))
        centre = (float(rng.uniform(0, width)), float(rng.uniform(0, height)))
        size = rng.uniform(0.03, 0.3, 2) * side
        if kind == 0:
            p0, p1 = _fixed(np.array([centre, np.array(centre) + size]))
            cv2.rectangle(img, tuple(map(int, p0)), tuple(map(int, p1)), colour, thickness, cv2.LINE_AA, _SHIFT)
        elif kind == 1:
            cv2.ellipse(img, tuple(map(int, _fixed(centre))), tuple(int(s * _ONE / 2) for s in size),
                        float(rng.uniform(0, 180)), 0, 360, colour, thickness, cv2.LINE_AA, _SHIFT)
        elif kind == 2:
            p0, p1 = _fixed(np.array([centre, np.array(centre) + rng.normal(0, 1, 2) * size]))
            cv2.line(img, tuple(map(int, p0)), tuple(map(int, p1)), colour, int(rng.integers(1, max(2, side // 25))),
                     cv2.LINE_AA, _SHIFT)
        else:
            pts = _fixed(np.array(centre) + rng.normal(0, 1, (int(rng.integers(3, 7)), 2)) * size)
            cv2.fillPoly(img, [pts], colour, cv2.LINE_AA, _SHIFT)

    noise = rng.normal(0, rng.uniform(2, 10), img.shape).astype(np.float32)
    return np.clip(img.astype(np.float32) + noise, 0, 255).astype(np.uint8)


# --------------------------------------------------------------------------------------------------- figures
@dataclass
class Appearance:
    """Per-person colours, BGR uint8, each (N, 3)."""
    shirt: np.ndarray
    trousers: np.ndarray
    skin: np.ndarray

    @classmethod
    def sample(cls, rng: np.random.Generator, n: int) -> 'Appearance':
        hsv = np.stack([rng.integers(0, 180, (2, n)),
                        rng.integers(60, 256, (2, n)),
                        rng.integers(70, 240, (2, n))],
                       axis=-1).astype(np.uint8)  # (2, N, 3)
        shirt, trousers = cv2.cvtColor(hsv, cv2.COLOR_HSV2BGR)
        skin_tone = rng.uniform(0.0, 1.0, (n, 1))
        skin = (np.array([[60, 80, 110]]) * (1 - skin_tone) + np.array([[170, 200, 240]]) * skin_tone)
        return cls(shirt=shirt, trousers=trousers, skin=skin.astype(np.uint8))


def _shade(colour: np.ndarray, side: str) -> Tuple[int, int, int]:
    """Left parts are lightened, right parts darkened, so left/right limbs always differ."""
    c = colour.astype(np.float64)
    c = c + (255 - c) * 0.4 if side == 'l' else c * 0.55
    return tuple(int(v) for v in c)


def _person_primitives(poses: PoseBatch, appearance: Appearance, i: int) -> List[tuple]:
    """Back-to-front drawing primitives for person ``i`` (kind, geometry..., BGR colour)."""
    kpts, h = poses.keypoints[i], float(poses.heights[i])
    colours = {
        'trousers_l': _shade(appearance.trousers[i], 'l'),
        'trousers_r': _shade(appearance.trousers[i], 'r'),
        'shirt_l': _shade(appearance.shirt[i], 'l'),
        'shirt_r': _shade(appearance.shirt[i], 'r'),
        'skin_l': _shade(appearance.skin[i], 'l'),
        'skin_r': _shade(appearance.skin[i], 'r'),
    }
    prims: List[tuple] = []
    for a, b, width, slot in _LEGS:
        prims.append(('line', kpts[a], kpts[b], width * h, colours[slot]))
    torso = kpts[[L_SHOULDER, R_SHOULDER, R_HIP, L_HIP]]
    torso = torso + (torso - torso.mean(0)) * 0.15  # a little wider than the joints so the discs sit inside
    prims.append(('poly', torso, tuple(int(v) for v in appearance.shirt[i])))
    neck = (kpts[L_SHOULDER] + kpts[R_SHOULDER]) / 2
    prims.append(('line', neck, poses.head_centre[i], 0.05 * h, tuple(int(v) for v in appearance.skin[i])))
    for a, b, width, slot in _ARMS:
        prims.append(('line', kpts[a], kpts[b], width * h, colours[slot]))
    prims.append(('ellipse', poses.head_centre[i], poses.head_axes[i], float(poses.head_angle[i]),
                  tuple(int(v) for v in appearance.skin[i])))
    for k in range(NUM_KEYPOINTS):
        if poses.self_occluded[i, k]:
            continue  # far-side face points are hidden by the head
        radius = (_FACE_RADIUS if k < 5 else _JOINT_RADIUS) * h
        prims.append(('circle', kpts[k], radius, tuple(int(v) for v in KEYPOINT_COLOURS[k])))
    return prims


def _draw(canvas: np.ndarray, prims: Sequence[tuple], colour_override=None, line_type: int = cv2.LINE_AA) -> None:
    for prim in prims:
        kind, colour = prim[0], (prim[-1] if colour_override is None else colour_override)
        if kind == 'line':
            p0, p1 = _fixed(prim[1]), _fixed(prim[2])
            cv2.line(canvas, (int(p0[0]), int(p0[1])), (int(p1[0]), int(p1[1])), colour, max(1, int(round(prim[3]))),
                     line_type, _SHIFT)
        elif kind == 'poly':
            cv2.fillPoly(canvas, [_fixed(prim[1])], colour, line_type, _SHIFT)
        elif kind == 'ellipse':
            c = _fixed(prim[1])
            axes = (_radius(prim[2][0]), _radius(prim[2][1]))
            cv2.ellipse(canvas, (int(c[0]), int(c[1])), axes, prim[3], 0, 360, colour, -1, line_type, _SHIFT)
        elif kind == 'circle':
            c = _fixed(prim[1])
            cv2.circle(canvas, (int(c[0]), int(c[1])), _radius(prim[2]), colour, -1, line_type, _SHIFT)
        else:  # pragma: no cover - internal
            raise ValueError(f'unknown primitive {kind!r}')


def keypoint_colours(skeleton: Skeleton) -> np.ndarray:
    """(K, 3) uint8 BGR disc colours for any skeleton: one hue per joint (a flip pair shares it), left joints light,
    their mirrors dark, axis joints saturated, as :data:`KEYPOINT_COLOURS` does for COCO."""
    k = skeleton.num_keypoints
    sides = skeleton.sides()
    group = np.array([min(j, f) for j, f in enumerate(skeleton.flip_indices)])
    _, group = np.unique(group, return_inverse=True)
    hue = (group * 180.0 * 0.61803) % 180  # golden-ratio hue steps: joints next in index order differ
    sat = np.where(sides > 0, 110, np.where(sides < 0, 255, 230))
    val = np.where(sides > 0, 255, np.where(sides < 0, 120, 220))
    hsv = np.stack([hue, sat, val], -1).astype(np.uint8).reshape(1, k, 3)
    return cv2.cvtColor(hsv, cv2.COLOR_HSV2BGR).reshape(k, 3)


def _skeleton_primitives(poses: PoseBatch, appearance: Appearance, i: int, skeleton: Skeleton, layout: SkeletonLayout,
                         colours: np.ndarray) -> List[tuple]:
    """Drawing primitives of figure ``i`` of any skeleton: a capsule per link (shirt colour, lightened / darkened on
    the left / right), then a disc per joint in its own colour; widths shrink with the figure's edge length."""
    kpts, h = poses.keypoints[i], float(poses.heights[i])
    edges = layout.length[layout.parent >= 0]
    edge = float(np.median(edges)) if len(edges) else 0.2
    width = min(0.05, 0.45 * edge) * h
    radius = min(_JOINT_RADIUS, 0.3 * edge) * h
    shirt = appearance.shirt[i]
    prims: List[tuple] = []
    for a, b in skeleton.links:
        side = layout.sides[a] + layout.sides[b]
        colour = _shade(shirt, 'l') if side > 0 else _shade(shirt, 'r') if side < 0 else tuple(int(v) for v in shirt)
        prims.append(('line', kpts[a], kpts[b], width, colour))
    for k in range(skeleton.num_keypoints):
        prims.append(('circle', kpts[k], radius, tuple(int(v) for v in colours[k])))
    return prims


def draw_people(img: np.ndarray,
                owner: np.ndarray,
                poses: PoseBatch,
                appearance: Appearance,
                owner_ids: Sequence[int],
                skeleton: Optional[Tuple[Skeleton, SkeletonLayout]] = None) -> None:
    """Draw persons 0..N-1 in that order (later ones on top), in place.

    Args:
        img: uint8 (H, W, 3) BGR image.
        owner: uint8 (H, W) map; person ``i``'s pixels are set to ``owner_ids[i]``.
        poses: N poses in image px.
        appearance: N persons' colours.
        owner_ids: N ids in 1..255 (several persons may share one, e.g. a crowd).
        skeleton: ``None``: the COCO body model's figures; else (skeleton, its layout): stick figures of it.
    """
    if len(owner_ids) != len(poses):
        raise ValueError(f'owner_ids has {len(owner_ids)} entries for {len(poses)} poses')
    colours = keypoint_colours(skeleton[0]) if skeleton is not None else None
    for i, oid in enumerate(owner_ids):
        if skeleton is None:
            prims = _person_primitives(poses, appearance, i)
        else:
            prims = _skeleton_primitives(poses, appearance, i, skeleton[0], skeleton[1], colours)
        _draw(img, prims)
        _draw(owner, prims, colour_override=int(oid), line_type=cv2.LINE_8)


# --------------------------------------------------------------------------------------------------- preview
def draw_annotations(img: np.ndarray,
                     annotations: Sequence[dict],
                     upscale: int = 3,
                     skeleton: Sequence[Sequence[int]] = COCO_SKELETON) -> np.ndarray:
    """Preview of COCO annotations on an image (for eyeballing the generator).

    Skeleton lines and keypoints of labelled persons (filled dot = v=2, hollow ring = v=1), boxes in green
    (labelled), orange (num_keypoints == 0) or red (iscrowd), and the outline of every ignore region.

    Args:
        img: uint8 (H, W, 3) BGR image.
        annotations: COCO annotation dicts of this image (``segmentation`` as polygons or uncompressed RLE).
        upscale: integer magnification of the returned image.
        skeleton: 1-based links to draw (the category's ``skeleton``; default COCO's).

    Returns:
        uint8 (H * upscale, W * upscale, 3) BGR image.
    """
    from .coco_writer import rle_to_mask  # local: avoids an import cycle at module load

    h, w = img.shape[:2]
    out = cv2.resize(img, (w * upscale, h * upscale), interpolation=cv2.INTER_NEAREST)
    for ann in annotations:
        if ann['iscrowd']:
            kind_colour = (0, 0, 255)
        else:
            kind_colour = (0, 165, 255) if ann['num_keypoints'] == 0 else (0, 255, 0)
        if ann['iscrowd'] or ann['num_keypoints'] == 0:
            seg = ann['segmentation']
            if isinstance(seg, dict):
                mask = rle_to_mask(seg)
            else:
                mask = np.zeros((h, w), np.uint8)
                for poly in seg:
                    cv2.fillPoly(mask, [_fixed(np.reshape(poly, (-1, 2)))], 1, cv2.LINE_8, _SHIFT)
            mask = cv2.resize(mask.astype(np.uint8), (w * upscale, h * upscale), interpolation=cv2.INTER_NEAREST)
            contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
            cv2.drawContours(out, contours, -1, kind_colour, 1)
        x, y, bw, bh = (v * upscale for v in ann['bbox'])
        cv2.rectangle(out, (int(x), int(y)), (int(x + bw), int(y + bh)), kind_colour, 1)
        kpts = np.reshape(ann['keypoints'], (-1, 3))
        pts = kpts[:, :2] * upscale
        for a, b in skeleton:
            if kpts[a - 1, 2] > 0 and kpts[b - 1, 2] > 0:
                cv2.line(out, tuple(int(v) for v in pts[a - 1]), tuple(int(v) for v in pts[b - 1]), (255, 255, 255), 1,
                         cv2.LINE_AA)
        for k, (px, py) in enumerate(pts):
            if kpts[k, 2] == 2:
                cv2.circle(out, (int(px), int(py)), 3, (0, 255, 0), -1, cv2.LINE_AA)
            elif kpts[k, 2] == 1:
                cv2.circle(out, (int(px), int(py)), 4, (0, 0, 255), 1, cv2.LINE_AA)
    return out
