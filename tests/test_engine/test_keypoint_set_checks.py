"""The keypoint-set checks against the dataset metainfo: joints of head and codec, flip pairs, the decoder's joint
order, CocoMetric's sigmas, and the metainfo file itself. Each error names the setting to change. Datasets are not
loaded (lazy_init); heads are real SWAHR heads of a few channels."""
import pytest
from mmengine.config import Config
from mmpose.evaluation.metrics import CocoMetric
from mmpose.registry import DATASETS, MODELS

from swahr_mmpose.codecs.utils.keypoint_order import load_metainfo
from swahr_mmpose.datasets.metainfo import MetainfoError, check_dataset_info, resolve_metainfo_file
from swahr_mmpose.engine.hooks import (ConfigConsistencyError, check_dataset_against_head, check_evaluator_sigmas,
                                       check_flip_indices)
from swahr_mmpose.engine.hooks.consistency_check import config_sets_keypoint_order

AP10K = 'configs/_base_/datasets/ap10k.py'
HALPE26 = 'configs/_base_/datasets/halpe26.py'


def head(num_keypoints, order=None):
    codec = dict(
        type='MultiLevelAssociativeEmbedding',
        input_size=64,
        heatmap_size=[(16, 16), (32, 32)],
        num_keypoints=num_keypoints,
        decode_keypoint_order=order)
    return MODELS.build(
        dict(type='SWAHRHead', in_channels=8, num_keypoints=num_keypoints, num_basic_blocks=1, decoder=codec))


def dataset(metainfo):
    return DATASETS.build(
        dict(
            type='CheckedCocoDataset',
            ann_file='never_read.json',
            data_mode='bottomup',
            lazy_init=True,
            metainfo=metainfo,
            pipeline=[]))


def test_metainfo_joints_vs_head_joints():
    with pytest.raises(
            ConfigConsistencyError,
            match=r"has 26 joints \(metainfo 'halpe26'\) but "
            r'model.head.num_keypoints=17: set model.head.num_keypoints and '
            r"the codec's num_keypoints to 26"):
        check_dataset_against_head('train_dataloader', dataset(dict(from_file=HALPE26)), head(17))
    check_dataset_against_head('train_dataloader', dataset(dict(from_file=HALPE26)), head(26, dict(from_file=HALPE26)))


def test_decoder_order_must_follow_the_metainfo():
    """AP-10K has COCO's 17 joints by count only: the codec must be told the keypoint set, or an order given."""
    ap10k = dataset(dict(from_file=AP10K))
    with pytest.raises(
            ConfigConsistencyError,
            match=r"keypoint set 'ap10k', whose skeleton gives the joint order "
            r"\[3, 2, 4, .* set the codec's decode_keypoint_order to the same "
            r'metainfo as the dataset'):
        check_dataset_against_head('train_dataloader', ap10k, head(17))
    check_dataset_against_head('train_dataloader', ap10k, head(17, dict(from_file=AP10K)))
    check_dataset_against_head('train_dataloader', ap10k, head(17), explicit_order=True)
    # COCO itself keeps the reference order with or without the metainfo.
    check_dataset_against_head('train_dataloader', dataset(dict(from_file='configs/_base_/datasets/coco.py')), head(17))


def test_config_sets_keypoint_order():
    cfg = Config(dict(model=dict(head=dict(decoder=dict(type='MultiLevelAssociativeEmbedding')))))
    assert not config_sets_keypoint_order(cfg)
    cfg.model.head.decoder.decode_keypoint_order = dict(from_file=AP10K)
    assert not config_sets_keypoint_order(cfg)
    cfg.model.head.decoder.decode_keypoint_order = list(range(17))
    assert config_sets_keypoint_order(cfg)
    assert not config_sets_keypoint_order(None)


