"""Keypoint candidates for associative-embedding grouping: max-pool NMS and per-joint top-k (torch, on the device).

Reference behaviour (SWAHR/HigherHRNet ``HeatmapParser.nms`` and ``top_k``): a pixel survives NMS when it equals the
maximum of its ``k x k`` window (stride 1, ``-inf`` padding); per joint the ``topk`` highest survivors are kept, and
grouping later drops those with value ``<= keypoint_thr``. Here the threshold is applied first, which selects the same
candidates (everything above the threshold ranks above everything at or below it).

NMS runs sparsely when it can: only ``NMS_TILE`` px tiles whose max exceeds the threshold can hold a candidate, so
only those tiles (with a halo) are max-pooled; on busy maps (noise) the whole map is pooled instead. Both are exact.
The tile max is handed on with the candidates: refinement bounds its search with it.

Tie order: the reference uses ``torch.topk``, whose order among exactly equal values is unspecified. Here equal values
are ordered by flat pixel index (row-major, lower first), so results never depend on the device or torch version.
"""
from dataclasses import dataclass
from typing import Callable, List, Optional, Sequence, Tuple

import numpy as np
import torch
import torch.nn.functional as F
from numpy.lib.stride_tricks import sliding_window_view


def _window_max(maps: torch.Tensor, kernel: int, dim: int, length: int) -> torch.Tensor:
    """``out[i] = max(maps[i : i + kernel])`` along ``dim`` for ``i < length``, from ``log2(kernel) + 1``
    elementwise maxima (max is exact, so this equals ``max_pool`` value for value, and is much faster on CPU)."""
    window_max, width = maps, 1
    while width * 2 <= kernel:  # window_max[i] = max(maps[i : i + width]) for growing powers of two
        size = window_max.shape[dim] - width
        window_max = torch.maximum(window_max.narrow(dim, 0, size), window_max.narrow(dim, width, size))
        width *= 2
    # a window of `kernel` = union of two power-of-two windows starting at i and at i + kernel - width
    return torch.maximum(window_max.narrow(dim, 0, length), window_max.narrow(dim, kernel - width, length))


def sliding_max(maps: torch.Tensor, kernel: int, dim: int) -> torch.Tensor:
    """Max over a centred window of odd length ``kernel`` along ``dim`` (-1 or -2), ``-inf`` beyond the borders."""
    if kernel == 1:
        return maps
    half = kernel // 2
    padding = (half, half) if dim == -1 else (0, 0, half, half)
    return _window_max(F.pad(maps, padding, value=float('-inf')), kernel, dim, maps.shape[dim])


def nms_peak_mask(heatmaps: torch.Tensor, kernel: int) -> torch.Tensor:
    """Bool mask of pixels equal to the max of their ``kernel x kernel`` window. heatmaps: (..., H, W)."""
    pooled = sliding_max(sliding_max(heatmaps, kernel, -1), kernel, -2)
    return heatmaps == pooled


def greater_than(values: torch.Tensor, threshold: float) -> torch.Tensor:
    """``values > threshold`` decided as in float64 (as the reference compares), without casting ``values``.

    A plain ``float32_tensor > 0.1`` rounds 0.1 to float32 first, which flips the answer for values equal to
    ``float32(0.1)``.
    """
    nearest = np.float32(threshold)
    if float(nearest) > threshold:
        return values >= float(nearest)
    return values > float(nearest)


# Sparse NMS: only tiles whose max exceeds the threshold can hold a candidate. Tile side in px, and the fraction of
# busy tiles above which the dense computation is cheaper.
NMS_TILE = 8
SPARSE_NMS_MAX_BUSY = 0.25


