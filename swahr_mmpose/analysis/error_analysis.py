"""Where a bottom-up AE model loses AP: oracle substitutions and keypoint-detection precision / recall.

The standard way to separate detection from grouping errors in associative-embedding models: evaluate the model's own
predictions, then the same predictions with one part replaced by the ground truth, all with the same decoder and the
same COCO metric (MMPose's ``CocoMetric`` on the config's annotation file):

* **model**: predicted heatmaps + predicted tags (what ``mim test`` reports, up to the metric's own settings);
* **oracle tags** (grouping error removed): predicted heatmaps; every tag map replaced by the ground-truth person
  identity of the nearest labelled joint of that type (within a radius, see :func:`oracle_tag_maps`), so candidates
  group by their true person;
* **oracle heatmaps** (detection error removed): a ground-truth Gaussian peak at every labelled joint instead of the
  predicted heatmaps, grouped by the predicted tags;
* **both oracles**: ground-truth peaks + ground-truth identities; the ceiling of the decoder, metric and input size.

Keypoint detection is measured on the predicted heatmaps at the decoder's canvas: the decoder's candidates (NMS peaks
above ``keypoint_thr``, top-k per joint) are matched greedily, by value, to labelled joints of the same type within
``match_radius`` px of the level-0 heatmap (default 2, the Gaussian sigma); precision = matched / candidates,
recall = matched / labelled joints, recall also by person height (input px) and by visibility (v=1 occluded, v=2).

Coordinates: ground truth comes in image px (``raw_ann_info``) and is mapped to the input canvas (input px) with the
inverse of the mapping ``BottomupPoseEstimator`` applies to predictions
(``image = canvas / input_size * input_scale + input_center - input_scale / 2``).
"""
import copy
import json
import os.path as osp
import tempfile
from dataclasses import dataclass, field
from typing import Dict, Iterable, Iterator, List, Optional, Sequence, Tuple

import numpy as np
import torch
from mmengine.structures import InstanceData
from mmpose.registry import METRICS
from torch import Tensor

from ..codecs.utils.candidates import select_candidates
from ..datasets.transforms.reference_resize import canvas_to_image, image_to_canvas

VARIANTS = ('model', 'oracle tags', 'oracle heatmaps', 'both oracles')
HEIGHT_BINS = ((0.0, 64.0), (64.0, 128.0), (128.0, float('inf')))  # person height in input px
# Tags of different people are this far apart; pixels far from every labelled joint get unique tags beyond them.
_PERSON_TAG_SPACING = 4.0
_NOBODY_TAG_OFFSET = 1.0e4


@dataclass
class ImageMaps:
    """Decoder input of one image plus its ground truth.

    Attributes:
        heatmaps: (K, H, W) aggregated predicted heatmaps on the input canvas (input px).
        tags: (L*K, H, W) aggregated predicted tags, channel ``l*K + k``.
        keypoints: (N, K, 2) labelled people's keypoints in canvas (input) px; people without labelled joints and
            crowd annotations are not included.
        visibility: (N, K) COCO visibility (0 unlabelled, 1 occluded, 2 visible).
        areas: (N,) annotation areas in canvas px^2.
        data_sample: the image's ``PoseDataSample`` (metainfo for mapping predictions back and for the metric).
    """
    heatmaps: Tensor
    tags: Tensor
    keypoints: np.ndarray
    visibility: np.ndarray
    areas: np.ndarray
    data_sample: object


