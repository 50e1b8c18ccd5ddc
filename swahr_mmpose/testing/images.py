"""Synthetic test images for benchmarks and export checks (no data set needed)."""
from typing import List, Tuple

import numpy as np


def make_images(num: int, size: Tuple[int, int], source: str = 'scene', seed: int = 0) -> List[np.ndarray]:
    """``num`` uint8 BGR (H, W, 3) images of ``size`` = (W, H): ``scene`` renders the project's synthetic people
    (figures on textured backgrounds, one random scene per image), ``noise`` is uniform noise."""
    width, height = size
    if source == 'noise':
        rng = np.random.default_rng(seed)
        return [rng.integers(0, 256, (height, width, 3), dtype=np.uint8) for _ in range(num)]
    if source == 'scene':
        from swahr_mmpose.datasets.synthetic import SceneConfig, render_scene
        scene = SceneConfig(image_size=(width, height))
        return [render_scene(np.random.default_rng(seed + i), scene)[0] for i in range(num)]
    raise ValueError(f'unknown image source {source!r}: use "scene" or "noise"')
