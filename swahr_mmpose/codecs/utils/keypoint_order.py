"""The joint order the AE decoder matches joint types in, by default and from a keypoint set's metainfo.

Grouping visits joint types one after another and matches each type's candidates to the people built so far, so the
order matters: joints that are detected reliably and lie close to many others (head, shoulders, hips) should come
first, and every later joint should be a skeleton neighbour of one already visited.

* COCO-17 and CrowdPose-14 (recognised by their keypoint names, or by K alone when no names are known) keep the
  reference order, :data:`REFERENCE_KEYPOINT_ORDER` truncated to K entries, exactly as the reference decodes them.
* Any other keypoint set gets :func:`skeleton_keypoint_order`: a breadth-first walk of its skeleton links from the
  most central joint, so each joint is matched right after a neighbour it is linked to.
"""
from typing import Any, Dict, List, Mapping, Optional, Sequence, Union

import numpy as np

# Reference joint visiting order (COCO: head, shoulders, hips, then limbs), truncated to the first K entries.
REFERENCE_KEYPOINT_ORDER = (0, 1, 2, 3, 4, 5, 6, 11, 12, 7, 8, 9, 10, 13, 14, 15, 16)

#: Keypoint names (in index order) of the keypoint sets the reference decodes with :data:`REFERENCE_KEYPOINT_ORDER`.
REFERENCE_KEYPOINT_SETS = {
    'coco': ('nose', 'left_eye', 'right_eye', 'left_ear', 'right_ear', 'left_shoulder', 'right_shoulder', 'left_elbow',
             'right_elbow', 'left_wrist', 'right_wrist', 'left_hip', 'right_hip', 'left_knee', 'right_knee',
             'left_ankle', 'right_ankle'),
    'crowdpose': ('left_shoulder', 'right_shoulder', 'left_elbow', 'right_elbow', 'left_wrist', 'right_wrist',
                  'left_hip', 'right_hip', 'left_knee', 'right_knee', 'left_ankle', 'right_ankle', 'top_head', 'neck'),
}

ORDER_HINT = ("in a config, the codec's decode_keypoint_order: the dataset's metainfo (e.g. dict(from_file="
              "'configs/_base_/datasets/my_keypoints.py'), the order is then derived from its skeleton) or a "
              'permutation of range(K); see docs/custom_dataset.md')


def reference_keypoint_order(num_keypoints: int) -> List[int]:
    """The reference's joint visiting order truncated to K entries (for K = 14 the CrowdPose order it uses).

    Raises:
        ValueError: when the truncation is not a permutation of ``range(K)``; pass an explicit order then.
    """
    order = list(REFERENCE_KEYPOINT_ORDER[:num_keypoints])
    if sorted(order) != list(range(num_keypoints)):
        raise ValueError(f'the reference keypoint order truncated to num_keypoints={num_keypoints} entries is '
                         f'{order}, not a permutation of range({num_keypoints}); set keypoint_order explicitly (' +
                         ORDER_HINT + ')')
    return order