@dataclass
class DetectionStats:
    """Keypoint-detection counts over a data set (see the module docstring)."""
    candidates: int = 0
    matched: int = 0
    labelled: int = 0
    labelled_by_height: List[int] = field(default_factory=lambda: [0] * len(HEIGHT_BINS))
    matched_by_height: List[int] = field(default_factory=lambda: [0] * len(HEIGHT_BINS))
    labelled_by_visibility: Dict[int, int] = field(default_factory=lambda: {1: 0, 2: 0})
    matched_by_visibility: Dict[int, int] = field(default_factory=lambda: {1: 0, 2: 0})

    @property
    def precision(self) -> float:
        return self.matched / self.candidates if self.candidates else float('nan')

    @property
    def recall(self) -> float:
        return self.matched / self.labelled if self.labelled else float('nan')

    def recall_by_height(self) -> List[float]:
        return [m / n if n else float('nan') for m, n in zip(self.matched_by_height, self.labelled_by_height)]

    def recall_by_visibility(self) -> Dict[int, float]:
        return {
            v: self.matched_by_visibility[v] / n if n else float('nan')
            for v, n in self.labelled_by_visibility.items()
        }

    def summary(self) -> Dict[str, object]:
        """The rates as plain values, for JSON (``tools/analyze_errors.py --json``, the quickstart summary)."""
        return dict(
            precision=self.precision,
            recall=self.recall,
            recall_by_height=self.recall_by_height(),
            recall_by_visibility=self.recall_by_visibility())


# ----------------------------------------------------------------------------------------------- ground truth
def ground_truth_in_canvas(raw_ann_info: Sequence[dict], metainfo: dict,
                           num_keypoints: int) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Labelled (non-crowd, at least one v > 0 joint) people of an image in canvas px.

    Returns:
        keypoints (N, K, 2) canvas px, visibility (N, K), areas (N,) canvas px^2.
    """
    # canvas px per image px along x and y (the resize is axis-aligned): the factor of box areas
    zoom = image_to_canvas(np.ones(2), metainfo) - image_to_canvas(np.zeros(2), metainfo)
    keypoints, visibility, areas = [], [], []
    for ann in raw_ann_info:
        if ann.get('iscrowd', 0) or 'keypoints' not in ann:
            continue
        kpts = np.asarray(ann['keypoints'], dtype=np.float64).reshape(-1, 3)
        if kpts.shape[0] != num_keypoints:
            raise ValueError(f'annotation {ann.get("id")} of image {ann.get("image_id")} has {kpts.shape[0]} '
                             f'keypoints, the model predicts {num_keypoints}')
        if not (kpts[:, 2] > 0).any():
            continue
        keypoints.append(image_to_canvas(kpts[:, :2], metainfo))
        visibility.append(kpts[:, 2])
        areas.append(float(ann.get('area', 0.0)) * zoom[0] * zoom[1])
    if not keypoints:
        return np.zeros((0, num_keypoints, 2)), np.zeros((0, num_keypoints)), np.zeros((0, ))
    return np.stack(keypoints), np.stack(visibility), np.asarray(areas)


def oracle_tag_maps(keypoints: np.ndarray,
                    visibility: np.ndarray,
                    areas: np.ndarray,
                    shape: Tuple[int, int, int],
                    tag_dim: int,
                    min_radius: float = 16.0,
                    radius_fraction: float = 0.25) -> Tensor:
    """Ground-truth identity tags (L*K, H, W): in joint k's map, every pixel within the radius of some labelled
    joint k takes ``4 * (index of the person whose joint k is nearest)``; farther pixels get unique tags (so a
    candidate there starts a person of its own, as an unmatched detection would).

    The radius of a person is ``max(min_radius, radius_fraction * sqrt(area))`` canvas px. Tags of different
    people differ by at least 4 > the decoder's tag threshold (1), so grouping follows the true identities.
    """
    num_keypoints, height, width = shape
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float64) + 0.5  # pixel centres, canvas px
    tags = np.empty((num_keypoints, height, width), dtype=np.float32)
    unique = _NOBODY_TAG_OFFSET + np.arange(height * width, dtype=np.float64).reshape(height, width)
    radius = np.maximum(min_radius, radius_fraction * np.sqrt(np.maximum(areas, 0.0)))  # (N,)
    for k in range(num_keypoints):
        people = np.flatnonzero(visibility[:, k] > 0)
        if people.size == 0:
            tags[k] = unique
            continue
        px, py = keypoints[people, k, 0, None, None], keypoints[people, k, 1, None, None]
        d2 = (xs[None] - px)**2 + (ys[None] - py)**2
        nearest = d2.argmin(axis=0)
        inside = np.take_along_axis(d2, nearest[None], 0)[0] <= radius[people][nearest]**2
        tags[k] = np.where(inside, _PERSON_TAG_SPACING * people[nearest], unique)
    return torch.from_numpy(np.tile(tags, (tag_dim, 1, 1)))


def oracle_heatmaps(keypoints: np.ndarray,
                    visibility: np.ndarray,
                    shape: Tuple[int, int, int],
                    sigma: float = 2.0) -> Tensor:
    """Ground-truth peaks (K, H, W): a unit Gaussian of std ``sigma`` canvas px centred exactly on each labelled
    joint (pixel ``i`` has its centre at ``i + 0.5``), max over people. The decoder then finds the joint up to its own
    quarter-pixel rounding, which is part of the ceiling this oracle measures."""
    num_keypoints, height, width = shape
    heat = np.zeros(shape, dtype=np.float32)
    radius = int(np.ceil(3 * sigma))
    for n, k in zip(*np.nonzero(visibility > 0)):
        u, v = keypoints[n, k]
        x0, x1 = max(int(np.floor(u)) - radius, 0), min(int(np.floor(u)) + radius + 1, width)
        y0, y1 = max(int(np.floor(v)) - radius, 0), min(int(np.floor(v)) + radius + 1, height)
        if x0 >= x1 or y0 >= y1:
            continue
        dx = np.arange(x0, x1) + 0.5 - u
        dy = np.arange(y0, y1) + 0.5 - v
        patch = np.exp(-(dx[None]**2 + dy[:, None]**2) / (2 * sigma**2)).astype(np.float32)
        np.maximum(heat[k, y0:y1, x0:x1], patch, out=heat[k, y0:y1, x0:x1])
    return torch.from_numpy(heat)


# ----------------------------------------------------------------------------------------------- detection
def update_detection_stats(stats: DetectionStats, image: ImageMaps, nms_kernel: int, topk: int, keypoint_thr: float,
                           match_radius_px: float) -> None:
    """Match the decoder's candidates of one image to its labelled joints (greedy by value, per joint type)."""
    heatmaps = image.heatmaps[None].float()
    tags = image.tags[None].float()
    cand = select_candidates(heatmaps, tags, nms_kernel, topk, keypoint_thr)
    stats.candidates += int(cand.value.size)
    people_heights = _person_heights(image.keypoints, image.visibility)
    for k in range(image.heatmaps.shape[0]):
        labelled = np.flatnonzero(image.visibility[:, k] > 0)
        stats.labelled += labelled.size
        for n in labelled:
            stats.labelled_by_height[_height_bin(people_heights[n])] += 1
            stats.labelled_by_visibility[2 if image.visibility[n, k] >= 2 else 1] += 1
        mine = np.flatnonzero(cand.joint == k)  # sorted by value, descending
        free = set(labelled.tolist())
        for c in mine:
            if not free:
                break
            centre = np.array([cand.x[c] + 0.5, cand.y[c] + 0.5])
            options = sorted(free, key=lambda n: np.sum((image.keypoints[n, k] - centre)**2))
            n = options[0]
            if np.sqrt(np.sum((image.keypoints[n, k] - centre)**2)) <= match_radius_px:
                free.discard(n)
                stats.matched += 1
                stats.matched_by_height[_height_bin(people_heights[n])] += 1
                stats.matched_by_visibility[2 if image.visibility[n, k] >= 2 else 1] += 1


