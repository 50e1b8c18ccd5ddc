"""Keypoint-set metainfo (MMPose ``configs/_base_/datasets/*.py`` style): checked, then parsed by MMPose.

MMPose's ``parse_pose_metainfo`` asserts that the keys exist and fails with a bare ``AssertionError`` or a
``KeyError`` deep inside when a ``swap`` or skeleton name is misspelt. :func:`parse_metainfo` checks the raw
``dataset_info`` first and names the file and the field to fix, then returns MMPose's parsed dict unchanged.
"""
import os.path as osp
import warnings
from typing import Any, Dict, List, Mapping

from mmpose.datasets.datasets.utils import parse_pose_metainfo

REQUIRED_KEYS = ('dataset_name', 'keypoint_info', 'skeleton_info', 'joint_weights', 'sigmas')


class MetainfoError(ValueError):
    """A keypoint-set metainfo file is incomplete or inconsistent."""


def resolve_metainfo_file(path: str) -> str:
    """``path`` if it exists, else MMPose's ``.mim/configs/_base_/datasets/<basename>`` (as MMPose resolves it)."""
    if osp.isfile(path):
        return path
    import mmpose

    fallback = osp.join(osp.dirname(mmpose.__file__), '.mim', 'configs', '_base_', 'datasets', osp.basename(path))
    if osp.isfile(fallback):
        return fallback
    raise MetainfoError(f'the metainfo file {path!r} does not exist (nor does MMPose ship one of that name); set '
                        "the dataset's metainfo=dict(from_file=...) to a configs/_base_/datasets/*.py style file")


def check_dataset_info(info: Mapping[str, Any], source: str = 'metainfo') -> List[str]:
    """Problems of a raw ``dataset_info`` dict (empty list: none). ``source`` names it in the messages."""
    missing = [k for k in REQUIRED_KEYS if k not in info]
    if missing:
        hint = {
            'sigmas': 'sigmas=[...] (one OKS sigma per joint, needed by CocoMetric)',
            'joint_weights': 'joint_weights=[1.0] * K'
        }
        return [f'{source} has no {k!r}' + (f': add {hint[k]}' if k in hint else '') for k in missing]
    problems = []
    kpt_info = info['keypoint_info']
    num = len(kpt_info)
    if num == 0:
        return [f'{source} keypoint_info is empty']
    if sorted(int(k) for k in kpt_info) != list(range(num)):
        problems.append(f'{source} keypoint_info keys must be 0..{num - 1}, got {sorted(kpt_info)}')
    keys = sorted(kpt_info, key=int)  # int or str keys (a dict read from JSON), any numbering: checked above
    names = [kpt_info[k].get('name') for k in keys]
    if len(set(names)) != num or None in names:
        problems.append(f'{source} keypoint_info names must be present and unique, got {names}')
    name_set = set(names)
    for k in keys:
        kpt = kpt_info[k]
        if 'id' in kpt and int(kpt['id']) != int(k):
            problems.append(f'{source} keypoint_info[{k}] has id={kpt["id"]}; it must equal its key {k}')
        swap = kpt.get('swap', '')
        if swap and swap not in name_set:
            problems.append(f'{source} keypoint_info[{k}] ({kpt.get("name")!r}) swaps with {swap!r}, which is not a '
                            f'keypoint name; use one of {names} (or swap=\'\' for a joint on the symmetry axis)')
        elif swap and swap != kpt.get('name'):
            partner = kpt_info[keys[names.index(swap)]]
            if partner.get('swap', '') != kpt.get('name'):
                problems.append(f'{source} keypoint_info: {kpt.get("name")!r} swaps with {swap!r} but {swap!r} swaps '
                                f'with {partner.get("swap", "")!r}; flip pairs must be mutual')
    for k, link in info['skeleton_info'].items():
        pair = link.get('link', ())
        bad = [n for n in pair if n not in name_set]
        if len(pair) != 2 or bad:
            problems.append(f'{source} skeleton_info[{k}] link {pair!r} must name two keypoints of keypoint_info')
    for key in ('joint_weights', 'sigmas'):
        values = list(info[key])
        if key == 'sigmas' and not values:
            continue  # allowed (training only); CocoMetric's check asks for them
        if len(values) != num:
            problems.append(f'{source} has {len(values)} {key} for {num} keypoints; give one per keypoint')
        elif any(not float(v) > 0 for v in values) and key == 'sigmas':
            problems.append(f'{source} sigmas must all be > 0, got {values}')
    return problems


def parse_metainfo(metainfo: Mapping[str, Any]) -> Dict[str, Any]:
    """:func:`check_dataset_info`, then MMPose's ``parse_pose_metainfo``.

    Args:
        metainfo: ``dict(from_file=PATH)`` or a raw ``dataset_info`` dict (as a dataset's ``metainfo`` argument).

    Raises:
        MetainfoError: listing every problem, with the file.
    """
    metainfo = dict(metainfo)
    source = 'metainfo'
    if 'from_file' in metainfo:
        from mmengine.config import Config

        path = resolve_metainfo_file(metainfo['from_file'])
        source = f'metainfo file {path}'
        cfg = Config.fromfile(path)
        if 'dataset_info' not in cfg:
            raise MetainfoError(f'{source} defines no `dataset_info = dict(...)`')
        raw = cfg.dataset_info.to_dict()
    else:
        raw = metainfo
    problems = check_dataset_info(raw, source)
    if problems:
        raise MetainfoError('; '.join(problems))
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')  # the fallback warning of parse_pose_metainfo: resolved above already
        return parse_pose_metainfo(dict(raw))
