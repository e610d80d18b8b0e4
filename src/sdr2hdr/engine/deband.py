"""--deband: bit-depth expansion of 8-bit SDR frames before the inverse mapping, so 1-code steps do not grow into
bands when the expansion stretches them.

Where a neighbourhood is smooth (every channel within DEBAND_THRESHOLD codes of its local mean), the pixel is
replaced by that mean: the mean of a staircase is the ramp it was quantised from, with sub-code precision. Near
edges and texture (larger differences) the pixel is kept; in between the two are blended, so no hard seam forms.
The local mean is a box filter applied twice (a tent of radius 2 * radius), which keeps a linear ramp exactly.
"""

from __future__ import annotations

import numpy as np

DEBAND_RADIUS = 8  # pixels: a step of 8-bit sky is usually tens of pixels wide, the tent reaches 16 either way
DEBAND_THRESHOLD = 2.5  # 8-bit codes: larger local differences are detail, left as they are


def deband(rgb: np.ndarray, radius: int = DEBAND_RADIUS, threshold: float = DEBAND_THRESHOLD) -> np.ndarray:
    """Float HWC R'G'B' [0, 1] from an 8-bit source -> the same with its smooth areas' quantisation steps filled."""
    import cv2

    x = np.ascontiguousarray(rgb, dtype=np.float32)
    k = (2 * radius + 1, 2 * radius + 1)
    mean = cv2.blur(cv2.blur(x, k, borderType=cv2.BORDER_REFLECT), k, borderType=cv2.BORDER_REFLECT)
    diff = np.abs(x - mean).max(axis=-1, keepdims=True) * 255.0
    w = np.clip(1.0 - diff / threshold, 0.0, 1.0)  # 1 where smooth, 0 at edges and texture
    return (x + w * (mean - x)).astype(np.float32)