def _person_heights(keypoints: np.ndarray, visibility: np.ndarray) -> np.ndarray:
    """Extent of each person's labelled joints along y (canvas px)."""
    heights = np.zeros(len(keypoints))
    for n in range(len(keypoints)):
        ys = keypoints[n, visibility[n] > 0, 1]
        heights[n] = ys.max() - ys.min() if ys.size else 0.0
    return heights


def _height_bin(height: float) -> int:
    return next(i for i, (lo, hi) in enumerate(HEIGHT_BINS) if lo <= height < hi)


# ----------------------------------------------------------------------------------------------- evaluation
def decode_variants(image: ImageMaps, decoder, variants: Sequence[str] = VARIANTS) -> Dict[str, InstanceData]:
    """Decode one image with each variant's maps; predictions in image px (as ``BottomupPoseEstimator`` gives)."""
    shape = tuple(image.heatmaps.shape)
    tag_dim = image.tags.shape[0] // shape[0]
    gt_tags = gt_heat = None
    out = {}
    for variant in variants:
        heatmaps, tags = image.heatmaps, image.tags
        if variant in ('oracle tags', 'both oracles'):
            if gt_tags is None:
                gt_tags = oracle_tag_maps(image.keypoints, image.visibility, image.areas, shape, tag_dim)
            tags = gt_tags
        if variant in ('oracle heatmaps', 'both oracles'):
            if gt_heat is None:
                gt_heat = oracle_heatmaps(image.keypoints, image.visibility, shape)
            heatmaps = gt_heat
        keypoints, keypoint_scores, instance_scores = decoder.batch_decode(heatmaps[None].float(), tags[None].float())
        out[variant] = InstanceData(
            keypoints=canvas_to_image(keypoints[0], image.data_sample.metainfo).astype(np.float32),
            keypoint_scores=keypoint_scores[0],
            bbox_scores=instance_scores[0])
    return out


