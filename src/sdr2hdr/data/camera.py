"""A virtual camera over an HDR still: smooth sub-pixel pan, zoom and roll, so clip frames differ by real motion.

Classes and functions
- CameraPose: centre (source pixels), zoom (output pixels per source pixel) and roll (degrees)
- CameraPath: two poses and an eased interpolation between them; pose(t) for t in [0, 1]
- random_path(rng, src_hw, out_hw, ...) -> CameraPath that keeps the view inside the image
- render(image, pose, out_hw) -> the view, resampled with an antialiasing prefilter when zoomed out and clamped to
  the local source range (no ringing around highlights)
- PanoPose, PanoPath, random_pano_path, render_equirect: the same for equirectangular panoramas, with a real
  pinhole camera (yaw, pitch, roll, field of view) instead of a crop window
- pano_zoom, fov_for_zoom: the view centre's sampling density against the panorama's

Works on any float HWC array (linear light); values stay non-negative.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import cv2
import numpy as np


def _ease(t: float) -> float:
    """Cosine ease of t in [0, 1] (clipped): zero speed at both ends, so a move starts and stops without a jerk."""
    return 0.5 - 0.5 * math.cos(math.pi * min(max(t, 0.0), 1.0))


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
        s = _ease(t)
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
    lo, hi = (cv2.warpAffine(b, m, (w, h), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                             borderMode=cv2.BORDER_REFLECT) for b in _local_range(src))
    return _deringed(out, lo, hi)


def _local_range(src: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel 3x3 minimum and maximum: bounds that every sample between neighbouring pixels respects."""
    k = np.ones((3, 3), np.uint8)
    return (cv2.erode(src, k, borderType=cv2.BORDER_REFLECT), cv2.dilate(src, k, borderType=cv2.BORDER_REFLECT))


