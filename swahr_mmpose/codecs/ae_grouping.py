"""Joint-by-joint grouping of keypoint candidates into people by their tags (reference ``match_by_tag``), numpy.

Rules (spec ``swahr_reference.md`` 5.3 step 3), for each joint type in ``keypoint_order``:

* no candidate: skip; no person yet: every candidate starts a person;
* otherwise the groups are the first ``max_match_groups`` people (creation order), each with the mean of the tags
  assigned to it so far; cost = ``round(L2 tag distance) * 100 - value`` (or the plain distance), minimum-cost
  assignment (see :mod:`.ae_assignment`), and a candidate joins its group only if the UNROUNDED distance is
  ``< tag_thr``; every other candidate starts a new person.

Reference quirk kept by default (``key_persons_by_first_tag``): people are keyed by the first tag component of the
candidate that started them. A candidate that starts a "new" person whose key equals an existing person's key
instead overwrites that person's joint and resets its tag list to this candidate's tag.

All float arithmetic mirrors the reference (float32 tag means, float64 distances and costs), so costs, rounding and
thresholds decide identically.
"""
from dataclasses import dataclass
from typing import Dict, List, NamedTuple, Optional, Sequence

import numpy as np

from .ae_assignment import assign_candidates


class JointCandidates(NamedTuple):
    """Candidates of one joint type, sorted by value descending (the reference's row order).

    x, y: (n,) int64 pixel column / row; value: (n,) float32 heatmap value (all above the detection threshold);
    tag: (n, D) float32 tag vectors.
    """

    x: np.ndarray
    y: np.ndarray
    value: np.ndarray
    tag: np.ndarray


@dataclass
class GroupingOptions:
    """See :class:`swahr_mmpose.codecs.AEDecoder` for the meaning of each option."""

    keypoint_order: Sequence[int]
    tag_thr: float = 1.0
    max_match_groups: Optional[int] = 30
    skip_joint_if_groups_full: bool = False
    use_detection_val: bool = True
    key_persons_by_first_tag: bool = True
    tie_tolerance: float = 1e-3


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
        x=table.x[:size].copy(), y=table.y[:size].copy(), value=table.value[:size].copy(),
        munkres_calls=munkres_calls)


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
