"""Sub-pixel adjustment and refinement of missing joints (reference ``adjust`` and ``refine``), on the host.

Positions are integer pixels of the decoding canvas (input px in SWAHR); the reference rules:

* quarter offset: ``x += q`` if ``heat[y, min(x+1, W-1)] > heat[y, max(x-1, 0)]`` else ``x -= q`` (same for y),
  then ``+ center_shift`` (reference: ``q = 0.25``, ``center_shift = 0.5``);
* refinement of a person's missing joint j: the first pixel (row-major) maximising
  ``heat_j(p) - round(||tag_j(p) - person_tag||)`` over the WHOLE map (:func:`search_refine_pixels`), with
  ``person_tag`` the float32 mean of the tags read at the person's detected joints; the joint is filled when
  ``heat_j(p) > 0``.

Tags are channels-first, as MMPose and the network give them: ``(L, K, H, W)`` planes (a view of ``(L*K, H, W)``,
channel ``l*K + k``), so a pixel's tag vector is read by flat index, one plane per component, and no full-map
permutation is ever made.

The whole-map search.

The reference scans the whole map for every (person, joint) pair and takes the first maximum in row-major order.
Here the map is cut into fine tiles (``block`` px) grouped into coarse tiles (``block * coarse_factor`` px), with
per-tile max heat and per-component tag range, computed once per image for the joints some pair needs. For a pair
and a tile, the float32 distance computation applied to the tag range's nearest and farthest points gives the least
and the largest rounded distance any pixel of the tile can have (every float32 step is monotone, the square root is
numpy's correctly rounded one, as the reference's). Hence, with ``M`` the tile's max heat:

* upper bound ``M - least``: no pixel of the tile scores more;
* lower bound ``M - largest``: the tile's max-heat pixel scores at least this;
* when ``least == largest`` the tile's rounded distance is constant and its best score is exactly ``M - least``,
  reached first at its first pixel with ``heat - least`` equal to it: no tag is read for such a tile. Tags are
  piecewise smooth, so this is the common case.

Search: bounds of all coarse tiles; then best first, in rounds of doubling size, each pair opens its most promising
coarse tiles (bounds of their fine tiles) and scores its most promising fine tiles of non-constant distance pixel by
pixel, exactly as the reference computes (``(t - m)**2`` summed over the components in index order, which is numpy's
order for L < 8, square root, round half to even, ``heat - rounded``). Every round raises the pairs' best lower
bounds, and whatever has an upper bound below them is dropped. Per pair the first maximum in row-major order wins.
The visiting order only affects the speed: a tile is dropped only when none of its pixels can reach (or tie) the
maximum.

Maps are torch CPU tensors for the full-map reductions (torch reduces much faster there); everything sized by the
pairs is numpy, shared zero-copy with them.
"""
from dataclasses import dataclass
from typing import Dict, Optional, Tuple

import numpy as np
import torch
import torch.nn.functional as F
from numpy.lib.stride_tricks import sliding_window_view

from .candidates import pool_tiles
from .tag_grouping import mean_of_lists