def test_flip_pairs_of_the_wrong_length_or_not_mutual():
    meta = load_metainfo(AP10K)
    with pytest.raises(
            ConfigConsistencyError,
            match=r'flip_indices has 16 entries for the 17 joints of '
            r'model.head.num_keypoints.*fix the keypoint_info `swap` names'):
        check_flip_indices('train_dataloader.dataset', dict(meta, flip_indices=meta['flip_indices'][:16]), 17)
    one_way = [1, 2, 0] + list(range(3, 17))  # a permutation, but 0 -> 1 -> 2 -> 0 is no mirror pairing
    with pytest.raises(ConfigConsistencyError, match=r'are not mutual pairs \(joints \[0, 1, 2\]\)'):
        check_flip_indices('train_dataloader.dataset', dict(meta, flip_indices=one_way), 17)
    check_flip_indices('train_dataloader.dataset', meta, 17)


def _raw_ap10k():
    """AP-10K's ``dataset_info`` as a raw dict (what a dataset's ``metainfo`` may be)."""
    return Config.fromfile(resolve_metainfo_file(AP10K)).dataset_info.to_dict()


def test_flip_partners_are_found_by_key_for_string_keys():
    """A metainfo read from JSON has string keys; mutual flip pairs must not be reported (nor raise KeyError)."""
    raw = _raw_ap10k()
    raw['keypoint_info'] = {str(k): v for k, v in raw['keypoint_info'].items()}
    assert check_dataset_info(raw) == []


def test_metainfo_file_errors_name_the_field():
    raw = _raw_ap10k()
    raw['keypoint_info'][5]['swap'] = 'R_Shoulderr'
    with pytest.raises(
            MetainfoError,
            match=r"keypoint_info\[5\] \('L_Shoulder'\) swaps with 'R_Shoulderr', which is "
            r'not a keypoint name'):
        dataset(raw)
    raw = _raw_ap10k()
    raw['keypoint_info'][5]['swap'] = 'L_Hip'  # L_Hip swaps with R_Hip: not mutual
    with pytest.raises(MetainfoError, match="'L_Shoulder' swaps with 'L_Hip' but 'L_Hip' swaps with 'R_Hip'"):
        dataset(raw)
    raw = _raw_ap10k()
    del raw['sigmas']
    with pytest.raises(
            MetainfoError,
            match=r"metainfo has no 'sigmas': add sigmas=\[\.\.\.\] \(one OKS sigma per "
            r'joint, needed by CocoMetric\)'):
        dataset(raw)
    raw = _raw_ap10k()
    raw['sigmas'] = raw['sigmas'][:-1]
    with pytest.raises(MetainfoError, match='has 16 sigmas for 17 keypoints'):
        dataset(raw)
    with pytest.raises(MetainfoError, match=r"the metainfo file 'no/such_keypoints.py' does not exist"):
        dataset(dict(from_file='no/such_keypoints.py'))


class _Evaluator:

    def __init__(self, meta):
        self.metrics = [CocoMetric(ann_file=None)]
        self.metrics[0].dataset_meta = meta


def test_coco_metric_needs_one_sigma_per_joint():
    meta = load_metainfo('configs/_base_/datasets/onehand10k.py')  # MMPose ships it with sigmas=[]
    with pytest.raises(
            ConfigConsistencyError,
            match=r'val_evaluator evaluates with CocoMetric, which needs OKS '
            r"sigmas, but the dataset metainfo 'onehand10k' has none: add "
            r'sigmas=\[\.\.\.\] with 21 OKS sigmas'):
        check_evaluator_sigmas('val_evaluator', _Evaluator(meta), 21)
    hand = load_metainfo('configs/_base_/datasets/coco_wholebody_hand.py')
    with pytest.raises(ConfigConsistencyError, match=r'has 21 sigmas for 17 joints \(model.head.num_keypoints\)'):
        check_evaluator_sigmas('val_evaluator', _Evaluator(hand), 17)
    check_evaluator_sigmas('val_evaluator', _Evaluator(hand), 21)
