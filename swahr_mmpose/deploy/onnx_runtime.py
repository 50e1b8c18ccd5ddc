"""Pose estimation with an exported model on ONNX Runtime, without MMEngine's runner or the PyTorch model.

:class:`ONNXRuntimePoseEstimator` does per image what ``inference_bottomup`` (``model.test_step``) does with the
PyTorch model, in four steps:

1. **test resize**: ``ReferenceBottomupResize`` with the config's parameters (stored in the model's metadata): the
   (H, W, 3) BGR image -> a (h, w, 3) canvas whose short side is the input size and long side a multiple of 64,
   plus ``input_size`` / ``input_center`` / ``input_scale`` for the way back;
2. **ONNX Runtime**: the canvas as (1, 3, h, w) float32 BGR 0..255 -> ``heatmaps`` (1, K, h, w) and ``tags``
   (1, L*K, h, w) on the canvas (normalisation, flip pass and test-time aggregation are inside the graph, see
   :mod:`swahr_mmpose.deploy.onnx_export`);
3. **decode**: the config's codec (``MultiLevelAssociativeEmbedding`` -> ``AEDecoder``) groups the maps into people
   -> keypoints (N, K, 2) in **input px** (canvas pixels), keypoint scores (N, K), person scores (N,);
4. **projection**: input px -> **image px** with MMPose's ``BottomupPoseEstimator`` formula
   ``kpts / input_size * input_scale + input_center - input_scale / 2``.

Only NumPy, OpenCV, ONNX Runtime, PyTorch (tensor ops of the decoder) and the registries of MMPose / this package
(to build the transform and the codec by name) are used.
"""
import json
import time
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np

from .onnx_export import METADATA_KEY, METADATA_VERSION


@dataclass
class PosePrediction:
    """The people found in one image.

    Attributes:
        keypoints: (N, K, 2) float64, (x, y) in image px.
        keypoint_scores: (N, K) float32, the heatmap value at each joint.
        scores: (N,) float32, the person score (mean joint score, as the reference / ``bbox_scores``).
        geometry: the test resize's ``input_size`` ((w, h) of the canvas), ``input_center``, ``input_scale``.
    """
    keypoints: np.ndarray
    keypoint_scores: np.ndarray
    scores: np.ndarray
    geometry: Dict[str, Any] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.keypoints)


