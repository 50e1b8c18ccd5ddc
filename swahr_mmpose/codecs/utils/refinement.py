"""Sub-pixel adjustment and the person tags used by refinement (reference ``adjust`` and ``refine``), torch.

Positions are integer pixels of the decoding canvas (input px in SWAHR); the reference rules:

* quarter offset: ``x += q`` if ``heat[y, min(x+1, W-1)] > heat[y, max(x-1, 0)]`` else ``x -= q`` (same for y),
  then ``+ center_shift`` (reference: ``q = 0.25``, ``center_shift = 0.5``);
* refinement of a person's missing joint j: the first pixel (row-major) maximising
  ``heat_j(p) - round(||tag_j(p) - person_tag||)`` over the WHOLE map (:func:`best_refine_pixels`), with
  ``person_tag`` the float32 mean of the tags read at the person's detected joints; the joint is filled when
  ``heat_j(p) > 0``.

The whole-map search of refinement.

Exact whole-map search of the refinement score ``heat_j(p) - round(||tag_j(p) - person_tag||)``, for many
(person, joint) pairs at once, on the maps' device.

The reference scans the whole map for every pair and takes the first maximum in row-major order. Here the map is
cut into fine tiles (``block`` px) grouped into coarse tiles (``block * coarse_factor`` px), with per-tile max heat
and per-channel tag range. For a pair, a tile's score is at most its max heat minus a lower bound of the rounded
distance from the person tag to the tile's tag range (upper bound); the pair's maximum is at least the score of any
pixel (lower bound: a reference pixel per tile, or a tile scored exactly). Tiles whose upper bound is below the best
lower bound cannot hold the maximum. Stages:

1. bounds of all coarse tiles;
2. probe: the best fine tile of each pair's most promising coarse tile is scored exactly (a tight lower bound),
   then coarse tiles are pruned;
3. bounds of the fine tiles inside the surviving coarse tiles, a second probe, pruning;
4. the pixels of the surviving fine tiles are scored exactly; the first maximum in row-major order wins.

Every step of the bounds is monotone in float32, so the pruning never drops a pixel that could be (or tie with)
the maximum. The exact score reproduces numpy's float32 arithmetic bit for bit: ``(t - m)**2`` summed over the tag
dimension in index order (numpy's order for D < 8), a correctly rounded float32 square root (torch's CPU float32
``sqrt`` is not, so it is taken in float64), round-half-to-even, then ``heat - rounded``.
"""
from dataclasses import dataclass
from typing import Optional, Tuple

import numpy as np
import torch
import torch.nn.functional as F

from .tag_grouping import mean_of_lists