def evaluate_error_analysis(images: Iterable[ImageMaps],
                            decoder,
                            metric_cfg: dict,
                            dataset_meta: dict,
                            match_radius_px: float,
                            variants: Sequence[str] = VARIANTS) -> Dict[str, object]:
    """COCO metrics of every variant and keypoint-detection statistics over ``images``.

    Args:
        images: the decoder inputs and ground truth of every image (e.g. from :func:`collect_image_maps`).
        decoder: the codec / ``AEDecoder`` (``batch_decode(heatmaps (B,K,H,W), tags (B,L*K,H,W))``, canvas px).
        metric_cfg: a ``CocoMetric`` config (the config's ``test_evaluator``).
        dataset_meta: the dataset's metainfo (sigmas etc.) for the metric.
        match_radius_px: detection match radius in canvas px.

    Returns:
        dict with ``metrics`` (variant -> {'AP': ..., 'AP .5': ..., ...}), ``detection`` (:class:`DetectionStats`)
        and ``num_images``.
    """
    stats = DetectionStats()
    codec = getattr(decoder, 'decoder', decoder)  # the codec's AEDecoder holds the candidate settings
    samples: Dict[str, List[dict]] = {variant: [] for variant in variants}
    image_ids = []
    for image in images:
        update_detection_stats(stats, image, codec.nms_kernel, codec.topk, codec.keypoint_thr, match_radius_px)
        image_ids.append(image.data_sample.metainfo['img_id'])
        for variant, pred in decode_variants(image, decoder, variants).items():
            sample = image.data_sample.clone()
            sample.pred_instances = pred
            samples[variant].append(sample.to_dict())
    with tempfile.TemporaryDirectory() as tmp_dir:
        metric_cfg = _restrict_to_images(dict(metric_cfg), image_ids, tmp_dir)
        results = {}
        for variant in variants:
            metric = METRICS.build(copy.deepcopy(metric_cfg))
            metric.dataset_meta = dataset_meta
            metric.process([], samples[variant])
            values = metric.evaluate(len(samples[variant]))
            results[variant] = {key.split('/', 1)[-1]: float(value) for key, value in values.items()}
    num_images = len(image_ids)
    return dict(metrics=results, detection=stats, num_images=num_images)


def _restrict_to_images(metric_cfg: dict, image_ids: Sequence[int], tmp_dir: str) -> dict:
    """The metric config, with its annotation file cut to ``image_ids`` when they are a subset (``--max-images``):
    COCOeval counts every image of the file, so unprocessed images would look like missed people."""
    metric_cfg.pop('outfile_prefix', None)
    ann_file = metric_cfg.get('ann_file')
    if not ann_file:
        return metric_cfg
    with open(ann_file) as f:
        coco = json.load(f)
    keep = set(int(i) for i in image_ids)
    if {int(img['id']) for img in coco['images']} <= keep:
        return metric_cfg
    coco['images'] = [img for img in coco['images'] if int(img['id']) in keep]
    coco['annotations'] = [ann for ann in coco['annotations'] if int(ann['image_id']) in keep]
    subset = osp.join(tmp_dir, 'annotations_subset.json')
    with open(subset, 'w') as f:
        json.dump(coco, f)
    return dict(metric_cfg, ann_file=subset)