def pool_tiles(maps: torch.Tensor, tile: int, reductions: Sequence[str] = ('max', )) -> List[torch.Tensor]:
    """(N, H, W) -> one (N, ceil(H/tile), ceil(W/tile)) tensor per reduction ('max' or 'min') over ``tile x tile``
    tiles; tiles at the right and bottom borders cover only the real pixels (no padded copy of the maps).

    First the pass over the maps, in the layout each reduction is fastest in: max along x (max_pool1d), min over
    groups of whole contiguous rows; then the other direction, on ``tile`` times less data. Each is one op over all
    maps: map-by-map loops are a little faster on an idle CPU, but every op is a parallel region, and on a busy CPU
    each region waits for a time slice (tens of ops cost hundreds of ms).
    """
    num, height, width = maps.shape
    pooled = []
    for reduce in reductions:
        if reduce == 'max':
            if width >= tile:
                runs = F.max_pool1d(maps.reshape(num * height, 1, width), tile, ceil_mode=True)
                runs = runs.view(num, height, -(-width // tile))
            else:  # a row shorter than the tile: one run
                runs = torch.amax(maps, dim=2, keepdim=True)
            pooled.append(_reduce_groups(runs, tile, 1, torch.amax))
        else:
            pooled.append(_reduce_groups(_reduce_groups(maps, tile, 1, torch.amin), tile, 2, torch.amin))
    return pooled


def _reduce_groups(values: torch.Tensor, size: int, dim: int, op: Callable) -> torch.Tensor:
    """Reduce consecutive groups of ``size`` entries along ``dim`` (the last group may be shorter)."""
    length = values.shape[dim]
    full = length // size
    parts = [op(values.narrow(dim, 0, full * size).unflatten(dim, (full, size)), dim=dim + 1)] if full else []
    if full * size < length:
        parts.append(op(values.narrow(dim, full * size, length - full * size), dim=dim, keepdim=True))
    return parts[0] if len(parts) == 1 else torch.cat(parts, dim=dim)


def nms_peaks_above(maps: torch.Tensor,
                    kernel: int,
                    threshold: float,
                    tile_max: Optional[torch.Tensor] = None) -> Tuple[torch.Tensor, torch.Tensor]:
    """Pixels that equal the max of their ``kernel x kernel`` window and exceed ``threshold``.

    Args:
        maps: (G, H, W).
        tile_max: (G, ceil(H / NMS_TILE), ceil(W / NMS_TILE)) max of each ``NMS_TILE`` px tile of the maps
            (computed when not given).

    Returns:
        group, pixel: (C,) int64 map index and flat pixel index ``y * W + x``, sorted by (group, pixel).
    """
    num, height, width = maps.shape
    if tile_max is None:
        tile_max = pool_tiles(maps, NMS_TILE)[0]
    busy_g, busy_r, busy_c = greater_than(tile_max, threshold).nonzero(as_tuple=True)
    total_tiles = num * -(-height // NMS_TILE) * -(-width // NMS_TILE)
    if busy_g.numel() > SPARSE_NMS_MAX_BUSY * total_tiles:
        keep = nms_peak_mask(maps, kernel) & greater_than(maps, threshold)
        return keep.view(num, height * width).nonzero(as_tuple=True)
    if not busy_g.numel():
        return busy_g, busy_g.clone()
    # Each busy tile with a halo of kernel // 2 px. Tiles whose patch lies inside the map are copied from a window
    # view of the maps (rows of contiguous values, no per-pixel index); the others (at the borders, few) by clamped
    # indices, which replicate the border pixel: it lies in the same window, so the window max equals the one with
    # -inf padding.
    halo = kernel // 2
    side = NMS_TILE + 2 * halo
    top, left = busy_r * NMS_TILE - halo, busy_c * NMS_TILE - halo
    inside = (top >= 0) & (left >= 0) & (top + side <= height) & (left + side <= width)
    inner = slice(halo, halo + NMS_TILE)
    groups, pixels = [], []
    for interior in (True, False):
        index = (inside if interior else ~inside).nonzero()[:, 0]
        if not index.numel():
            continue
        group, row, col = busy_g[index], top[index], left[index]
        patches = (_window_patches if interior else _clamped_patches)(maps, group, row, col, side)
        pooled = _window_max(_window_max(patches, kernel, -1, NMS_TILE), kernel, -2, NMS_TILE)
        # a peak equals its pooled value, so the threshold is tested on the (contiguous) pooled values
        keep = (patches[:, inner, inner] == pooled) & greater_than(pooled, threshold)
        if not interior and (height % NMS_TILE or width % NMS_TILE):  # pixels of the last tiles beyond the map
            steps = torch.arange(halo, halo + NMS_TILE, device=maps.device)
            keep &= ((row[:, None] + steps) < height)[:, :, None] & ((col[:, None] + steps) < width)[:, None, :]
        tile, dy, dx = keep.nonzero(as_tuple=True)
        groups.append(group[tile])
        pixels.append((row[tile] + halo + dy) * width + col[tile] + halo + dx)
    group, pixel = (torch.cat(parts) for parts in (groups, pixels))
    order = torch.sort(group * (height * width) + pixel).indices
    return group[order], pixel[order]


def _window_patches(maps: torch.Tensor, group: torch.Tensor, top: torch.Tensor, left: torch.Tensor,
                    side: int) -> torch.Tensor:
    """(N, side, side) patches ``maps[group, top:top+side, left:left+side]`` (inside the maps) copied from a window
    view: numpy's on the CPU, where it is several times faster than torch's indexing."""
    if maps.device.type == 'cpu':
        windows = sliding_window_view(maps.numpy(), (side, side), axis=(1, 2))
        return torch.from_numpy(windows[group.numpy(), top.numpy(), left.numpy()])
    return maps.unfold(1, side, 1).unfold(2, side, 1)[group, top, left]


def _clamped_patches(maps: torch.Tensor, group: torch.Tensor, top: torch.Tensor, left: torch.Tensor,
                     side: int) -> torch.Tensor:
    """(N, side, side) patches from ``top, left`` whose rows / columns beyond a border repeat the border pixel."""
    _, height, width = maps.shape
    steps = torch.arange(side, device=maps.device)
    rows = (top[:, None] + steps).clamp(0, height - 1)
    cols = (left[:, None] + steps).clamp(0, width - 1)
    flat = ((group * height)[:, None, None] + rows[:, :, None]) * width + cols[:, None, :]
    return maps.reshape(-1)[flat]  # one flat index is much faster than three


@dataclass
class Candidates:
    """Keypoint candidates of a batch, sorted by (image, joint, value descending, flat index ascending).

    Attributes:
        image: (C,) int64 image index in the batch.
        joint: (C,) int64 joint (heatmap channel) index.
        x, y: (C,) int64 pixel column / row at the decoding resolution.
        value: (C,) float32 heatmap value.
        tag: (C, D) float32 tag vector at the pixel.
        heat_tile_max: (B, K, ceil(H / NMS_TILE), ceil(W / NMS_TILE)) float32 max of each ``NMS_TILE`` px heatmap
            tile (the sparse NMS computes it; refinement reuses it).
    """

    image: np.ndarray
    joint: np.ndarray
    x: np.ndarray
    y: np.ndarray
    value: np.ndarray
    tag: np.ndarray
    heat_tile_max: np.ndarray

    def per_joint(self, image: int, num_joints: int) -> List[slice]:
        """Slices into the arrays, one per joint of ``image`` (empty slices for joints with no candidate)."""
        keys = self.image * num_joints + self.joint
        first = np.searchsorted(keys, image * num_joints + np.arange(num_joints), side='left')
        last = np.searchsorted(keys, image * num_joints + np.arange(num_joints), side='right')
        return [slice(int(a), int(b)) for a, b in zip(first, last)]


def select_candidates(heatmaps: torch.Tensor, tags: torch.Tensor, nms_kernel: int, topk: int,
                      keypoint_thr: float) -> Candidates:
    """NMS peaks above ``keypoint_thr``, at most ``topk`` per (image, joint).

    Args:
        heatmaps: (B, K, H, W) float32.
        tags: (B, L*K, H, W) float32 on the same device, channel ``l*K + k`` (MMPose's layout).
        nms_kernel: odd window side for the max-pool NMS.
        topk: candidates kept per joint (the reference's ``MAX_NUM_PEOPLE``).
        keypoint_thr: keep values strictly greater than this.

    Returns:
        Candidates as numpy arrays on the host (one transfer for the whole batch).
    """
    b, k, h, w = heatmaps.shape
    tag_dim = tags.shape[1] // k
    maps = heatmaps.reshape(b * k, h, w)
    tile_max = pool_tiles(maps, NMS_TILE)[0]
    group, pixel = nms_peaks_above(maps, nms_kernel, keypoint_thr, tile_max)
    values = heatmaps.reshape(-1)[group * (h * w) + pixel]

    if group.numel():
        order = _sort_within_groups(group, values)
        group, pixel, values = group[order], pixel[order], values[order]
        counts = torch.bincount(group, minlength=b * k)
        if int(counts.max()) > topk:
            rank = torch.arange(group.numel(), device=group.device) - (torch.cumsum(counts, 0) - counts)[group]
            kept = rank < topk
            group, pixel, values = group[kept], pixel[kept], values[kept]

    # tag l of candidate (image i, joint j) sits at flat ((i * L + l) * K + j) * H * W + pixel
    image, joint = group // k, group % k
    tag_offsets = torch.arange(tag_dim, device=group.device) * (k * h * w)
    flat = (image * (tag_dim * k) + joint) * (h * w) + pixel
    tag_vectors = tags.reshape(-1)[flat[:, None] + tag_offsets]
    return Candidates(
        image=image.cpu().numpy(),
        joint=joint.cpu().numpy(),
        x=(pixel % w).cpu().numpy(),
        y=(pixel // w).cpu().numpy(),
        value=values.cpu().numpy(),
        tag=tag_vectors.cpu().numpy(),
        heat_tile_max=tile_max.view(b, k, *tile_max.shape[-2:]).cpu().numpy())


def _sort_within_groups(group: torch.Tensor, values: torch.Tensor) -> torch.Tensor:
    """Permutation sorting by (group ascending, value descending, original position ascending)."""
    order = torch.sort(values, descending=True, stable=True).indices
    return order[torch.sort(group[order], stable=True).indices]
