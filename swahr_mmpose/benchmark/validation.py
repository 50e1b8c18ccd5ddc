"""Validation speed per image at a config's test settings, split into network / aggregation / grouping, with MMPose's
AE decoder timed on the same maps.

The timed call is MMPose's ``inference_bottomup(model, img)`` (the config's test pipeline, ``model.test_step`` with
the config's ``test_cfg``: flip test, and for a multi-scale config every scale) on a 640x480 synthetic image. Inside
it, three parts are timed by wrapping the model's own methods for the duration of the run:

* **network**: ``extract_feat`` (backbone, once per pass and scale) and ``SWAHRHead.forward`` (the head, once per pass
  and scale, called from the aggregation);
* **grouping**: the head decoder's ``batch_decode`` (``AEDecoder``: candidates, tag matching, refinement);
* **aggregation + rest**: everything else of the call: flipping back, level / pass / scale averaging and resizing
  to the input canvas, the test pipeline's resize and the data preprocessor, mapping poses to image px.

Without trained weights the network's maps are noise, so grouping time says nothing about real images there.
Grouping is therefore also timed on synthetic SWAHR-like maps (:func:`swahr_mmpose.testing.make_synthetic_ae_maps`)
at the same canvas size, tag channels and joint count, with 1, 10 and 30 people, for our ``AEDecoder`` (the config's
codec) and for MMPose's ``AssociativeEmbedding`` decoder (uncapped, see :mod:`.decoder`); a validation image with N
people costs about network + aggregation + grouping(N). Network and aggregation do not depend on the image content.
"""
import time
from typing import Dict, Optional, Sequence

import torch
from mmpose.codecs import AssociativeEmbedding

from swahr_mmpose.codecs import REFERENCE_KEYPOINT_ORDER
from swahr_mmpose.testing import make_synthetic_ae_maps
from .timing import median_seconds


def _sync(device: torch.device) -> None:
    if device.type == 'cuda':
        torch.cuda.synchronize(device)


class _Stopwatch:
    """Wraps ``obj.name`` so that its calls add their seconds to ``self.seconds`` (restored by :meth:`restore`)."""

    def __init__(self, obj, name: str, device: torch.device, keep_args: bool = False) -> None:
        self.obj, self.name, self.device, self.keep_args = obj, name, device, keep_args
        self.original = getattr(obj, name)
        self.seconds, self.args = 0.0, None
        had_own = name in vars(obj)

        def wrapped(*args, **kwargs):
            _sync(device)
            start = time.perf_counter()
            out = self.original(*args, **kwargs)
            _sync(device)
            self.seconds += time.perf_counter() - start
            if keep_args:
                self.args = args
            return out

        self._had_own = had_own
        setattr(obj, name, wrapped)

    def restore(self) -> None:
        if self._had_own:
            setattr(self.obj, self.name, self.original)
        else:
            delattr(self.obj, self.name)


def mmpose_decoder(canvas: Sequence[int], num_keypoints: int) -> AssociativeEmbedding:
    """MMPose's AE decoder as in :func:`.decoder.mmpose_ae_codec`, uncapped, for ``num_keypoints`` joints."""
    order = list(REFERENCE_KEYPOINT_ORDER) if num_keypoints == 17 else list(range(num_keypoints))
    return AssociativeEmbedding(
        input_size=tuple(canvas),
        heatmap_size=tuple(canvas),
        sigma=2,
        decode_keypoint_order=order,
        decode_nms_kernel=5,
        decode_topk=30,
        decode_center_shift=0.5,
        decode_max_instances=None)


def time_validation(model, img, device: torch.device, repeats: int = 1, warmup: int = 1) -> Dict[str, object]:
    """Median seconds of ``inference_bottomup(model, img)`` and its parts (module docstring)."""
    from mmpose.apis import inference_bottomup

    runs = []
    canvas = tags_per_joint = None
    for i in range(warmup + repeats):
        watches = [
            _Stopwatch(model, 'extract_feat', device),
            _Stopwatch(model.head, 'forward', device),
            _Stopwatch(model.head.decoder, 'batch_decode', device, keep_args=True)
        ]
        try:
            _sync(device)
            start = time.perf_counter()
            inference_bottomup(model, img)
            _sync(device)
            total = time.perf_counter() - start
        finally:
            for w in reversed(watches):
                w.restore()
        heatmaps, tags = watches[2].args[:2]
        canvas = (int(heatmaps.shape[-1]), int(heatmaps.shape[-2]))
        tags_per_joint = int(tags.shape[1]) // int(heatmaps.shape[1])
        network = watches[0].seconds + watches[1].seconds
        runs.append(
            dict(
                total_s=total,
                network_s=network,
                grouping_noise_s=watches[2].seconds,
                aggregation_s=total - network - watches[2].seconds))
    runs = runs[warmup:]
    result = {k: sorted(r[k] for r in runs)[len(runs) // 2] for k in runs[0]}
    result.update(canvas=canvas, tags_per_joint=tags_per_joint)
    return result


def time_grouping(canvas: Sequence[int],
                  num_keypoints: int,
                  tags_per_joint: int,
                  decoder,
                  people=(1, 10, 30),
                  repeats: int = 3,
                  device: Optional[torch.device] = None,
                  seed: int = 0) -> Dict[int, dict]:
    """Seconds per image of ``decoder`` (ours) and MMPose's AE decoder on synthetic maps with ``people`` persons."""
    device = torch.device(device or 'cpu')
    theirs = mmpose_decoder(canvas, num_keypoints)
    rows = {}
    for n in people:
        sample = make_synthetic_ae_maps(
            n, num_keypoints=num_keypoints, canvas_size=tuple(canvas), tag_dim=tags_per_joint, seed=seed + n)
        heatmaps, tags = sample.heatmaps[None].to(device), sample.tags[None].to(device)
        found = int(decoder.batch_decode(heatmaps, tags)[0][0].shape[0])
        rows[n] = dict(
            ours_s=median_seconds(lambda: decoder.batch_decode(heatmaps, tags), repeats, 1, device),
            mmpose_s=median_seconds(lambda: theirs.batch_decode(heatmaps, tags), repeats, 1, device),
            found=found)
    return rows