def _hop_distances(num_keypoints: int, links: np.ndarray) -> np.ndarray:
    """(K, K) number of skeleton links between joints (inf between unconnected ones)."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import shortest_path

    graph = coo_matrix((np.ones(len(links)), (links[:, 0], links[:, 1])), shape=(num_keypoints, num_keypoints))
    return shortest_path(graph.tocsr(), directed=False, unweighted=True)


def skeleton_keypoint_order(num_keypoints: int, skeleton_links: Sequence[Sequence[int]]) -> List[int]:
    """Breadth-first walk of the skeleton from its most central joint; neighbours in ascending index order.

    The most central joint has the smallest eccentricity (largest hop distance to any joint of its connected part),
    ties broken by the smallest sum of hop distances, then by the lowest index. A skeleton in several connected
    parts is walked part by part, the largest first (then the one with the lowest joint index), each from its own
    centre; joints in no link come last, in index order.

    Args:
        num_keypoints: K.
        skeleton_links: (L, 2) 0-based joint pairs (MMPose metainfo ``skeleton_links``).

    Returns:
        A permutation of ``range(K)``.
    """
    links = np.asarray(skeleton_links, dtype=np.int64).reshape(-1, 2)
    if len(links) and (links.min() < 0 or links.max() >= num_keypoints):
        raise ValueError(f'skeleton_links must index the {num_keypoints} joints (0-based), got links up to '
                         f'{int(links.max())}; check the skeleton_info of the dataset metainfo')
    links = links[links[:, 0] != links[:, 1]]
    dist = _hop_distances(num_keypoints, links)
    reachable = np.isfinite(dist)
    neighbours = [
        sorted(set(links[links[:, 0] == k, 1].tolist()) | set(links[links[:, 1] == k, 0].tolist()))
        for k in range(num_keypoints)
    ]
    parts = []
    seen = np.zeros(num_keypoints, dtype=bool)
    for k in range(num_keypoints):
        if not seen[k] and neighbours[k]:
            members = np.flatnonzero(reachable[k])
            seen[members] = True
            parts.append(members)
    parts.sort(key=lambda m: (-len(m), int(m[0])))
    order: List[int] = []
    for members in parts:
        sub = dist[np.ix_(members, members)]
        # lexsort: last key is primary -> eccentricity, then total distance, then index.
        centre = int(members[np.lexsort((members, sub.sum(1), sub.max(1)))[0]])
        queue, visited = [centre], {centre}
        while queue:
            joint = queue.pop(0)
            order.append(joint)
            for n in neighbours[joint]:
                if n not in visited:
                    visited.add(n)
                    queue.append(n)
    order += [k for k in range(num_keypoints) if not neighbours[k]]
    return order


def keypoint_names(metainfo: Mapping[str, Any]) -> Optional[tuple]:
    """Keypoint names in index order from parsed metainfo (``keypoint_id2name``), or ``None``."""
    id2name = metainfo.get('keypoint_id2name')
    if not id2name:
        return None
    return tuple(id2name[k] for k in sorted(id2name, key=int))


def is_reference_keypoint_set(metainfo: Mapping[str, Any]) -> bool:
    """Whether parsed metainfo describes COCO-17 or CrowdPose-14 (by keypoint names), decoded in reference order."""
    return keypoint_names(metainfo) in REFERENCE_KEYPOINT_SETS.values()


def load_metainfo(metainfo: Union[str, Mapping[str, Any]]) -> Dict[str, Any]:
    """Parsed MMPose metainfo from a file path, ``dict(from_file=...)``, a raw ``dataset_info`` dict or a parsed
    one (returned as is). Relative paths that do not exist fall back to MMPose's own ``configs/_base_/datasets``."""
    if isinstance(metainfo, str):
        metainfo = dict(from_file=metainfo)
    if 'skeleton_links' in metainfo and 'num_keypoints' in metainfo:
        return dict(metainfo)
    from swahr_mmpose.datasets.metainfo import parse_metainfo

    return parse_metainfo(dict(metainfo))


def default_keypoint_order(num_keypoints: int, metainfo: Optional[Mapping[str, Any]] = None) -> List[int]:
    """The decoder's default joint order for K joints of a keypoint set.

    Args:
        num_keypoints: K (heatmap channels).
        metainfo: the dataset's MMPose metainfo (parsed, a file, or ``dict(from_file=...)``); ``None``: only K is
            known, so only K = 17 (COCO) and K = 14 (CrowdPose) have a default.

    Returns:
        :func:`reference_keypoint_order` for COCO-17, CrowdPose-14 and ``metainfo=None``, else
        :func:`skeleton_keypoint_order` of the metainfo's skeleton.

    Raises:
        ValueError: the metainfo has another number of joints than K, or (no metainfo) K has no reference order.
    """
    if metainfo is None:
        return reference_keypoint_order(num_keypoints)
    meta = load_metainfo(metainfo)
    meta_joints = int(meta['num_keypoints'])
    if meta_joints != num_keypoints:
        raise ValueError(f"the keypoint metainfo {meta.get('dataset_name')!r} has {meta_joints} joints but the codec "
                         f'has num_keypoints={num_keypoints}: set the codec\'s num_keypoints (and '
                         f'model.head.num_keypoints) to {meta_joints}')
    if is_reference_keypoint_set(meta):
        return reference_keypoint_order(num_keypoints)
    return skeleton_keypoint_order(num_keypoints, meta.get('skeleton_links') or [])


def resolve_keypoint_order(keypoint_order: Union[None, Sequence[int], Mapping[str, Any], str],
                           num_keypoints: Optional[int]) -> Optional[List[int]]:
    """The decoder's ``keypoint_order`` argument as a list: an explicit permutation (checked), a metainfo (its
    :func:`default_keypoint_order`), or ``None`` (the reference order for K; ``None`` when K is unknown too).

    Raises:
        ValueError: not a permutation of ``range(K)``, metainfo K differs, or no default exists for K.
    """
    if keypoint_order is None:
        return None if num_keypoints is None else reference_keypoint_order(num_keypoints)
    if isinstance(keypoint_order, (str, Mapping)):
        meta = load_metainfo(keypoint_order)
        return default_keypoint_order(int(meta['num_keypoints']) if num_keypoints is None else num_keypoints, meta)
    order = [int(k) for k in keypoint_order]
    expected = num_keypoints if num_keypoints is not None else len(order)
    if sorted(order) != list(range(expected)):
        raise ValueError(f'keypoint_order must be a permutation of range({expected}), got {order}')
    return order
