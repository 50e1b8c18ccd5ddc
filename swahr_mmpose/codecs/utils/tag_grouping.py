"""Joint-by-joint grouping of keypoint candidates into people by their tags (reference ``match_by_tag``), numpy.

Rules (``docs/reference_behaviour.md#7-grouping``, step 3), for each joint type in ``keypoint_order``:

* no candidate: skip; no person yet: every candidate starts a person;
* otherwise the groups are the first ``max_match_groups`` people (creation order), each with the mean of the tags
  assigned to it so far; cost = ``round(L2 tag distance) * 100 - value`` (or the plain distance), minimum-cost
  assignment (below), and a candidate joins its group only if the UNROUNDED distance is
  ``< tag_thr``; every other candidate starts a new person.

Reference quirk kept by default (``key_persons_by_first_tag``): people are keyed by the first tag component of the
candidate that started them. A candidate that starts a "new" person whose key equals an existing person's key
instead overwrites that person's joint and resets its tag list to this candidate's tag.

All float arithmetic mirrors the reference (float32 tag means, float64 distances and costs), so costs, rounding and
thresholds decide identically.

Assignment.

Minimum-cost assignment of keypoint candidates to person groups, with the reference solver's choice on ties.

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
from dataclasses import dataclass
from typing import Dict, List, NamedTuple, Optional, Sequence, Tuple

import numpy as np
from munkres import Munkres
from munkres import linear_sum_assignment as munkres_linear_sum_assignment
from scipy.optimize import linear_sum_assignment

# munkres 3.0's ``Munkres.compute`` solves problems of fewer cells than this in Python and larger ones with its
# compiled kernel, the kernel ``munkres.linear_sum_assignment`` runs on every size; the two may break ties
# differently, so only problems of this size or more take ``linear_sum_assignment`` (see :func:`_munkres_columns`).
MUNKRES_KERNEL_MIN_CELLS = 16


class JointCandidates(NamedTuple):
    """Candidates of one joint type, sorted by value descending (the reference's row order).

    x, y: (n,) int64 pixel column / row; value: (n,) float32 heatmap value (all above the detection threshold);
    tag: (n, D) float32 tag vectors.
    """

    x: np.ndarray
    y: np.ndarray
    value: np.ndarray
    tag: np.ndarray


@dataclass(frozen=True)
class GroupingOptions:
    """The grouping rules of one decoder; each field is the :class:`swahr_mmpose.codecs.AEDecoder` argument of the
    same name (defined and documented there, the one place with defaults)."""

    keypoint_order: Sequence[int]
    tag_thr: float
    max_match_groups: Optional[int]
    skip_joint_if_groups_full: bool
    use_detection_val: bool
    key_persons_by_first_tag: bool
    tie_tolerance: float


@dataclass
class GroupedPeople:
    """Grouping result, people in creation order.

    Attributes:
        x, y: (P, J) int64 pixel of each joint (0 where missing).
        value: (P, J) float32 heatmap value (0 where missing).
        munkres_calls: how many assignments needed the Munkres fallback (ties).
    """

    x: np.ndarray
    y: np.ndarray
    value: np.ndarray
    munkres_calls: int = 0


def mean_of_lists(lists: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Mean of the first ``counts[p]`` rows of each ``lists[p]``, bit-equal to ``np.mean(python_list, axis=0)``.

    Args:
        lists: (P, L, D) float32, row-lists padded at the end.
        counts: (P,) int, used length of each list (>= 1).

    Returns:
        (P, D) float32. numpy's float32 reduction order depends on the shape (pairwise for D=1, running sums
        otherwise); reducing the same (count, D) slices along the same axis keeps it identical, one call per length.
    """
    means = np.empty((lists.shape[0], lists.shape[2]), dtype=np.float32)
    for count in np.unique(counts):
        rows = np.nonzero(counts == count)[0]
        means[rows] = np.mean(lists[rows, :count], axis=1)
    return means


class _PeopleTable:
    """Growing per-person storage: joints, and the list of tags assigned to each person (in assignment order)."""

    def __init__(self, num_joints: int, tag_dim: int, capacity: int = 32) -> None:
        self.num_joints = num_joints
        self.size = 0
        self.x = np.zeros((capacity, num_joints), dtype=np.int64)
        self.y = np.zeros((capacity, num_joints), dtype=np.int64)
        self.value = np.zeros((capacity, num_joints), dtype=np.float32)
        # one slot per joint type, plus one: a key collision can reset a list and a match append to it in one step
        self.tag_list = np.zeros((capacity, num_joints + 1, tag_dim), dtype=np.float32)
        self.tag_count = np.zeros(capacity, dtype=np.int64)
        # running float32 sums in assignment order: numpy's mean of a (n, D >= 2) list sums rows in that order
        self.tag_sum = np.zeros((capacity, tag_dim), dtype=np.float32)
        self.key_to_person: Dict[float, int] = {}

    def _reserve(self, extra: int) -> None:
        needed = self.size + extra
        if needed <= self.x.shape[0]:
            return
        capacity = max(needed, 2 * self.x.shape[0])
        for name in ('x', 'y', 'value', 'tag_list', 'tag_count', 'tag_sum'):
            old = getattr(self, name)
            new = np.zeros((capacity, ) + old.shape[1:], dtype=old.dtype)
            new[:self.size] = old[:self.size]
            setattr(self, name, new)

    def mean_tags(self, num_people: int) -> np.ndarray:
        """(num_people, D) float32 mean of each of the first people's tag lists, bit-equal to ``np.mean``."""
        if self.tag_sum.shape[1] == 1:  # numpy sums a (n, 1) list pairwise, not in order: reduce the lists
            return mean_of_lists(self.tag_list[:num_people], self.tag_count[:num_people])
        # float32 sum / integer count is computed in float64 and rounded, as numpy's mean does
        return (self.tag_sum[:num_people] / self.tag_count[:num_people, None]).astype(np.float32)

    def set_joint(self, people: np.ndarray, joint: int, cand: JointCandidates, rows: np.ndarray) -> None:
        self.x[people, joint] = cand.x[rows]
        self.y[people, joint] = cand.y[rows]
        self.value[people, joint] = cand.value[rows]

    def append_tags(self, people: np.ndarray, tags: np.ndarray) -> None:
        self.tag_list[people, self.tag_count[people]] = tags
        self.tag_count[people] += 1
        self.tag_sum[people] += tags

    def start_people(self, joint: int, cand: JointCandidates, rows: np.ndarray, keyed: bool) -> None:
        """Each row starts a person (rows in ascending order, no key collision possible)."""
        self._reserve(rows.size)
        people = self.size + np.arange(rows.size)
        self.size += rows.size
        self.set_joint(people, joint, cand, rows)
        self.tag_list[people, 0] = cand.tag[rows]
        self.tag_count[people] = 1
        self.tag_sum[people] = cand.tag[rows]
        if keyed:
            self.key_to_person.update(zip(cand.tag[rows, 0].tolist(), people.tolist()))

    def start_or_reset_person(self, joint: int, cand: JointCandidates, row: int) -> None:
        """One row through the reference's keyed dict: a new person, or a reset of the one with the same key."""
        key = float(cand.tag[row, 0])
        person = self.key_to_person.get(key)
        if person is None:
            self._reserve(1)
            person = self.size
            self.size += 1
            self.key_to_person[key] = person
        rows = np.array([row])
        self.set_joint(np.array([person]), joint, cand, rows)
        self.tag_list[person, 0] = cand.tag[row]
        self.tag_count[person] = 1
        self.tag_sum[person] = cand.tag[row]


def group_by_tags(candidates: Sequence[JointCandidates], options: GroupingOptions) -> GroupedPeople:
    """Group one image's candidates into people.

    Args:
        candidates: one :class:`JointCandidates` per joint (index = heatmap channel), already above the detection
            threshold and limited to top-k.
        options: grouping rules.

    Returns:
        GroupedPeople in creation order.
    """
    num_joints = len(candidates)
    tag_dim = candidates[0].tag.shape[1]
    table = _PeopleTable(num_joints, tag_dim)
    keyed = options.key_persons_by_first_tag
    munkres_calls = 0
    for joint in options.keypoint_order:
        cand = candidates[joint]
        num_cand = cand.value.shape[0]
        if num_cand == 0:
            continue
        all_rows = np.arange(num_cand)
        if table.size == 0:
            _start_people(table, joint, cand, all_rows, keyed)
            continue
        num_groups = table.size if options.max_match_groups is None else min(table.size, options.max_match_groups)
        if options.skip_joint_if_groups_full and num_groups == options.max_match_groups:
            continue
        group_tags = table.mean_tags(num_groups)
        # float64 difference of float32 tags, as the reference computes it
        distance = np.linalg.norm(cand.tag.astype(np.float64)[:, None, :] - group_tags[None], ord=2, axis=2)
        if options.use_detection_val:
            cost = np.round(distance) * 100 - cand.value.astype(np.float64)[:, None]
        else:
            cost = distance.copy()
        acceptable = distance < options.tag_thr
        column, used_munkres = assign_candidates(cost, acceptable, options.tie_tolerance)
        munkres_calls += used_munkres
        joins = column < num_groups
        joins[joins] = acceptable[all_rows[joins], column[joins]]
        _apply_step(table, joint, cand, column, joins, keyed)
    size = table.size
    return GroupedPeople(
        x=table.x[:size].copy(), y=table.y[:size].copy(), value=table.value[:size].copy(), munkres_calls=munkres_calls)


def _start_people(table: _PeopleTable, joint: int, cand: JointCandidates, rows: np.ndarray, keyed: bool) -> None:
    """Rows (ascending) start people; with keyed people, a row whose key exists resets that person instead."""
    if keyed and _keys_collide(table, cand.tag[rows, 0]):
        for row in rows.tolist():
            table.start_or_reset_person(joint, cand, row)
    else:
        table.start_people(joint, cand, rows, keyed)


def _keys_collide(table: _PeopleTable, keys: np.ndarray) -> bool:
    key_list: List[float] = keys.tolist()
    return len(set(key_list)) < len(key_list) or any(k in table.key_to_person for k in key_list)


def _apply_step(table: _PeopleTable, joint: int, cand: JointCandidates, column: np.ndarray, joins: np.ndarray,
                keyed: bool) -> None:
    """Apply one joint type's assignment: matched rows join their group, the others start people.

    The reference walks the rows in order. Joining and starting commute unless a starting row's key collides with
    an existing person; only then are the rows replayed one by one.
    """
    join_rows = np.nonzero(joins)[0]
    new_rows = np.nonzero(~joins)[0]
    if keyed and new_rows.size and _keys_collide(table, cand.tag[new_rows, 0]):
        for row in range(column.shape[0]):
            if joins[row]:
                person = np.array([column[row]])
                table.set_joint(person, joint, cand, np.array([row]))
                table.append_tags(person, cand.tag[row][None])
            else:
                table.start_or_reset_person(joint, cand, row)
        return
    if join_rows.size:
        people = column[join_rows]
        table.set_joint(people, joint, cand, join_rows)
        table.append_tags(people, cand.tag[join_rows])
    if new_rows.size:
        table.start_people(joint, cand, new_rows, keyed)


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
    column_of_row = _munkres_columns(cost)
    column_of_row[column_of_row >= num_groups] = num_groups  # any padding column means "no group"
    return column_of_row


def _munkres_columns(cost: np.ndarray) -> np.ndarray:
    """``Munkres().compute(cost)`` for a finite float (n, m) matrix with n <= m, as the column of each row (n,).

    ``compute`` validates every cell in Python (most of its time on 30 x 30), then runs the same
    compiled kernel as munkres' public ``linear_sum_assignment`` on problems of at least
    :data:`MUNKRES_KERNEL_MIN_CELLS` cells. Our costs are finite floats by construction, so those problems go to
    ``linear_sum_assignment`` (same float64 values, same kernel, same choice) and only the small ones, which compute
    solves in Python, to ``compute``. Public APIs only; tests compare with ``Munkres().compute`` on tie-heavy matrices
    of every shape up to 35 x 35, so a munkres release that moves the threshold or changes either path fails them.
    """
    num_rows, num_cols = cost.shape
    if num_rows * num_cols >= MUNKRES_KERNEL_MIN_CELLS:
        _, columns = munkres_linear_sum_assignment(np.ascontiguousarray(cost, dtype=np.float64))
        return np.asarray(columns, dtype=np.int64)
    column_of_row = np.full(num_rows, -1, dtype=np.int64)
    for row, col in Munkres().compute(cost):
        column_of_row[row] = col
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
    taken = np.zeros(num_groups, dtype=bool)
    taken[column_of_row[column_of_row < num_groups]] = True
    column[num_rows:] = np.flatnonzero(~taken)  # the groups left free
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