def quarter_offset_signs(heatmaps: np.ndarray, joint: np.ndarray, x: np.ndarray,
                         y: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """+1/-1 per keypoint: towards the higher horizontal / vertical neighbour (-1 on equality, as the reference).

    Args:
        heatmaps: (K, H, W) float32.
        joint, x, y: (M,) int64 joint and pixel of each keypoint.

    Returns:
        sign_x, sign_y: (M,) float64 arrays of +1 / -1.
    """
    height, width = heatmaps.shape[-2:]
    flat = heatmaps.reshape(-1)
    row = (joint * height + y) * width
    right = flat[row + np.minimum(x + 1, width - 1)]
    left = flat[row + np.maximum(x - 1, 0)]
    column = joint * (height * width) + x
    below = flat[column + np.minimum(y + 1, height - 1) * width]
    above = flat[column + np.maximum(y - 1, 0) * width]
    return np.where(right > left, 1.0, -1.0), np.where(below > above, 1.0, -1.0)


def person_tags_at_joints(tags: np.ndarray, x: np.ndarray, y: np.ndarray, detected: np.ndarray) -> np.ndarray:
    """Mean tag over each person's detected joints, bit-equal to the reference's float32 ``np.mean``.

    Args:
        tags: (L, K, H, W) float32 tag planes.
        x, y: (P, K) int64 pixel to read each joint's tag at.
        detected: (P, K) bool.

    Returns:
        (P, L) float32 (rows of people with no detected joint are NaN).
    """
    num_people, num_joints = detected.shape
    num_tags, _, height, width = tags.shape
    pixel = (np.arange(num_joints) * height + y) * width + x  # (P, K) flat index in one plane stack (K, H, W)
    read = tags.reshape(num_tags, -1)[:, pixel].transpose(1, 2, 0)  # (P, K, L)
    # detected joints first, in joint order (a stable sort keeps the order)
    order = np.argsort(~detected, axis=1, kind='stable')
    packed = np.take_along_axis(read, order[:, :, None], axis=1)
    counts = detected.sum(axis=1)
    means = np.full((num_people, num_tags), np.nan, dtype=np.float32)
    has_any = counts > 0
    if has_any.any():
        means[has_any] = mean_of_lists(packed[has_any], counts[has_any])
    return means


def _rounded_distance(squared: np.ndarray) -> np.ndarray:
    """``round(sqrt(squared))`` in float32, in place: numpy's square root is correctly rounded, as in the reference."""
    return np.round(np.sqrt(squared, out=squared), out=squared)


def _score_bounds(tile_max: np.ndarray, low: np.ndarray, high: np.ndarray,
                  person_tag: np.ndarray) -> Tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Bounds of the refinement score over tiles.

    Args:
        tile_max: (N, T) float32 max heat of each tile.
        low, high: (L, N, T) float32 tag range of each tile, per component.
        person_tag: (N, L) float32.

    Returns:
        upper: (N, T) no pixel of the tile scores more.
        lower: (N, T) the tile's max-heat pixel scores at least this.
        least: (N, T) the least rounded distance of the tile's pixels.
        constant: (N, T) bool, every pixel of the tile has the rounded distance ``least`` (then ``upper`` is the
        tile's exact best score).
    """
    near_sq = far_sq = None
    for component in range(low.shape[0]):
        person = person_tag[:, component, None]
        below = low[component] - person  # the float32 differences of the range ends bound every pixel's difference
        above = high[component] - person
        near = np.maximum(below, 0)
        near += np.minimum(above, 0)  # at most one term is non-zero since below <= above
        far = np.maximum(above, np.negative(below, out=below), out=above)
        near *= near
        far *= far
        if near_sq is None:
            near_sq, far_sq = near, far
        else:  # in index order, as numpy sums fewer than 8 terms
            near_sq += near
            far_sq += far
    least, largest = _rounded_distance(near_sq), _rounded_distance(far_sq)
    return tile_max - least, tile_max - largest, least, least == largest


@dataclass
class _TileStats:
    """Per-tile statistics of U joint maps: fine tiles (``block`` px) grouped into coarse tiles of
    ``factor x factor`` fine tiles (Tc coarse tiles per map, row-major; S = factor**2 fine tiles each, row-major).

    ``coarse_max`` (U, Tc) / ``fine_max`` (U * Tc, S): max heat (-inf for fine tiles beyond the map);
    ``coarse_low``, ``coarse_high`` (L, U, Tc) / ``fine_low``, ``fine_high`` (L, U * Tc, S): tag range per component.
    """

    block: int
    factor: int
    coarse_cols: int
    num_coarse: int
    coarse_max: np.ndarray
    coarse_low: np.ndarray
    coarse_high: np.ndarray
    fine_max: np.ndarray
    fine_low: np.ndarray
    fine_high: np.ndarray

    @classmethod
    def build(cls,
              heat: torch.Tensor,
              tags: torch.Tensor,
              used: np.ndarray,
              block: int,
              factor: int,
              heat_tile_max: Optional[np.ndarray] = None) -> '_TileStats':
        """Statistics of the joints ``used`` (U,) of heat (K, H, W) and tags (L, K, H, W), float32 CPU tensors;
        heat_tile_max: the heat's ``block`` px tile max (K, ceil(H/block), ceil(W/block)) if already known."""
        num_tags, num_joints, height, width = tags.shape
        num = used.size
        if heat_tile_max is not None:
            fine_max = torch.from_numpy(heat_tile_max[used])
        else:
            fine_max = pool_tiles(heat[torch.from_numpy(used)] if num < num_joints else heat, block)[0]
        fine_rows, fine_cols = fine_max.shape[1:]
        if 2 * num <= num_joints:  # few joints: joint by joint, on views of the maps (no copy)
            ranges = [pool_tiles(tags[:, joint], block, ('min', 'max')) for joint in used.tolist()]
            fine_low, fine_high = (torch.stack(part, dim=1) for part in zip(*ranges))
        else:  # most joints: all at once (fewer, larger ops), then the joints in use
            ranges = pool_tiles(tags.reshape(num_tags * num_joints, height, width), block, ('min', 'max'))
            fine_low, fine_high = (part.view(num_tags, num_joints, fine_rows, fine_cols) for part in ranges)
            if num < num_joints:
                index = torch.from_numpy(used)
                fine_low, fine_high = fine_low[:, index], fine_high[:, index]
        coarse_rows, coarse_cols = -(-fine_rows // factor), -(-fine_cols // factor)
        pad = (0, coarse_cols * factor - fine_cols, 0, coarse_rows * factor - fine_rows)
        if any(pad):
            # fine tiles beyond the map: heat -inf (never kept unless every score is -inf, and then they hold no
            # pixel); an empty tag range for the coarse range, then any finite range (0) so their bounds stay finite
            fine_max = F.pad(fine_max, pad, value=float('-inf'))
            fine_low, fine_high = F.pad(fine_low, pad, value=float('inf')), F.pad(fine_high, pad, value=float('-inf'))

        def by_coarse(values: torch.Tensor) -> torch.Tensor:  # (..., R, C) -> (..., Tc, S), contiguous
            lead = values.shape[:-2]
            grid = values.reshape(*lead, coarse_rows, factor, coarse_cols, factor).transpose(-3, -2)
            return grid.reshape(*lead, coarse_rows * coarse_cols, factor * factor)

        # small tensors from here on: torch's reductions over short runs beat numpy's
        fine_max, fine_low, fine_high = by_coarse(fine_max), by_coarse(fine_low), by_coarse(fine_high)
        coarse_max, coarse_low, coarse_high = fine_max.amax(-1), fine_low.amin(-1), fine_high.amax(-1)
        if any(pad):
            outside = torch.ones((coarse_rows * factor, coarse_cols * factor), dtype=torch.bool)
            outside[:fine_rows, :fine_cols] = False
            outside = by_coarse(outside)
            fine_low[:, :, outside] = 0.0
            fine_high[:, :, outside] = 0.0
        num_coarse = coarse_rows * coarse_cols
        return cls(block, factor, coarse_cols, num_coarse, coarse_max.numpy(), coarse_low.numpy(), coarse_high.numpy(),
                   fine_max.reshape(num * num_coarse, -1).numpy(),
                   fine_low.reshape(num_tags, num * num_coarse, -1).numpy(),
                   fine_high.reshape(num_tags, num * num_coarse, -1).numpy())


class _Search:
    """State of one search: the tile statistics, block x block window views of the maps, the pairs and their best
    lower bounds. Entries (pair, coarse tile[, fine tile]) are kept sorted by pair."""

    def __init__(self, heatmaps: torch.Tensor, tags: torch.Tensor, joint: np.ndarray, person_tag: np.ndarray,
                 block: int, coarse_factor: int, chunk_elements: int, heat_tile_max: Optional[np.ndarray]) -> None:
        self.num_tags, _, self.height, self.width = tags.shape
        self.joint = joint
        # statistics only for the joints some pair needs
        used, self.local_joint = np.unique(joint, return_inverse=True)
        self.stats = _TileStats.build(heatmaps, tags, used, block, coarse_factor, heat_tile_max)
        self.person_tag = np.ascontiguousarray(person_tag, dtype=np.float32)
        heat, tag_planes = heatmaps.numpy(), tags.numpy()
        if self.height < block or self.width < block:  # windows need a map of at least one tile (small maps only)
            pad = ((0, max(0, block - self.height)), (0, max(0, block - self.width)))
            heat = np.pad(heat, ((0, 0), ) + pad, constant_values=-np.inf)
            tag_planes = np.pad(tag_planes, ((0, 0), (0, 0)) + pad)
        # every block x block window of the maps as a view: a tile's pixels are read as rows of block contiguous
        # values, with no per-pixel index arrays
        self.heat_windows = sliding_window_view(heat, (block, block), axis=(1, 2))  # (K, H', W', b, b)
        self.tag_windows = sliding_window_view(tag_planes, (block, block), axis=(2, 3))  # (L, K, H', W', b, b)
        # no tile reaches beyond the map: no pixel masks needed
        span = block * coarse_factor
        self.aligned = self.height % span == 0 and self.width % span == 0
        self.chunk_elements = chunk_elements
        self.best_lower = np.full(joint.shape[0], -np.inf, dtype=np.float32)

    def raise_lower(self, pair: np.ndarray, lower: np.ndarray) -> None:
        """best_lower[p] = max(best_lower[p], lower of p's entries); ``pair`` sorted."""
        if pair.size:
            starts = np.flatnonzero(np.r_[True, pair[1:] != pair[:-1]])
            first = pair[starts]
            self.best_lower[first] = np.maximum(self.best_lower[first], np.maximum.reduceat(lower, starts))

    def coarse_bounds(self) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Bounds of every (pair, coarse tile); raises the lower bounds. Returns the entries that can hold their
        pair's maximum: pair, coarse, upper (N,)."""
        stats, num_pairs = self.stats, self.joint.shape[0]
        kept = []
        step = max(1, self.chunk_elements // stats.num_coarse)
        for start in range(0, num_pairs, step):
            pairs = np.arange(start, min(start + step, num_pairs))
            rows = self.local_joint[pairs]
            upper, lower, _, _ = _score_bounds(stats.coarse_max[rows], stats.coarse_low[:, rows],
                                               stats.coarse_high[:, rows], self.person_tag[pairs])
            self.best_lower[pairs] = np.maximum(self.best_lower[pairs], lower.max(axis=1))
            entry, coarse = np.nonzero(upper >= self.best_lower[pairs, None])
            kept.append((pairs[entry], coarse, upper[entry, coarse]))
        return tuple(np.concatenate(parts) for parts in zip(*kept))

    def fine_bounds(self, pair: np.ndarray,
                    coarse: np.ndarray) -> Tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Bounds of the fine tiles of (pair, coarse tile) entries; raises the lower bounds. Returns the fine tiles
        that can hold their pair's maximum: pair, coarse, sub, upper, least (N,), ``least`` NaN where the rounded
        distance is not constant over the tile."""
        stats = self.stats
        num_sub = stats.factor * stats.factor
        rows = self.local_joint[pair] * stats.num_coarse + coarse
        upper = np.empty((pair.size, num_sub), np.float32)
        least = np.empty((pair.size, num_sub), np.float32)
        step = max(1, self.chunk_elements // num_sub)
        for start in range(0, pair.size, step):
            sel = slice(start, start + step)
            upper[sel], lower, least[sel], constant = _score_bounds(stats.fine_max[rows[sel]],
                                                                    stats.fine_low[:, rows[sel]],
                                                                    stats.fine_high[:, rows[sel]],
                                                                    self.person_tag[pair[sel]])
            least[sel][~constant] = np.nan
            self.raise_lower(pair[sel], lower.max(axis=1))
        entry, sub = np.nonzero(upper >= self.best_lower[pair, None])
        return pair[entry], coarse[entry], sub, upper[entry, sub], least[entry, sub]

    def tile_windows(self, pair: np.ndarray, coarse: np.ndarray,
                     sub: np.ndarray) -> Tuple[np.ndarray, np.ndarray, np.ndarray, Optional[np.ndarray]]:
        """Where the pixels of fine tiles are read: joint, window origin y0, x0 (N,), and (N, b, b) bool, whether the
        window pixel belongs to the tile (None when all do). A tile cut by the right or bottom border is read from
        the window that ends at the border, whose first rows / columns belong to the previous tile."""
        stats = self.stats
        block, span = stats.block, stats.block * stats.factor
        y0 = (coarse // stats.coarse_cols) * span + (sub // stats.factor) * block
        x0 = (coarse % stats.coarse_cols) * span + (sub % stats.factor) * block
        if self.aligned:
            return self.joint[pair], y0, x0, None
        last_y, last_x = self.heat_windows.shape[1] - 1, self.heat_windows.shape[2] - 1
        origin_y, origin_x = np.minimum(y0, last_y), np.minimum(x0, last_x)
        steps = np.arange(block)
        rows = origin_y[:, None] + steps
        cols = origin_x[:, None] + steps
        row_ok = (rows >= y0[:, None]) & (rows < self.height)
        col_ok = (cols >= x0[:, None]) & (cols < self.width)
        return self.joint[pair], origin_y, origin_x, row_ok[:, :, None] & col_ok[:, None, :]

    def first_index(self, scores: np.ndarray, best: np.ndarray, origin_y: np.ndarray, origin_x: np.ndarray,
                    inside: Optional[np.ndarray]) -> np.ndarray:
        """Flat index ``y * W + x`` of the first window pixel (row-major) whose score equals ``best`` (N,); a large
        value where none does (NaN scores)."""
        block = self.stats.block
        hit = scores == best[:, None, None]
        if inside is not None:
            hit &= inside
        hit = hit.reshape(best.size, block * block)
        first = hit.argmax(axis=1)
        index = (origin_y + first // block) * self.width + origin_x + first % block
        return np.where(hit[np.arange(best.size), first], index, np.iinfo(np.int64).max)

    def score_tiles(self, pair: np.ndarray, coarse: np.ndarray, sub: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
        """Exact best score of each fine tile from all its pixels, as the reference computes it, and the flat index
        of its first maximum; raises the lower bounds (``pair`` sorted)."""
        best = np.empty(pair.size, np.float32)
        first = np.empty(pair.size, np.int64)
        block = self.stats.block
        step = max(1, self.chunk_elements // (block * block * (self.num_tags + 2)))
        for start in range(0, pair.size, step):
            sel = slice(start, start + step)
            joint, origin_y, origin_x, inside = self.tile_windows(pair[sel], coarse[sel], sub[sel])
            diff = self.tag_windows[:, joint, origin_y, origin_x]  # (L, N, b, b)
            diff -= self.person_tag[pair[sel]].T[:, :, None, None]
            diff *= diff
            squared = diff[0]
            for component in range(1, self.num_tags):  # in index order, as numpy sums fewer than 8 terms
                squared += diff[component]
            scores = self.heat_windows[joint, origin_y, origin_x]
            scores -= _rounded_distance(squared)
            if inside is not None:
                scores[~inside] = -np.inf
            best[sel] = scores.max(axis=(1, 2))
            first[sel] = self.first_index(scores, best[sel], origin_y, origin_x, inside)
        self.raise_lower(pair, best)
        return best, first

    def first_from_heat(self, pair: np.ndarray, coarse: np.ndarray, sub: np.ndarray, least: np.ndarray,
                        best: np.ndarray) -> np.ndarray:
        """First pixel of tiles of constant rounded distance ``least`` whose ``heat - least`` equals ``best``."""
        joint, origin_y, origin_x, inside = self.tile_windows(pair, coarse, sub)
        scores = self.heat_windows[joint, origin_y, origin_x] - least[:, None, None]
        return self.first_index(scores, best, origin_y, origin_x, inside)


# Tiles each pair opens / scores in the first round of the best-first search (speed only).
FIRST_ROUND_SIZE = 4


class _Frontier:
    """Entries waiting to be opened (coarse tiles to split, fine tiles to score), as columns of equal length kept
    sorted by pair, then by decreasing upper bound."""

    def __init__(self, **columns: np.ndarray) -> None:
        self.columns = self._sorted(columns)

    def add(self, **columns: np.ndarray) -> None:
        self.columns = self._sorted({name: np.concatenate([self.columns[name], columns[name]]) for name in columns})

    @staticmethod
    def _sorted(columns: Dict[str, np.ndarray]) -> Dict[str, np.ndarray]:
        # one float64 key: pair, then decreasing upper bound squashed into [0, 0.5] (merging close bounds only
        # changes the visiting order, never the result; several times faster than lexsort)
        key = columns['pair'] + (0.25 - np.arctan(columns['upper'].astype(np.float64)) / (2 * np.pi))
        order = np.argsort(key, kind='stable')
        return {name: values[order] for name, values in columns.items()}

    def pop(self, size: int, best_lower: np.ndarray) -> Dict[str, np.ndarray]:
        """Drop the entries that cannot reach their pair's best lower bound; remove and return the first ``size``
        of each pair (sorted by pair)."""
        pair, upper = self.columns['pair'], self.columns['upper']
        alive = np.flatnonzero(upper >= best_lower[pair])
        pair = pair[alive]
        starts = np.flatnonzero(np.r_[True, pair[1:] != pair[:-1]]) if alive.size else alive
        rank = np.arange(alive.size) - np.repeat(starts, np.diff(np.r_[starts, alive.size]))
        taken, kept = alive[rank < size], alive[rank >= size]
        popped = {name: values[taken] for name, values in self.columns.items()}
        self.columns = {name: values[kept] for name, values in self.columns.items()}
        return popped


def search_refine_pixels(heatmaps: torch.Tensor,
                         tags: torch.Tensor,
                         joint: np.ndarray,
                         person_tag: np.ndarray,
                         block: int = 8,
                         coarse_factor: int = 4,
                         chunk_elements: int = 1 << 20,
                         heat_tile_max: Optional[np.ndarray] = None) -> Tuple[np.ndarray, np.ndarray]:
    """For each (joint, person tag) pair, the first pixel (row-major) maximising
    ``heat_j - round(||tag_j - person_tag||)`` (see the module docstring).

    Args:
        heatmaps: (K, H, W) float32 CPU tensor.
        tags: (L, K, H, W) float32 CPU tensor (channels-first tag planes).
        joint: (M,) int64 joint of each pair.
        person_tag: (M, L) float32.
        block, coarse_factor: fine tile side and fine tiles per coarse tile side (speed only; results do not
            depend on them).
        chunk_elements: bound on the size of temporary arrays.
        heat_tile_max: (K, ceil(H/block), ceil(W/block)) float32 max of each ``block`` px heatmap tile, if already
            computed (the candidates' NMS computes it).

    Returns:
        x, y: (M,) int64 pixel of the maximum.
    """
    num_pairs = joint.shape[0]
    width = tags.shape[-1]
    if num_pairs == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    search = _Search(heatmaps, tags, joint, person_tag, block, coarse_factor, chunk_elements, heat_tile_max)
    no_entries = np.zeros(0, np.int64)

    # Best first, in rounds of doubling size: each pair opens its most promising coarse tiles (bounds of their fine
    # tiles) and scores its most promising fine tiles exactly; every round raises the lower bounds that prune what
    # is left, until nothing that could hold a maximum is left. (The first round takes a few per pair: each round
    # has a fixed cost, and the first tiles are rarely all pruned.)
    pair, coarse, upper = search.coarse_bounds()
    coarse_tiles = _Frontier(pair=pair, coarse=coarse, upper=upper)
    fine_tiles = _Frontier(pair=no_entries, coarse=no_entries, sub=no_entries, upper=np.zeros(0, np.float32))
    done = []  # fine tiles with their exact best: (pair, coarse, sub, best, least, first pixel or -1), least NaN
    # where scored from the pixels
    size = FIRST_ROUND_SIZE
    while True:
        opened = coarse_tiles.pop(size, search.best_lower)
        if opened['pair'].size:
            pair, coarse, sub, upper, least = search.fine_bounds(opened['pair'], opened['coarse'])
            constant = ~np.isnan(least)  # exact best known: the upper bound
            done.append((pair[constant], coarse[constant], sub[constant], upper[constant], least[constant],
                         np.full(int(constant.sum()), -1)))
            fine_tiles.add(pair=pair[~constant], coarse=coarse[~constant], sub=sub[~constant], upper=upper[~constant])
        scored = fine_tiles.pop(size, search.best_lower)
        if scored['pair'].size:
            pair, coarse, sub = scored['pair'], scored['coarse'], scored['sub']
            best, first = search.score_tiles(pair, coarse, sub)
            done.append((pair, coarse, sub, best, np.full(pair.size, np.nan, np.float32), first))
        if not (opened['pair'].size or scored['pair'].size):
            break
        size *= 2

    # per pair: the smallest flat index among its tiles holding the pair's maximum (row-major = argmax order); a tile
    # of constant rounded distance r holds it first at its first pixel with heat - r equal to it
    pair, coarse, sub, best, least, first = (np.concatenate(column) for column in zip(*done))
    pair_best = np.full(num_pairs, -np.inf, np.float32)
    np.maximum.at(pair_best, pair, best)
    wins = np.flatnonzero(best == pair_best[pair])
    from_heat = wins[~np.isnan(least[wins])]
    first[from_heat] = search.first_from_heat(pair[from_heat], coarse[from_heat], sub[from_heat], least[from_heat],
                                              best[from_heat])
    index = np.full(num_pairs, np.iinfo(np.int64).max)
    np.minimum.at(index, pair[wins], first[wins])
    index[index == np.iinfo(np.int64).max] = 0  # only when every score is NaN
    return index % width, index // width