class ONNXRuntimePoseEstimator:
    """Bottom-up pose estimation with an ``.onnx`` file written by :func:`~swahr_mmpose.deploy.export_onnx`.

    Args:
        model_path: the exported model (``outputs='aggregated'``; its metadata carries the test resize, the codec
            and the dataset's keypoint meta).
        providers: ONNX Runtime execution providers, best first; default: :func:`providers_for_device` ``('auto')``,
            i.e. CUDA when the installed ONNX Runtime build has it, then CPU.
        num_threads: intra-op threads of the session (default: ONNX Runtime's choice, one per core).
        session_options: an ``onnxruntime.SessionOptions`` to use as is (``num_threads`` is then ignored).

    Example::

        estimator = ONNXRuntimePoseEstimator('swahr_w32.onnx')
        people = estimator(cv2.imread('image.jpg'))   # keypoints (N, 17, 2) in image px
    """

    def __init__(self,
                 model_path: str,
                 providers: Optional[Sequence[str]] = None,
                 num_threads: Optional[int] = None,
                 session_options: Any = None) -> None:
        try:
            import onnxruntime as ort
        except ImportError as err:
            raise ImportError('ONNXRuntimePoseEstimator needs onnxruntime: pip install "swahr_mmpose[deploy]" (or '
                              'onnxruntime-gpu for CUDA)') from err
        from mmpose.registry import KEYPOINT_CODECS

        import swahr_mmpose.codecs  # noqa: F401  (registers the codec)
        from swahr_mmpose.datasets.transforms.reference_resize import ReferenceBottomupResize

        if session_options is None:
            session_options = ort.SessionOptions()
            if num_threads:
                session_options.intra_op_num_threads = int(num_threads)
        self.session = ort.InferenceSession(
            model_path, sess_options=session_options, providers=list(providers or providers_for_device('auto')))
        props = self.session.get_modelmeta().custom_metadata_map
        if METADATA_KEY not in props:
            raise ValueError(f'{model_path} has no {METADATA_KEY!r} metadata: export it with '
                             'tools/deploy/export_onnx.py (CONFIG CHECKPOINT --out MODEL.onnx)')
        self.metadata: Dict[str, Any] = json.loads(props[METADATA_KEY])
        if self.metadata.get('format_version') != METADATA_VERSION:
            raise ValueError(f'{model_path}: metadata format {self.metadata.get("format_version")} is not the '
                             f'{METADATA_VERSION} this version reads; re-export the model')
        if self.metadata['outputs'] != 'aggregated':
            raise ValueError(f'{model_path} was exported with outputs={self.metadata["outputs"]!r}; '
                             'ONNXRuntimePoseEstimator decodes the aggregated maps: re-export without --raw')
        self.resize = ReferenceBottomupResize(**self.metadata['test_resize'])
        self.decoder = KEYPOINT_CODECS.build(dict(self.metadata['codec']))
        self.input_name = self.session.get_inputs()[0].name
        self.output_names = [o.name for o in self.session.get_outputs()]
        self.last_seconds: Dict[str, float] = {}

    # --------------------------------------------------------------------------------------------------- props
    @property
    def dataset_meta(self) -> Dict[str, Any]:
        """Keypoint meta of the training set (``dataset_name``, ``num_keypoints``, ``flip_indices``,
        ``skeleton_links``, ``keypoint_id2name`` with int keys)."""
        meta = dict(self.metadata.get('dataset_meta', {}))
        if 'keypoint_id2name' in meta:
            meta['keypoint_id2name'] = {int(k): v for k, v in meta['keypoint_id2name'].items()}
        return meta

    @property
    def flip_test(self) -> bool:
        """Whether the graph contains the flipped pass."""
        return bool(self.metadata['flip_test'])

    @property
    def providers(self) -> Sequence[str]:
        return self.session.get_providers()

    # ---------------------------------------------------------------------------------------------------- steps
    def preprocess(self, img: np.ndarray) -> Tuple[np.ndarray, Dict[str, Any]]:
        """(H, W, 3) uint8 BGR image -> the (1, 3, h, w) float32 network input and the resize geometry."""
        if not isinstance(img, np.ndarray) or img.ndim != 3 or img.shape[2] != 3:
            raise ValueError('ONNXRuntimePoseEstimator expects one (H, W, 3) BGR image array (as cv2.imread gives), '
                             f'got {type(img).__name__} {getattr(img, "shape", "")}')
        resized = self.resize(dict(img=img))
        canvas = resized['img']
        image = np.ascontiguousarray(canvas.transpose(2, 0, 1)[None], dtype=np.float32)
        geometry = {k: resized[k] for k in ('input_size', 'input_center', 'input_scale')}
        return image, geometry

    def run_network(self, image: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
        """(B, 3, h, w) float32 canvas -> heatmaps (B, K, h, w) and tags (B, L*K, h, w), input px."""
        heatmaps, tags = self.session.run(self.output_names, {self.input_name: image})
        return heatmaps, tags

    def decode(self, heatmaps: np.ndarray, tags: np.ndarray, geometry: Dict[str, Any]) -> PosePrediction:
        """Group one image's maps ((1, K, h, w), (1, L*K, h, w)) and map the keypoints to image px."""
        from swahr_mmpose.datasets.transforms.reference_resize import canvas_to_image

        keypoints, keypoint_scores, scores = self.decoder.batch_decode(heatmaps, tags)
        return PosePrediction(canvas_to_image(keypoints[0], geometry), keypoint_scores[0], scores[0], geometry)

    def __call__(self, img: np.ndarray) -> PosePrediction:
        """The people in one (H, W, 3) uint8 BGR image; ``last_seconds`` gets the time of each step."""
        t0 = time.perf_counter()
        image, geometry = self.preprocess(img)
        t1 = time.perf_counter()
        heatmaps, tags = self.run_network(image)
        t2 = time.perf_counter()
        prediction = self.decode(heatmaps, tags, geometry)
        t3 = time.perf_counter()
        self.last_seconds = dict(resize=t1 - t0, network=t2 - t1, decode=t3 - t2)
        return prediction


def providers_for_device(device: str = 'auto') -> List[str]:
    """ONNX Runtime execution providers for a PyTorch-style device name: CUDA first for ``'cuda'`` / ``'cuda:N'``
    (or ``'auto'``) when the installed ONNX Runtime has it, CPU always last."""
    import onnxruntime as ort

    available = ort.get_available_providers()
    wanted = ([] if device == 'cpu' else ['CUDAExecutionProvider']) + ['CPUExecutionProvider']
    return [p for p in wanted if p in available]


def to_pose_data_sample(prediction: PosePrediction, img_shape: Tuple[int, int], img_path: Optional[str] = None):
    """A ``PoseDataSample`` with ``pred_instances`` (keypoints, keypoint_scores, keypoints_visible, bbox_scores) as
    ``inference_bottomup`` returns it, for MMPose's visualizers and JSON writers."""
    from mmengine.structures import InstanceData
    from mmpose.structures import PoseDataSample

    sample = PoseDataSample(
        metainfo=dict(img_shape=tuple(img_shape), ori_shape=tuple(img_shape), img_path=img_path, **prediction.geometry))
    sample.pred_instances = InstanceData(
        keypoints=prediction.keypoints,
        keypoint_scores=prediction.keypoint_scores,
        keypoints_visible=prediction.keypoint_scores,
        bbox_scores=prediction.scores)
    return sample