def collect_image_maps(model, dataloader, max_images: Optional[int] = None) -> Iterator[ImageMaps]:
    """Run ``model`` (a bottom-up estimator with ``SWAHRHead`` or MMPose's AE head) over ``dataloader`` and yield the
    aggregated maps it hands its decoder (``test_cfg.output_heatmaps``, on the input canvas) with the ground truth
    of each image (``raw_ann_info`` in the metainfo, as MMPose's bottom-up test pipelines pack it)."""
    test_cfg = dict(model.test_cfg)
    flip_test, multiscale_test = test_cfg.get('flip_test', False), test_cfg.get('multiscale_test', False)
    count = 0
    model.eval()
    with torch.no_grad():
        for batch in dataloader:
            data = model.data_preprocessor(batch, training=False)
            inputs, samples = data['inputs'], data['data_samples']
            pyramid = inputs if multiscale_test else [inputs]
            feats = []
            for scale_inputs in pyramid:
                feat = model.extract_feat(scale_inputs)
                feats.append([feat, model.extract_feat(scale_inputs.flip(-1))] if flip_test else feat)
            feats = feats if multiscale_test else feats[0]
            _, fields = model.head.predict(feats, samples, test_cfg=dict(test_cfg, output_heatmaps=True))
            for sample, maps in zip(samples, fields):
                if 'raw_ann_info' not in sample.metainfo:
                    raise KeyError("error analysis needs the ground truth of each test image: add 'raw_ann_info' "
                                   'to the meta_keys of the test pipeline\'s PackPoseInputs')
                keypoints, visibility, areas = ground_truth_in_canvas(sample.metainfo['raw_ann_info'], sample.metainfo,
                                                                      maps.heatmaps.shape[0])
                yield ImageMaps(maps.heatmaps.cpu(), maps.tags.cpu(), keypoints, visibility, areas, sample)
                count += 1
                if max_images is not None and count >= max_images:
                    return


# ----------------------------------------------------------------------------------------------- the command
def network_stride(model) -> float:
    """Input px per level-0 heatmap px of the model (a forward on a small dummy input)."""
    device = next(model.parameters()).device
    with torch.no_grad():
        outputs = model._forward(torch.zeros(1, 3, 64, 64, device=device))
    first = outputs[0] if isinstance(outputs, (tuple, list)) else outputs
    return 64.0 / first.shape[-1]


def run_error_analysis(config,
                       checkpoint: Optional[str],
                       device: Optional[str] = None,
                       max_images: Optional[int] = None,
                       match_radius: float = 2.0,
                       cfg_options: Optional[dict] = None) -> Dict[str, object]:
    """Error analysis of ``config`` + ``checkpoint`` on the config's test set (``tools/analyze_errors.py``).

    Args:
        device: 'cuda', 'cpu', ...; default: 'cuda' when available, else 'cpu'.
        match_radius: detection match radius in level-0 heatmap px (converted to canvas px with the network
            stride).

    Returns:
        :func:`evaluate_error_analysis`'s dict plus ``stride`` and ``match_radius_px``.
    """
    from mmengine.runner import Runner

    from ..utils.checkpoint_match import init_model_strict

    if device is None:
        device = 'cuda' if torch.cuda.is_available() else 'cpu'
    model = init_model_strict(config, checkpoint, device=device, cfg_options=cfg_options)
    cfg = model.cfg
    dataloader = Runner.build_dataloader(copy.deepcopy(cfg.test_dataloader))
    stride = network_stride(model)
    images = collect_image_maps(model, dataloader, max_images)
    results = evaluate_error_analysis(images, model.head.decoder, cfg.test_evaluator, dataloader.dataset.metainfo,
                                      match_radius * stride)
    results.update(stride=stride, match_radius_px=match_radius * stride)
    return results


