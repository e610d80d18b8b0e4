"""Inverses of the forward curves, for SDR known to come from an HDR master through one (convert --source-tmo).

A broadcaster that down-converts its HDR master with BT.2446 A or C, or a pipeline that tone maps with Hable or
Reinhard, can tell the converter so: the exact inverse of that curve then undoes the tone mapping, and only the
coding artifacts, the 8-bit quantisation and the BT.709 gamut clip remain to be restored (engine.informed).

BT.2446 A and C use their standard inverses (tonemap.inverse). The others are inverted numerically, with the
forward curve's default parameters (tonemap.forward): the curve is sampled on a log grid of HDR levels and the
SDR level is looked up in it. Per-channel curves (BT.2390 EETF on R'G'B', Hable, the camera model) invert each
channel; Reinhard inverts luminance and keeps the colour ratios. The SDR is taken back to BT.2020 light first
(BT.1886, BT.2087 matrix), as the forward path left it before its gamut clip.

Functions
- source_inverse(name) -> f(SDR R'G'B' BT.709 [0, 1], numpy HWC or NC) -> PQ R'G'B' BT.2020
- SOURCE_TMOS: the names convert --source-tmo accepts
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..color.gamut import BT709_TO_BT2020
from ..color.transfer import pq_inverse_eotf
from .forward import camera_model, eetf_to_sdr, hable, reinhard
from .inverse import SDR_GAMMA, bt2446a_inverse, bt2446c_inverse

__all__ = ["SOURCE_TMOS", "source_inverse"]

SOURCE_TMOS = ("bt2446a", "bt2446c", "bt2390", "hable", "reinhard", "camera")
_Y2020 = np.array([0.2627, 0.6780, 0.0593])
# The camera model's typical setting (the middle of the data builder's draw): exposure 0.55, gain 1, gamma 2.3.
CAMERA_DEFAULTS = {"exposure": 0.55, "gain": 1.0, "gamma": 2.3}


def _table(curve: Callable[[np.ndarray], np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """(SDR levels, HDR cd/m2) of a monotonic curve sampled from 1e-4 to 10000 cd/m2, SDR strictly increasing."""
    nits = np.geomspace(1e-4, 10000.0, 8192)
    sdr = np.asarray(curve(np.repeat(nits[:, None], 3, 1)), dtype=np.float64)[:, 0]
    keep = np.concatenate([[True], np.diff(sdr) > 1e-9])  # drop the flat part above the clip
    return sdr[keep], nits[keep]


def _sdr_light_2020(sdr: np.ndarray) -> np.ndarray:
    lin709 = np.power(np.clip(np.asarray(sdr, dtype=np.float32), 0.0, 1.0), SDR_GAMMA)
    return np.maximum(lin709 @ BT709_TO_BT2020.T.astype(np.float32), 0.0)


def _per_channel(curve) -> Callable[[np.ndarray], np.ndarray]:
    levels, nits = _table(curve)

    def inv(sdr: np.ndarray) -> np.ndarray:
        light = _sdr_light_2020(sdr)
        hdr = np.interp(light, levels, nits, left=0.0, right=nits[-1])
        return np.asarray(pq_inverse_eotf(hdr.astype(np.float32)), dtype=np.float32)

    return inv


def _on_luminance(curve) -> Callable[[np.ndarray], np.ndarray]:
    levels, nits = _table(curve)

    def inv(sdr: np.ndarray) -> np.ndarray:
        light = _sdr_light_2020(sdr)
        L = light @ _Y2020.astype(np.float32)
        Lh = np.interp(L, levels, nits, left=0.0, right=nits[-1])
        ratio = np.where(L > 1e-7, Lh / np.maximum(L, 1e-7), 0.0)[..., None]
        hdr = np.clip(light * ratio, 0.0, 10000.0)
        return np.asarray(pq_inverse_eotf(hdr.astype(np.float32)), dtype=np.float32)

    return inv


def source_inverse(name: str) -> Callable[[np.ndarray], np.ndarray]:
    """The inverse of forward curve `name` (one of SOURCE_TMOS): SDR R'G'B' BT.709 -> PQ R'G'B' BT.2020."""
    if name == "bt2446a":
        return lambda sdr: np.asarray(bt2446a_inverse(sdr), dtype=np.float32)
    if name == "bt2446c":
        return lambda sdr: np.asarray(bt2446c_inverse(sdr), dtype=np.float32)
    if name == "bt2390":
        return _per_channel(lambda x: eetf_to_sdr(x, src_white=1000.0, mode="rgb"))
    if name == "hable":
        return _per_channel(lambda x: hable(x))
    if name == "reinhard":
        return _on_luminance(lambda x: reinhard(x))
    if name == "camera":
        return _per_channel(lambda x: camera_model(x, **CAMERA_DEFAULTS))
    raise ValueError(f"unknown source curve {name!r}; choose one of {', '.join(SOURCE_TMOS)}")