def _deringed(out: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Clamp bicubic samples to the local range of the source.

    Bicubic kernels have negative lobes: next to a highlight hundreds of times brighter than its surroundings
    (the sun, a candle) they ring to far below the local minimum, even below zero, which shows as black and
    coloured specks after tone mapping. Clamping keeps bicubic sharpness elsewhere and never makes negative light.
    """
    np.clip(out, lo, hi, out=out)
    return np.maximum(out, 0.0)


# --- equirectangular panoramas: a real perspective camera instead of a crop window ---------------------------

@dataclass(frozen=True)
class PanoPose:
    """A pinhole camera inside a panorama: yaw (right +), pitch (up +), roll, horizontal field of view; degrees."""

    yaw: float
    pitch: float
    fov: float
    roll: float = 0.0


@dataclass(frozen=True)
class PanoPath:
    """Eased motion between two panorama poses (same cosine ease as CameraPath; fov interpolated in tan space)."""

    start: PanoPose
    end: PanoPose

    def pose(self, t: float) -> PanoPose:
        s = _ease(t)
        a, b = self.start, self.end
        # the focal length is what a zoom lens changes: interpolating it geometrically gives a uniform zoom
        fa, fb = 1 / math.tan(math.radians(a.fov) / 2), 1 / math.tan(math.radians(b.fov) / 2)
        f = fa * (fb / fa) ** s
        return PanoPose(a.yaw + (b.yaw - a.yaw) * s, a.pitch + (b.pitch - a.pitch) * s,
                        math.degrees(2 * math.atan(1 / f)), a.roll + (b.roll - a.roll) * s)

    def to_dict(self) -> dict:
        return {"start": asdict(self.start), "end": asdict(self.end)}


def pano_zoom(src_width: int, out_width: int, fov: float) -> float:
    """Output pixels per source pixel at the view centre for a horizontal fov (degrees) on an equirect of src_width."""
    f_out = out_width / 2 / math.tan(math.radians(fov) / 2)
    return f_out / (src_width / (2 * math.pi))


def fov_for_zoom(src_width: int, out_width: int, zoom: float) -> float:
    """The horizontal fov (degrees) at which the view centre has the given zoom; inverse of pano_zoom."""
    f_out = zoom * src_width / (2 * math.pi)
    return math.degrees(2 * math.atan(out_width / 2 / f_out))


def random_pano_path(rng: np.random.Generator, src_hw: tuple[int, int], out_hw: tuple[int, int],
                     fov_range: tuple[float, float] = (55.0, 110.0), max_zoom: float = 1.5,
                     max_pan: float = 20.0, max_pitch: float = 15.0, max_roll: float = 3.0,
                     zoom_range: tuple[float, float] = (0.9, 1.15)) -> PanoPath:
    """A random look-around: yaw anywhere, pitch near the horizon, a pan of up to max_pan degrees, small roll.

    The fov is drawn so that the view centre is never upsampled more than max_zoom (fov_range permitting), so
    small panoramas get wide views instead of blurry ones.
    """
    H, W = src_hw
    h, w = out_hw
    lo = max(fov_range[0], fov_for_zoom(W, w, max_zoom))
    hi = max(lo, fov_range[1])
    fov0 = float(rng.uniform(lo, hi))
    yaw0 = float(rng.uniform(-180.0, 180.0))
    pitch0 = float(rng.uniform(-max_pitch, max_pitch))
    start = PanoPose(yaw0, pitch0, fov0, float(rng.uniform(-max_roll, max_roll)))
    # zoom_range > 1 narrows the view: divide the focal-length change into the fov
    z = float(rng.uniform(*zoom_range))
    fov1 = math.degrees(2 * math.atan(math.tan(math.radians(fov0) / 2) / z))
    fov1 = min(max(fov1, lo), hi)
    end = PanoPose(yaw0 + float(rng.uniform(-max_pan, max_pan)),
                   float(np.clip(pitch0 + rng.uniform(-max_pan, max_pan) / 2, -max_pitch, max_pitch)),
                   fov1, float(rng.uniform(-max_roll, max_roll)))
    return PanoPath(start, end)


def render_equirect(pano: np.ndarray, pose: PanoPose, out_hw: tuple[int, int],
                    prefiltered: dict | None = None) -> np.ndarray:
    """A pinhole camera's view of an equirectangular panorama (float HWC, linear light), bicubic.

    Longitude wraps around; the source is low-passed first (Gaussian) when the view centre would be downsampled.
    prefiltered caches the blurred copies by blur level across a clip's frames, as in render().
    """
    H, W = pano.shape[:2]
    h, w = out_hw
    zoom = pano_zoom(W, w, pose.fov)
    src = pano
    if zoom < 1.0:
        sigma = round(0.5 * math.sqrt(1.0 / zoom ** 2 - 1.0), 2)
        if sigma > 0.05:
            if prefiltered is not None and sigma in prefiltered:
                src = prefiltered[sigma]
            else:
                src = _wrap_blur(pano, sigma)
                if prefiltered is not None:
                    prefiltered[sigma] = src
    f = w / 2 / math.tan(math.radians(pose.fov) / 2)
    v, u = np.mgrid[0:h, 0:w].astype(np.float64)
    # camera rays: x right, y down, z forward
    x, y, z = (u - (w - 1) / 2) / f, (v - (h - 1) / 2) / f, np.ones_like(u)
    rays = np.stack([x, y, z], axis=-1) @ _rotation(pose).T
    lon = np.arctan2(rays[..., 0], rays[..., 2])
    lat = np.arcsin(np.clip(rays[..., 1] / np.linalg.norm(rays, axis=-1), -1.0, 1.0))
    pad = 4  # taps the bicubic kernel needs beyond the edge: longitude wraps, latitude mirrors
    padded = np.concatenate([src[:, -pad:], src, src[:, :pad]], axis=1)
    padded = cv2.copyMakeBorder(padded, pad, pad, 0, 0, cv2.BORDER_REFLECT)
    mx = np.mod((lon / (2 * math.pi) + 0.5) * W - 0.5, W) + pad
    my = (lat / math.pi + 0.5) * H - 0.5 + pad
    padded = np.ascontiguousarray(padded, dtype=np.float32)
    mx, my = mx.astype(np.float32), my.astype(np.float32)
    out = cv2.remap(padded, mx, my, interpolation=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REFLECT)
    lo, hi = (cv2.remap(b, mx, my, interpolation=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
              for b in _local_range(padded))
    return _deringed(out, lo, hi)


def _rotation(pose: PanoPose) -> np.ndarray:
    """Camera -> world rotation: roll about the view axis, then pitch (up positive), then yaw (right positive)."""
    r, p, yw = (math.radians(a) for a in (pose.roll, pose.pitch, pose.yaw))
    Rz = np.array([[math.cos(r), -math.sin(r), 0], [math.sin(r), math.cos(r), 0], [0, 0, 1]])
    # y points down, so looking up is a negative rotation about x
    Rx = np.array([[1, 0, 0], [0, math.cos(p), -math.sin(p)], [0, math.sin(p), math.cos(p)]])
    Ry = np.array([[math.cos(yw), 0, math.sin(yw)], [0, 1, 0], [-math.sin(yw), 0, math.cos(yw)]])
    return Ry @ Rx @ Rz


def _wrap_blur(pano: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian blur that wraps around in longitude (a seam-free low-pass of a panorama)."""
    pad = int(math.ceil(3 * sigma)) + 1
    wrapped = np.concatenate([pano[:, -pad:], pano, pano[:, :pad]], axis=1)
    blurred = cv2.GaussianBlur(wrapped, (0, 0), sigmaX=sigma, sigmaY=sigma, borderType=cv2.BORDER_REFLECT)
    return blurred[:, pad:-pad]
