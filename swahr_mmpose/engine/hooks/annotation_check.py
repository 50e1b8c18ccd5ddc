"""Check the evaluators' ground truth before the first iteration (``CocoMetric`` loads its own annotation file)."""
from typing import Optional, Set

from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmpose.registry import HOOKS

from ...datasets.annotation_check import check_coco_keypoints, coco_from_dict
from ...datasets.checked_coco import check_and_clean
from .run_loops import loops_of_stage


@HOOKS.register_module()
class EvaluatorAnnotationCheckHook(Hook):
    """Check (and clean) the ground truth of every metric with a COCO object, before the run starts.

    ``CocoMetric`` reads its ``ann_file`` itself, so the checked datasets do not protect it: an annotation without
    ``keypoints``, ``bbox`` or ``iscrowd`` would crash ``COCOeval`` at the first validation (epoch 10 of the COCO
    configs). Before any iteration this hook runs
    :func:`~swahr_mmpose.datasets.annotation_check.check_coco_keypoints` on each metric's ``coco.dataset`` with the
    policy of the loop's dataset (its ``bad_annotations``, else ``default_policy``): ``'raise'`` fails with the
    list of problems, ``'skip'`` re-indexes the metric on the cleaned copy, the same one the dataset made of the same
    file, so predictions and ground truth agree. It runs when the loops start (``before_train`` for the val loop of a
    training run, ``before_val``, ``before_test``), before any iteration, once per loop.

    Args:
        default_policy: ``'raise'`` or ``'skip'`` for loops whose dataset has no ``bad_annotations``.
    """

    priority = 'VERY_HIGH'

    def __init__(self, default_policy: str = 'raise') -> None:
        self.default_policy = default_policy
        self._seen: Set[int] = set()

    def before_train(self, runner) -> None:
        self._check_loops(runner, 'train')

    def before_val(self, runner) -> None:
        self._check_loops(runner, 'val')

    def before_test(self, runner) -> None:
        self._check_loops(runner, 'test')

    def _check_loops(self, runner, stage: str) -> None:
        for name, loop in loops_of_stage(runner, stage, self._seen):
            if not hasattr(loop, 'evaluator'):
                continue  # the train loop
            dataset = getattr(loop.dataloader, 'dataset', None)
            policy = getattr(dataset, 'bad_annotations', self.default_policy)
            metainfo = getattr(dataset, 'metainfo', None) or {}
            for metric in getattr(loop.evaluator, 'metrics', []):
                self.check_metric(metric, name, policy, metainfo.get('num_keypoints'))

    @staticmethod
    def check_metric(metric, loop_name: str, policy: str, num_keypoints: Optional[int]) -> None:
        """Check ``metric.coco`` (if any) in place; ``num_keypoints`` defaults to the metric's dataset_meta."""
        coco = getattr(metric, 'coco', None)
        data = getattr(coco, 'dataset', None)
        if not isinstance(data, dict) or getattr(metric, 'gt_converter', None) is not None:
            return  # no ground truth file, or joints remapped by a converter
        dataset_meta = getattr(metric, 'dataset_meta', None) or {}
        if num_keypoints is None:
            num_keypoints = dataset_meta.get('num_keypoints')
        if num_keypoints is None:
            return
        source = f'{getattr(metric, "ann_file", None) or "annotations"} ({loop_name} evaluator ' \
                 f'{type(metric).__name__})'
        report = check_coco_keypoints(data, int(num_keypoints), file=source)
        cleaned = check_and_clean(data, report, policy)
        if cleaned is not data:
            metric.coco = coco_from_dict(cleaned)
        print_log(
            f'{source}: ground truth checked: {"no problems" if report.ok else report.kind_counts()}', logger='current')
