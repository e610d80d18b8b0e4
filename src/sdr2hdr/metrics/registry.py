"""The metric registry: every metric by name with its direction and unit, and one call that computes a set of them."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from ._inputs import nan_mean
from .colour_difference import delta_e_itp
from .fidelity import mpsnr, mse, psnr
from .perceptual import haarpsi, vifp, vsi
from .structure import ms_ssim, ssim
from .video_vdp import cvvdp_jod

__all__ = ["MetricInfo", "METRICS", "PAPER_METRICS", "compute_all", "summarise"]


@dataclass(frozen=True)
class MetricInfo:
    """A registered metric: ``fn(pred, ref) -> (N,)`` on PQ R'G'B' NCHW batches, and how to read its value."""

    name: str
    fn: Callable
    higher_is_better: bool
    units: str
    description: str

    def __call__(self, pred: np.ndarray | torch.Tensor, ref: np.ndarray | torch.Tensor, **kwargs: Any) -> torch.Tensor:
        return self.fn(pred, ref, **kwargs)


def _entries() -> Iterable[MetricInfo]:
    yield MetricInfo("psnr", psnr, True, "dB", "PSNR on PQ R'G'B', peak 1")
    yield MetricInfo("mse", mse, False, "", "mean squared error on PQ R'G'B'")
    yield MetricInfo("ssim", ssim, True, "", "SSIM on PQ R'G'B', data range 1 (piq)")
    yield MetricInfo("ms_ssim", ms_ssim, True, "", "5-scale MS-SSIM on PQ R'G'B', data range 1 (piq)")
    yield MetricInfo("delta_e_itp", delta_e_itp, False, "dE ITP", "mean Delta E ITP (BT.2124), 1 ~ one JND")
    yield MetricInfo("mpsnr", mpsnr, True, "dB", "multi-exposure PSNR, exposures -3..3, 10-bit (Deep SR-ITM)")
    yield MetricInfo("vifp", vifp, True, "", "pixel-domain visual information fidelity (piq)")
    yield MetricInfo("haarpsi", haarpsi, True, "", "Haar wavelet perceptual similarity (piq)")
    yield MetricInfo("vsi", vsi, True, "", "visual saliency-induced index (piq); NaN where undefined")
    yield MetricInfo("cvvdp", cvvdp_jod, True, "JOD", "ColorVideoVDP on the standard_hdr_pq display, 10 = identical")


METRICS: dict[str, MetricInfo] = {m.name: m for m in _entries()}

# The papers' tables in the order they print them (DIDNet tables 1-2, Deep SR-ITM table 4; HDR-VDP -> cvvdp).
PAPER_METRICS = ("psnr", "ssim", "ms_ssim", "delta_e_itp", "vifp", "haarpsi", "vsi", "mpsnr", "cvvdp")


def compute_all(pred: np.ndarray | torch.Tensor, ref: np.ndarray | torch.Tensor,
                names: Iterable[str] | None = None) -> dict[str, torch.Tensor]:
    """Per-image values of several metrics: ``{name: (N,) tensor}`` (numpy in, numpy out).

    ``names`` defaults to every registered metric; an unknown name is refused before anything runs. Images must
    meet every chosen metric's size needs (MS-SSIM: 161 px for 5 scales, VIFp: 41 px). Nothing is computed with
    gradients.
    """
    names = list(METRICS if names is None else names)
    unknown = [n for n in names if n not in METRICS]
    if unknown:
        raise KeyError(f"unknown metric(s) {unknown}; known: {sorted(METRICS)}")
    with torch.no_grad():
        return {n: METRICS[n](pred, ref) for n in names}


def summarise(per_image: dict[str, torch.Tensor]) -> dict[str, float]:
    """Mean over images of each metric, ignoring NaN (undefined VSI or mPSNR for one image, see ``nan_mean``)."""
    return {n: nan_mean(v) for n, v in per_image.items()}
