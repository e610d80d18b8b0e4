"""A virtual camera over an HDR still: smooth sub-pixel pan, zoom and roll, so clip frames differ by real motion.

Classes and functions
- CameraPose: centre (source pixels), zoom (output pixels per source pixel) and roll (degrees)
- CameraPath: two poses and an eased interpolation between them; pose(t) for t in [0, 1]
- random_path(rng, src_hw, out_hw, ...) -> CameraPath that keeps the view inside the image
- render(image, pose, out_hw) -> the view, resampled with an antialiasing prefilter when zoomed out

Works on any float HWC array (linear light); values stay non-negative.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import cv2
import numpy as np


@dataclass(frozen=True)
class CameraPose:
    """Where the camera looks: centre (x, y) in source pixels, zoom (output px per source px), roll in degrees."""

    cx: float
    cy: float
    zoom: float
    roll: float = 0.0


@dataclass(frozen=True)
class CameraPath:
    """Eased motion between two poses (cosine ease: zero speed at both ends, no jerk at the start)."""

    start: CameraPose
    end: CameraPose

    def pose(self, t: float) -> CameraPose:
        s = 0.5 - 0.5 * math.cos(math.pi * min(max(t, 0.0), 1.0))
        a, b = self.start, self.end
        # zoom is interpolated geometrically so that a zoom-in feels uniform
        return CameraPose(a.cx + (b.cx - a.cx) * s, a.cy + (b.cy - a.cy) * s,
                          a.zoom * (b.zoom / a.zoom) ** s, a.roll + (b.roll - a.roll) * s)

    def to_dict(self) -> dict:
        return {"start": asdict(self.start), "end": asdict(self.end)}


def _half_extent(out_hw: tuple[int, int], zoom: float, roll: float) -> tuple[float, float]:
    """Half width and height, in source pixels, of the rotated view's bounding box."""
    h, w = out_hw
    c, s = abs(math.cos(math.radians(roll))), abs(math.sin(math.radians(roll)))
    hw, hh = w / (2 * zoom), h / (2 * zoom)
    return hw * c + hh * s, hw * s + hh * c


def random_path(rng: np.random.Generator, src_hw: tuple[int, int], out_hw: tuple[int, int],
                max_shift: float = 0.25, zoom_range: tuple[float, float] = (0.9, 1.15), max_roll: float = 3.0,
                base_zoom: float | None = None) -> CameraPath:
    """A random pan / zoom / roll that keeps the whole view inside the source image.

    max_shift is the largest pan as a fraction of the output width; base_zoom defaults to the zoom at which the
    output just fits the source with some room to move (1.3x margin).
    """
    H, W = src_hw
    h, w = out_hw
    fit = max(w / W, h / H) * 1.3
    z0 = max(base_zoom or fit, fit)

    def pose(zoom: float, roll: float, near: tuple[float, float] | None) -> CameraPose:
        ex, ey = _half_extent(out_hw, zoom, roll)
        lo_x, hi_x, lo_y, hi_y = ex, W - ex, ey, H - ey
        if near is not None:
            r = max_shift * w / zoom
            lo_x, hi_x = max(lo_x, near[0] - r), min(hi_x, near[0] + r)
            lo_y, hi_y = max(lo_y, near[1] - r), min(hi_y, near[1] + r)
        cx = rng.uniform(lo_x, hi_x) if hi_x > lo_x else W / 2
        cy = rng.uniform(lo_y, hi_y) if hi_y > lo_y else H / 2
        return CameraPose(float(cx), float(cy), float(zoom), float(roll))

    start = pose(z0 * rng.uniform(1.0, zoom_range[1]), rng.uniform(-max_roll, max_roll), None)
    end = pose(max(fit, start.zoom * rng.uniform(*zoom_range)), rng.uniform(-max_roll, max_roll),
               (start.cx, start.cy))
    return CameraPath(start, end)


def render(image: np.ndarray, pose: CameraPose, out_hw: tuple[int, int],
           prefiltered: dict | None = None) -> np.ndarray:
    """The camera's view of image (float HWC, linear light): bicubic resampling, Gaussian prefilter when zoomed out.

    prefiltered, if given, caches blurred copies of the image by blur level across the frames of one clip.
    """
    h, w = out_hw
    sigma = 0.0
    if pose.zoom < 1.0:
        # antialias: the source's frequencies above the output's Nyquist are removed before resampling
        sigma = round(0.5 * math.sqrt(1.0 / pose.zoom ** 2 - 1.0), 2)
    src = image
    if sigma > 0.05:
        key = sigma
        if prefiltered is not None and key in prefiltered:
            src = prefiltered[key]
        else:
            src = cv2.GaussianBlur(image, (0, 0), sigmaX=sigma, sigmaY=sigma, borderType=cv2.BORDER_REFLECT)
            if prefiltered is not None:
                prefiltered[key] = src
    a = math.radians(pose.roll)
    c, s = math.cos(a) / pose.zoom, math.sin(a) / pose.zoom
    # output (u, v) -> source (x, y): rotate and scale about the output centre, then move to the camera centre
    m = np.array([[c, -s, pose.cx - c * (w - 1) / 2 + s * (h - 1) / 2],
                  [s, c, pose.cy - s * (w - 1) / 2 - c * (h - 1) / 2]], dtype=np.float64)
    out = cv2.warpAffine(src, m, (w, h), flags=cv2.INTER_CUBIC | cv2.WARP_INVERSE_MAP,
                         borderMode=cv2.BORDER_REFLECT)
    return np.maximum(out, 0.0)  # bicubic overshoot must not make negative light