def format_error_analysis(results: Dict[str, object]) -> List[str]:
    """The report ``tools/analyze_errors.py`` prints."""
    names = ('AP', 'AP .5', 'AP .75', 'AP (M)', 'AP (L)', 'AR')
    lines = [
        f'Error analysis on {results["num_images"]} images (same decoder and CocoMetric for every row)',
        f"{'':40s}" + ''.join(f'{n:>8s}' for n in names)
    ]
    labels = {
        'model': 'model (predicted heatmaps + tags)',
        'oracle tags': 'oracle tags (grouping removed)',
        'oracle heatmaps': 'oracle heatmaps (detection removed)',
        'both oracles': 'both oracles'
    }
    for variant, values in results['metrics'].items():
        row = ''.join(f'{values.get(n, float("nan")):8.3f}' for n in names)
        lines.append(f'{labels.get(variant, variant):40s}{row}')
    stats: DetectionStats = results['detection']
    bins = ', '.join(f'{lo:g}-{hi:g} px: {r:.2f}' if np.isfinite(hi) else f'>= {lo:g} px: {r:.2f}'
                     for (lo, hi), r in zip(HEIGHT_BINS, stats.recall_by_height()))
    vis = stats.recall_by_visibility()
    lines += [
        f'keypoint detection (candidates within {results.get("match_radius_px", float("nan")):g} input px of a '
        f'labelled joint): precision {stats.precision:.3f} ({stats.matched}/{stats.candidates}), recall '
        f'{stats.recall:.3f} ({stats.matched}/{stats.labelled})',
        f'  recall by person height (input px): {bins}; occluded (v=1) {vis[1]:.2f}, visible (v=2) {vis[2]:.2f}',
    ]
    return lines


# ------------------------------------------------------------------------------------------- AP by person size
#: Person-size bins for :func:`ap_by_person_size`, as sqrt(annotation area) in image px. COCO's own split (medium
#: 32-96, large >= 96) leaves the built-in set almost entirely "medium"; these bins split it in rough thirds.
SIZE_BINS_SQRT_AREA = ((0.0, 40.0), (40.0, 56.0), (56.0, float('inf')))


def ap_by_person_size(ann_file: str,
                      result_file: str,
                      bins: Sequence[Tuple[float, float]] = SIZE_BINS_SQRT_AREA,
                      sigmas: Optional[np.ndarray] = None) -> Dict[str, float]:
    """COCO keypoint AP restricted to people of each size bin (the split where SWAHR claims its gain).

    The same evaluation as ``CocoMetric`` (xtcocotools ``COCOeval``, ``iouType='keypoints'``, 20 detections per
    image), with ``areaRng`` set to the bins: people outside a bin are ignored for that bin, as COCO does for its
    medium / large split.

    Args:
        ann_file: COCO keypoint annotation file (image px).
        result_file: COCO results JSON (``<outfile_prefix>.keypoints.json`` written by ``CocoMetric``).
        bins: (low, high) sqrt(area) ranges in image px.
        sigmas: (K,) per-keypoint OKS sigmas; default COCO's 17.

    Returns:
        ``{'<low>-<high>': AP}`` (``'>=<low>'`` for the open last bin); -1 where a bin holds no person.
    """
    import contextlib
    import io

    from xtcocotools.coco import COCO
    from xtcocotools.cocoeval import COCOeval

    with contextlib.redirect_stdout(io.StringIO()):  # xtcocotools prints progress for every step
        ground_truth = COCO(ann_file)
        with open(result_file) as f:
            results = json.load(f)
        if not results:
            return {_bin_name(lo, hi): 0.0 for lo, hi in bins}
        evaluator = COCOeval(ground_truth, ground_truth.loadRes(results), 'keypoints', sigmas, use_area=True)
        evaluator.params.areaRng = [[lo**2, min(hi**2, 1e10)] for lo, hi in bins]
        evaluator.params.areaRngLbl = [_bin_name(lo, hi) for lo, hi in bins]
        evaluator.params.maxDets = [20]
        evaluator.evaluate()
        evaluator.accumulate()
    precision = evaluator.eval['precision']  # (IoU thresholds, recall points, classes, area bins, max dets)
    out = {}
    for a, name in enumerate(evaluator.params.areaRngLbl):
        values = precision[:, :, :, a, 0]
        values = values[values > -1]
        out[name] = float(values.mean()) if values.size else -1.0
    return out


def _bin_name(low: float, high: float) -> str:
    return f'>={low:g}' if not np.isfinite(high) else f'{low:g}-{high:g}'