def quarter_offset_signs(heatmaps: torch.Tensor, joint: torch.Tensor, x: torch.Tensor,
                         y: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
    """+1/-1 per keypoint: towards the higher horizontal / vertical neighbour (-1 on equality, as the reference).

    Args:
        heatmaps: (J, H, W).
        joint, x, y: (M,) int64 on the same device.

    Returns:
        sign_x, sign_y: (M,) float64 tensors of +1 / -1.
    """
    height, width = heatmaps.shape[-2:]
    right = heatmaps[joint, y, (x + 1).clamp(max=width - 1)]
    left = heatmaps[joint, y, (x - 1).clamp(min=0)]
    below = heatmaps[joint, (y + 1).clamp(max=height - 1), x]
    above = heatmaps[joint, (y - 1).clamp(min=0), x]
    one = torch.ones_like(right, dtype=torch.float64)
    return torch.where(right > left, one, -one), torch.where(below > above, one, -one)


def person_tags_at_joints(tags: torch.Tensor, x: np.ndarray, y: np.ndarray, detected: np.ndarray) -> np.ndarray:
    """Mean tag over each person's detected joints, bit-equal to the reference's float32 ``np.mean``.

    Args:
        tags: (J, H, W, D).
        x, y: (P, J) int64 pixel to read each joint's tag at.
        detected: (P, J) bool.

    Returns:
        (P, D) float32 numpy (rows of people with no detected joint are NaN).
    """
    num_people, num_joints = detected.shape
    joint_index = np.broadcast_to(np.arange(num_joints), (num_people, num_joints))
    device = tags.device
    read = tags[torch.from_numpy(joint_index.copy()).to(device), torch.from_numpy(y).to(device),
                torch.from_numpy(x).to(device)].cpu().numpy()  # (P, J, D)
    # detected joints first, in joint order (a stable sort keeps the order)
    order = np.argsort(~detected, axis=1, kind='stable')
    packed = np.take_along_axis(read, order[:, :, None], axis=1)
    counts = detected.sum(axis=1)
    means = np.full((num_people, read.shape[2]), np.nan, dtype=np.float32)
    has_any = counts > 0
    if has_any.any():
        means[has_any] = mean_of_lists(packed[has_any], counts[has_any])
    return means


def _squared_distance(diff: torch.Tensor) -> torch.Tensor:
    """Sum over the last axis of ``diff * diff`` in index order (numpy's float32 order for fewer than 8 terms)."""
    squared = diff * diff
    total = squared[..., 0]
    for d in range(1, squared.shape[-1]):
        total = total + squared[..., d]
    return total


def refine_scores(heat: torch.Tensor, tag: torch.Tensor, person_tag: torch.Tensor) -> torch.Tensor:
    """``heat - round(||tag - person_tag||_2)`` in float32, bit-equal to the numpy reference formula.

    Args:
        heat: (...) float32.
        tag: (..., D) float32.
        person_tag: float32 broadcastable to ``tag``.
    """
    distance = torch.sqrt(_squared_distance(tag - person_tag).double()).float()  # correctly rounded float32 sqrt
    return heat - torch.round(distance)


def _score_bounds(person_tag: torch.Tensor, tile_max: torch.Tensor, low: torch.Tensor, high: torch.Tensor,
                  ref_tag: torch.Tensor, ref_heat: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
    """Bounds of :func:`refine_scores` for tiles (shapes broadcast; tag tensors have a trailing D axis).

    Returns:
        upper: >= the score of every pixel of the tile (heat <= tile_max, tag in [low, high]).
        lower: <= the score of the tile's reference pixel (heat ``ref_heat``, tag ``ref_tag``).

    Each float32 step is monotone, so the squared distance to the nearest point of the tag range never exceeds a
    squared distance from inside it. ``ceil(v - 0.5) <= round(v) <= floor(v + 0.5)`` for any v; torch's fast
    square root is widened by 1e-5 to cover its error, so no correctly rounded root is needed here.
    """
    near = torch.clamp(person_tag, low, high) - person_tag  # 0 inside the range, else the (signed) gap
    least = torch.clamp_min(torch.ceil(torch.sqrt(_squared_distance(near)) * (1.0 - 1e-5) - 0.5), 0.0)
    at_ref = torch.floor(torch.sqrt(_squared_distance(ref_tag - person_tag)) * (1.0 + 1e-5) + 0.5)
    return tile_max - least, ref_heat - at_ref


def _pool(values: torch.Tensor, size: int, with_min: bool = True) -> Tuple[Optional[torch.Tensor], torch.Tensor]:
    """(min or None, max) over non-overlapping ``size x size`` windows of axes 1 and 2 (lengths divisible by size).

    Rows first, as one reduction over whole contiguous rows (fast); the short runs along x are then reduced on
    ``size`` times less data.
    """
    num, height, width = values.shape[:3]
    rest = values.shape[3:]
    rows = values.reshape(num, height // size, size, -1)
    grid = (num, height // size, width // size, size) + rest
    high = rows.amax(dim=2).view(grid).amax(dim=3)
    low = rows.amin(dim=2).view(grid).amin(dim=3) if with_min else None
    return low, high


@dataclass
class _TilePyramid:
    """Per-tile statistics of U joint maps: fine tiles (``block`` px) grouped into coarse tiles of
    ``factor x factor`` fine tiles (Tc coarse tiles per map, row-major; S = factor**2 fine tiles each, row-major).

    coarse_*: (U * Tc[, D]); fine_*: (U * Tc, S[, D]), so the fine tiles of one coarse tile are one contiguous row.
    ``*_max``: max heat; ``*_low`` / ``*_high``: per-channel tag range; ``*_ref_heat`` / ``*_ref_tag``: one real
    pixel per tile for lower bounds (the centre pixel of a fine tile; for a coarse tile, that of its best fine tile).
    """

    block: int
    factor: int
    coarse_cols: int
    num_coarse: int
    fine_max: torch.Tensor
    fine_low: torch.Tensor
    fine_high: torch.Tensor
    fine_ref_heat: torch.Tensor
    fine_ref_tag: torch.Tensor
    coarse_max: torch.Tensor
    coarse_low: torch.Tensor
    coarse_high: torch.Tensor
    coarse_ref_heat: torch.Tensor
    coarse_ref_tag: torch.Tensor

    @classmethod
    def build(cls, heat: torch.Tensor, tags: torch.Tensor, block: int, factor: int) -> '_TilePyramid':
        """heat (U, H, W), tags (U, H, W, D) with H, W multiples of ``block * factor``."""
        num, height, width = heat.shape
        tag_dim = tags.shape[-1]
        coarse_rows, coarse_cols = height // (block * factor), width // (block * factor)
        num_coarse = coarse_rows * coarse_cols

        def by_coarse(values: torch.Tensor) -> torch.Tensor:  # (U, R, C, ...) -> (U * Tc, S, ...)
            rest = values.shape[3:]
            grid = values.reshape(num, coarse_rows, factor, coarse_cols, factor, *rest).transpose(2, 3)
            return grid.reshape(num * num_coarse, factor * factor, *rest)

        _, fine_max = _pool(heat, block, with_min=False)
        fine_low, fine_high = _pool(tags, block)
        centre = block // 2
        fine_max, fine_low, fine_high = by_coarse(fine_max), by_coarse(fine_low), by_coarse(fine_high)
        fine_ref_heat = by_coarse(heat[:, centre::block, centre::block])
        fine_ref_tag = by_coarse(tags[:, centre::block, centre::block])

        coarse_max, which = fine_max.max(dim=1)
        # reference pixel of a coarse tile: the centre of its best fine tile
        coarse_ref_heat = fine_ref_heat.gather(1, which[:, None])[:, 0]
        coarse_ref_tag = fine_ref_tag.gather(1, which[:, None, None].expand(-1, 1, tag_dim))[:, 0]
        return cls(block, factor, coarse_cols, num_coarse, fine_max, fine_low, fine_high, fine_ref_heat,
                   fine_ref_tag, coarse_max, fine_low.amin(dim=1), fine_high.amax(dim=1), coarse_ref_heat,
                   coarse_ref_tag)

    def pixels(self, coarse: torch.Tensor, sub: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """(y, x), each (N, block**2) row-major, of fine tile ``sub`` of coarse tile ``coarse`` (padded-map px)."""
        offsets = torch.arange(self.block * self.block, device=coarse.device)
        span = self.block * self.factor
        y0 = (coarse // self.coarse_cols) * span + (sub // self.factor) * self.block
        x0 = (coarse % self.coarse_cols) * span + (sub % self.factor) * self.block
        return y0[:, None] + offsets // self.block, x0[:, None] + offsets % self.block


def _pad_to_multiple(heatmaps: torch.Tensor, tags: torch.Tensor, multiple: int) -> Tuple[torch.Tensor, torch.Tensor]:
    """Pad H, W up to a multiple: heat with -inf (never better than a real pixel), tags by edge replication (keeps
    the tile tag ranges as tight as without padding)."""
    height, width = heatmaps.shape[-2:]
    pad_h, pad_w = -height % multiple, -width % multiple
    if not (pad_h or pad_w):
        return heatmaps, tags
    heatmaps = F.pad(heatmaps, (0, pad_w, 0, pad_h), value=float('-inf'))
    rows = torch.arange(height + pad_h, device=tags.device).clamp(max=height - 1)
    cols = torch.arange(width + pad_w, device=tags.device).clamp(max=width - 1)
    return heatmaps, tags[:, rows][:, :, cols]


def best_refine_pixels(heatmaps: torch.Tensor,
                       tags: torch.Tensor,
                       joint: torch.Tensor,
                       person_tag: torch.Tensor,
                       block: int = 8,
                       coarse_factor: int = 4,
                       chunk_elements: int = 1 << 22) -> Tuple[torch.Tensor, torch.Tensor]:
    """For each (joint, person tag) pair, the first pixel (row-major) maximising
    ``heat_j - round(||tag_j - person_tag||)``.

    Args:
        heatmaps: (J, H, W) float32.
        tags: (J, H, W, D) float32.
        joint: (M,) int64 joint of each pair.
        person_tag: (M, D) float32.
        block, coarse_factor: fine tile side and fine tiles per coarse tile side (speed only; results do not
            depend on them).
        chunk_elements: bound on the size of temporary tensors.

    Returns:
        x, y: (M,) int64 pixel of the maximum.
    """
    num_pairs = joint.shape[0]
    device = heatmaps.device
    height, width = heatmaps.shape[-2:]
    tag_dim = tags.shape[-1]
    if num_pairs == 0:
        return joint.new_zeros(0), joint.new_zeros(0)
    used, local_joint = torch.unique(joint, return_inverse=True)
    if 2 * used.numel() <= heatmaps.shape[0]:  # statistics only for the joints some pair needs (if few)
        heatmaps, tags = heatmaps[used], tags[used]
    else:  # copying most joints costs about as much as computing the statistics of all
        local_joint = joint
    heat, tags = _pad_to_multiple(heatmaps, tags, block * coarse_factor)
    padded_width = heat.shape[-1]
    tiles = _TilePyramid.build(heat, tags, block, coarse_factor)
    num_joints, num_coarse = heat.shape[0], tiles.num_coarse

    # Pairs as a padded (joint, slot) table so the coarse stage broadcasts against per-joint tile statistics.
    order = torch.sort(local_joint, stable=True).indices
    sorted_joint = local_joint[order]
    counts = torch.bincount(sorted_joint, minlength=num_joints)
    slot = torch.arange(num_pairs, device=device) - (torch.cumsum(counts, 0) - counts)[sorted_joint]
    num_slots = int(counts.max()) if num_pairs else 0
    pair_of = torch.full((num_joints, num_slots), -1, dtype=torch.int64, device=device)
    pair_of[sorted_joint, slot] = order

    flat_heat, flat_tags = heat.reshape(-1), tags.reshape(-1, tag_dim)
    map_size = heat.shape[-2] * padded_width

    def exact_tiles(pair: torch.Tensor, coarse: torch.Tensor,
                    sub: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """Exact best score of each (pair, fine tile) and the flat pixel index of its first maximum."""
        best = torch.empty(pair.shape[0], device=device)
        best_index = torch.empty(pair.shape[0], dtype=torch.int64, device=device)
        rows_per_chunk = max(1, chunk_elements // (block * block * (tag_dim + 2)))
        for start in range(0, pair.shape[0], rows_per_chunk):
            sel = slice(start, start + rows_per_chunk)
            ys, xs = tiles.pixels(coarse[sel], sub[sel])
            pixel = ys * padded_width + xs  # (N, block^2), row-major inside the tile
            flat = local_joint[pair[sel]][:, None] * map_size + pixel
            tag = flat_tags.index_select(0, flat.reshape(-1)).view(*flat.shape, tag_dim)
            scores = refine_scores(flat_heat[flat], tag, person_tag[pair[sel]][:, None, :])
            best[sel], local = scores.max(dim=1)
            best_index[sel] = pixel.gather(1, local[:, None])[:, 0]
        return best, best_index

    num_sub = coarse_factor * coarse_factor

    def fine_bounds(pair: torch.Tensor, coarse: torch.Tensor) -> torch.Tensor:
        """Upper bounds (N, S) of the fine tiles of each (pair, coarse tile); their lower bounds raise best_lower."""
        row = local_joint[pair] * num_coarse + coarse  # row of the fine statistics
        upper = torch.empty((pair.shape[0], num_sub), device=device)
        rows_per_chunk = max(1, chunk_elements // (num_sub * tag_dim))
        for start in range(0, pair.shape[0], rows_per_chunk):
            sel = slice(start, start + rows_per_chunk)
            r = row[sel]
            upper[sel], lower = _score_bounds(person_tag[pair[sel]][:, None], tiles.fine_max.index_select(0, r),
                                              tiles.fine_low.index_select(0, r), tiles.fine_high.index_select(0, r),
                                              tiles.fine_ref_tag.index_select(0, r),
                                              tiles.fine_ref_heat.index_select(0, r))
            best_lower.scatter_reduce_(0, pair[sel], lower.max(dim=1).values, reduce='amax')
        return upper

    def probe(pair: torch.Tensor, coarse: torch.Tensor, sub: torch.Tensor, upper: torch.Tensor) -> None:
        """Score each pair's fine tile with the highest upper bound exactly: a tight lower bound."""
        top = _top_entry_per_pair(pair, upper, num_pairs)
        best, _ = exact_tiles(pair[top], coarse[top], sub[top])
        best_lower.scatter_reduce_(0, pair[top], best, reduce='amax')

    # 1. coarse tiles that can hold each pair's maximum (bounds broadcast over a (joint, slot) table of pairs)
    coarse_max = tiles.coarse_max.view(num_joints, 1, num_coarse)
    coarse_low = tiles.coarse_low.view(num_joints, 1, num_coarse, tag_dim)
    coarse_high = tiles.coarse_high.view(num_joints, 1, num_coarse, tag_dim)
    coarse_ref_heat = tiles.coarse_ref_heat.view(num_joints, 1, num_coarse)
    coarse_ref_tag = tiles.coarse_ref_tag.view(num_joints, 1, num_coarse, tag_dim)
    best_lower = torch.full((num_pairs, ), float('-inf'), device=device)
    kept_pair, kept_coarse, kept_upper = [], [], []
    slots_per_chunk = max(1, chunk_elements // (num_coarse * tag_dim * num_joints))
    for start in range(0, num_slots, slots_per_chunk):
        table = pair_of[:, start:start + slots_per_chunk]  # (U, s)
        valid = table >= 0
        ref = person_tag[table.clamp(min=0)][:, :, None]  # (U, s, 1, D)
        upper, lower = _score_bounds(ref, coarse_max, coarse_low, coarse_high, coarse_ref_tag, coarse_ref_heat)
        pair_lower = lower.max(dim=-1).values
        best_lower[table[valid]] = pair_lower[valid]
        keep = (upper >= pair_lower[..., None]) & valid[..., None]
        ju, js, tile = keep.nonzero(as_tuple=True)
        kept_pair.append(table[ju, js])
        kept_coarse.append(tile)
        kept_upper.append(upper[ju, js, tile])
    pair, coarse, coarse_upper = torch.cat(kept_pair), torch.cat(kept_coarse), torch.cat(kept_upper)

    # 2. probe the most promising coarse tile of each pair (its most promising fine tile), then prune coarse tiles
    top = _top_entry_per_pair(pair, coarse_upper, num_pairs)
    top_upper = fine_bounds(pair[top], coarse[top])
    top_sub = top_upper.argmax(dim=1)
    probe(pair[top], coarse[top], top_sub, top_upper.gather(1, top_sub[:, None])[:, 0])
    keep = coarse_upper >= best_lower[pair]
    pair, coarse = pair[keep], coarse[keep]

    # 3. fine tiles inside the surviving coarse tiles, a second probe, and pruning
    upper = fine_bounds(pair, coarse)
    entry, sub = (upper >= best_lower[pair][:, None]).nonzero(as_tuple=True)
    pair, coarse, upper = pair[entry], coarse[entry], upper[entry, sub]
    probe(pair, coarse, sub, upper)
    keep = upper >= best_lower[pair]
    pair, coarse, sub = pair[keep], coarse[keep], sub[keep]

    # 4. exact scores inside the surviving fine tiles; per tile its first maximum (pixels are in row-major order)
    tile_best, tile_best_index = exact_tiles(pair, coarse, sub)

    # 5. per pair: the smallest flat index among its best tiles (row-major = the reference's argmax order)
    index = _first_maximum_per_pair(pair, tile_best, tile_best_index, num_pairs)
    return (index % padded_width).clamp(max=width - 1), (index // padded_width).clamp(max=height - 1)


def _top_entry_per_pair(pair: torch.Tensor, value: torch.Tensor, num_pairs: int) -> torch.Tensor:
    """Index of the first entry with the largest ``value`` of each pair that has entries."""
    device = value.device
    top_value = torch.full((num_pairs, ), float('-inf'), device=device).scatter_reduce(0, pair, value, 'amax')
    count = pair.shape[0]
    entry = torch.where(value == top_value[pair], torch.arange(count, device=device), torch.full_like(pair, count))
    first = torch.full((num_pairs, ), count, dtype=torch.int64, device=device).scatter_reduce(0, pair, entry, 'amin')
    return first[first < count]


def _first_maximum_per_pair(pair: torch.Tensor, best: torch.Tensor, best_index: torch.Tensor,
                            num_pairs: int) -> torch.Tensor:
    """Per pair, the smallest ``best_index`` among its entries holding the pair's largest ``best``."""
    device = best.device
    pair_best = torch.full((num_pairs, ), float('-inf'), device=device)
    pair_best = pair_best.scatter_reduce(0, pair, best, reduce='amax', include_self=True)
    big = torch.iinfo(torch.int64).max
    candidates = torch.where(best == pair_best[pair], best_index, torch.full_like(best_index, big))
    index = torch.full((num_pairs, ), big, dtype=torch.int64, device=device)
    index = index.scatter_reduce(0, pair, candidates, reduce='amin', include_self=True)
    return torch.where(index == big, torch.zeros_like(index), index)  # only when every score is NaN
