"""Minimum-cost assignment of keypoint candidates to person groups, with the reference solver's choice on ties.

The reference solves every assignment with ``munkres.Munkres().compute`` (about 0.5 ms for 30 x 30 with munkres 3.0,
mostly input checks). SciPy's ``linear_sum_assignment`` is about 100x faster; when the optimum is unique, both solvers
return it, but when several assignments share the optimal cost they may pick different ones. So:

1. Solve with SciPy on the real (candidates x groups) cost matrix.
2. Check whether another assignment is within ``tie_tolerance`` of that cost AND would change the grouping outcome
   (which candidate joins which group; a candidate that joins no group starts a new person whichever dummy column it
   gets). This is exact: any alternative assignment differs from ours by disjoint exchange cycles; a cycle's cost
   change is the length of a cycle in the "exchange graph" below, so the cheapest relevant alternative is found with
   all-pairs shortest paths (Floyd-Warshall on at most max(candidates, groups) nodes).
3. Only then call ``munkres.Munkres().compute`` on the matrix the reference builds (padded with 1e10 columns when
   there are more candidates than groups), so the reference's choice is taken.

The tolerance (default 1e-3 cost units; one rounded tag-distance unit costs 100, heatmap values are in [0, 1]) also
absorbs float rounding inside Munkres, whose potentials reach 1e10 when padding is present (about 2e-6 per step).

Ties are common in crowded images: the value term of the reference cost is the same for a row whatever its column,
so whenever every candidate gets a group only the integer rounded distances decide, and equal sums abound (on the
synthetic benchmark maps, 12 of 16 joint steps need Munkres with 10 people, all 16 with 30 people, none with 1).

Note: the reference choice is whatever the installed ``munkres`` returns. ``munkres`` 3.x solves by shortest
augmenting paths and may break ties unlike munkres 1.1.x, which SWAHR used in 2020.
"""
from typing import Tuple

import numpy as np
from munkres import Munkres
from scipy.optimize import linear_sum_assignment

# Cost of the padding columns the reference appends when there are more candidates than groups.
REFERENCE_PAD_COST = 1e10


def munkres_assignment(cost: np.ndarray) -> np.ndarray:
    """The reference's solve: pad with ``REFERENCE_PAD_COST`` columns to square when rows > columns, run Munkres.

    Args:
        cost: (n, g) float64 cost matrix, n candidates (rows) x g groups (columns).

    Returns:
        (n,) int64 column of each row; values >= g mean a padding column (no group).
    """
    num_rows, num_groups = cost.shape
    if num_rows > num_groups:
        cost = np.concatenate([cost, np.full((num_rows, num_rows - num_groups), REFERENCE_PAD_COST)], axis=1)
    column_of_row = np.full(num_rows, -1, dtype=np.int64)
    for row, col in Munkres().compute(cost):
        column_of_row[row] = col
    column_of_row[column_of_row >= num_groups] = num_groups  # any padding column means "no group"
    return column_of_row


def _all_pairs_shortest_paths(weights: np.ndarray) -> np.ndarray:
    """Floyd-Warshall on a dense (S, S) weight matrix (zero diagonal, no negative cycles)."""
    dist = weights.copy()
    for via in range(dist.shape[0]):
        np.minimum(dist, dist[:, via, None] + dist[None, via, :], out=dist)
    return dist


def has_relevant_near_tie(cost: np.ndarray, column_of_row: np.ndarray, acceptable: np.ndarray,
                          tie_tolerance: float) -> bool:
    """Whether some other assignment costs at most ``tie_tolerance`` more and changes the grouping outcome.

    Args:
        cost: (n, g) cost matrix.
        column_of_row: (n,) an optimal assignment; ``g`` marks a row left without a group.
        acceptable: (n, g) bool, whether row r would join group c if assigned to it (tag distance below threshold).
        tie_tolerance: cost difference regarded as a tie.
    """
    num_rows, num_groups = cost.shape
    size = max(num_rows, num_groups)
    if size < 2:
        return False
    # Square problem: dummy rows (cost 0) take the unused groups, dummy columns (cost 0) the rows left without one.
    # Every perfect matching uses each dummy exactly once, so a constant dummy cost never changes a comparison.
    square = np.zeros((size, size))
    square[:num_rows, :num_groups] = cost
    accept_square = np.zeros((size, size), dtype=bool)
    accept_square[:num_rows, :num_groups] = acceptable
    column = np.empty(size, dtype=np.int64)
    column[:num_rows] = column_of_row
    unmatched_rows = np.nonzero(column_of_row >= num_groups)[0]
    column[unmatched_rows] = num_groups + np.arange(unmatched_rows.size)
    free_columns = np.setdiff1d(np.arange(num_groups), column_of_row[column_of_row < num_groups])
    column[num_rows:] = free_columns
    # Exchange graph: edge i -> k = "row i takes row k's column"; following a cycle moves every row on it.
    own_cost = square[np.arange(size), column]
    exchange = square[:, column] - own_cost[:, None]
    # Edge i -> k matters when row i joins a group before or after the move.
    accepted_now = accept_square[np.arange(size), column]
    relevant = accepted_now[:, None] | accept_square[:, column]
    np.fill_diagonal(relevant, False)
    if not relevant.any():
        return False
    np.fill_diagonal(exchange, 0.0)
    if (exchange + exchange.T)[relevant].min() <= tie_tolerance:  # a swap of two rows: the common tie, no search
        return True
    back = _all_pairs_shortest_paths(exchange)
    cycle_cost = exchange + back.T  # i -> k, then the cheapest way from k back to i
    return bool((cycle_cost[relevant] <= tie_tolerance).any())


def assign_candidates(cost: np.ndarray, acceptable: np.ndarray, tie_tolerance: float) -> Tuple[np.ndarray, bool]:
    """Optimal candidate->group assignment, equal to the reference Munkres choice.

    Args:
        cost: (n, g) float64, n >= 1 candidates x g >= 1 groups.
        acceptable: (n, g) bool, see :func:`has_relevant_near_tie`.
        tie_tolerance: see the module docstring.

    Returns:
        column_of_row: (n,) int64 group index per candidate, ``g`` for "no group" (a padding column).
        used_munkres: whether the Munkres fallback decided.
    """
    num_rows, num_groups = cost.shape
    rows, cols = linear_sum_assignment(cost)
    column_of_row = np.full(num_rows, num_groups, dtype=np.int64)
    column_of_row[rows] = cols
    if has_relevant_near_tie(cost, column_of_row, acceptable, tie_tolerance):
        return munkres_assignment(cost), True
    return column_of_row, False
