"""The annotation files a config names, checked: the logic of ``tools/check_dataset.py``.

Every dataset of ``train_dataloader``, ``val_dataloader`` and ``test_dataloader`` (through dataset wrappers such as
``RepeatDataset`` / ``ConcatDataset``) and every evaluator ``ann_file`` is checked once with
:func:`~swahr_mmpose.datasets.annotation_check.check_coco_keypoints`, with the joint count of the dataset's
metainfo. Datasets are built with ``lazy_init=True`` (nothing is parsed by MMPose), so a file that MMPose could not
even load is reported too.
"""
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Tuple

from mmengine.config import Config

from ..datasets.annotation_check import AnnotationProblem, AnnotationReport, BadAnnotationError, check_annotation_file

LOADERS = ('train_dataloader', 'val_dataloader', 'test_dataloader')
EVALUATORS = {'val_evaluator': 'val_dataloader', 'test_evaluator': 'test_dataloader'}


@dataclass
class AnnotationSource:
    """One annotation file and where the config uses it."""
    ann_file: str
    metainfo: Dict[str, Any]
    image_root: Optional[str] = None
    roles: List[str] = field(default_factory=list)
    for_training: bool = False

    @property
    def num_keypoints(self) -> int:
        return int(self.metainfo['num_keypoints'])


def _dataset_configs(cfg: Any, path: str) -> List[Tuple[str, dict]]:
    """(config path, dataset config) of the leaf datasets under a dataset config (wrappers unfolded)."""
    if isinstance(cfg, (list, tuple)):
        return [leaf for i, sub in enumerate(cfg) for leaf in _dataset_configs(sub, f'{path}[{i}]')]
    if not isinstance(cfg, dict):
        return []
    if 'ann_file' in cfg:
        return [(path, cfg)]
    leaves = []
    for key in ('dataset', 'datasets'):
        if key in cfg:
            leaves += _dataset_configs(cfg[key], f'{path}.{key}')
    return leaves


def annotation_sources(cfg: Config) -> List[AnnotationSource]:
    """The annotation files of ``cfg``'s data loaders and evaluators, each once (roles merged)."""
    from mmengine.registry import init_default_scope
    from mmpose.registry import DATASETS

    init_default_scope(cfg.get('default_scope', 'mmpose'))
    sources: Dict[str, AnnotationSource] = {}
    loader_meta: Dict[str, Dict[str, Any]] = {}
    for loader in LOADERS:
        loader_cfg = cfg.get(loader)
        if not loader_cfg:
            continue
        for path, dataset_cfg in _dataset_configs(loader_cfg.get('dataset'), f'{loader}.dataset'):
            dataset = DATASETS.build(dict(dataset_cfg, lazy_init=True, pipeline=[]))
            loader_meta.setdefault(loader, dataset.metainfo)
            source = sources.setdefault(
                dataset.ann_file, AnnotationSource(dataset.ann_file, dataset.metainfo, dataset.data_prefix.get('img')))
            source.roles.append(path)
            source.for_training |= loader == 'train_dataloader'
    for evaluator, loader in EVALUATORS.items():
        evaluator_cfg = cfg.get(evaluator)
        metrics = evaluator_cfg if isinstance(evaluator_cfg, (list, tuple)) else [evaluator_cfg]
        for i, metric in enumerate(metrics):
            if not isinstance(metric, dict) or not metric.get('ann_file') or loader not in loader_meta:
                continue
            path = evaluator if len(metrics) == 1 else f'{evaluator}[{i}]'
            source = sources.setdefault(metric['ann_file'], AnnotationSource(metric['ann_file'], loader_meta[loader]))
            source.roles.append(f'{path}.ann_file')
    return list(sources.values())


# Problems of the image files themselves (--check-images), which no annotation policy can work around.
IMAGE_FILE_KINDS = frozenset({'missing image file', 'unreadable image'})


def check_config_annotations(cfg: Config,
                             check_images: bool = False,
                             num_threads: int = 8) -> List[Tuple[AnnotationSource, AnnotationReport]]:
    """Check every annotation file of ``cfg`` (see the module docstring); image files only with ``check_images``."""
    results = []
    for source in annotation_sources(cfg):
        try:  # the same rules as the checked datasets when they load (check_annotation_file)
            _, report = check_annotation_file(
                source.ann_file,
                source.metainfo,
                for_training=source.for_training,
                image_root=source.image_root,
                check_images=check_images and source.image_root is not None,
                num_threads=num_threads)
        except (OSError, ValueError) as error:  # missing / unreadable / not JSON / not a COCO file
            message = str(error) if isinstance(error, BadAnnotationError) else f'{type(error).__name__}: {error}'
            report = AnnotationReport(
                source.ann_file,
                source.num_keypoints,
                problems=[
                    AnnotationProblem(source.ann_file, None, None, 'file', 'unreadable annotation file', message)
                ])
        results.append((source, report))
    return results


def format_results(results: List[Tuple[AnnotationSource, AnnotationReport]], max_problems: int = 50) -> str:
    """A report for the terminal: per file its roles, counts and the problems (at most ``max_problems`` each)."""
    lines = []
    for source, report in results:
        lines.append(f'{source.ann_file} ({", ".join(source.roles)}; K={source.num_keypoints}): '
                     f'{report.num_images} images, {report.num_annotations} annotations, '
                     f'{len(report.images_without_annotations)} images without annotation')
        if report.ok:
            lines.append('  no problems')
            continue
        lines.append(f'  {len(report.problems)} problem(s): {report.kind_counts()}')
        lines += [f'  - {p}' for p in report.problems[:max_problems]]
        if len(report.problems) > max_problems:
            lines.append(f'  ... and {len(report.problems) - max_problems} more (--max-problems)')
        missing = [p for p in report.problems if p.kind == 'missing image file']
        if missing:
            role = next((r for r in source.roles if r.endswith('.dataset')), 'train_dataloader.dataset')
            lines.append(f'  {len(missing)} image file(s) are missing under {source.image_root}: images are read from '
                         "the dataset's data_root + data_prefix['img'] + file_name, so check those two settings "
                         f"(e.g. --cfg-options {role}.data_root=... or {role}.data_prefix.img=...) or copy the "
                         "images there; bad_annotations='skip' does not help with missing files")
    bad = sum(not report.ok for _, report in results)
    # bad_annotations='skip' masks bad people; it cannot stand in for image files that are not there
    maskable = any(p.kind not in IMAGE_FILE_KINDS for _, report in results for p in report.problems)
    lines.append(f'{len(results)} annotation file(s) checked, {bad} with problems.' +
                 (" Fix them, or train with the bad people masked: set the datasets' bad_annotations='skip' (see "
                  'docs/training.md).' if maskable else ''))
    return '\n'.join(lines)
