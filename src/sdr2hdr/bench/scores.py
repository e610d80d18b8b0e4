"""The benchmark's view of sdr2hdr.metrics: which metrics it reports, how each is printed, and scoring one frame.

- METRIC_INFO: name -> MetricInfo (table label, higher is better, digits), in the papers' order
- DEFAULT_METRICS: DIDNet table 1's set (PSNR, SSIM, MS-SSIM, Delta E ITP); the heavier ones are opt-in
- check_metrics(names) -> names, InputError for an unknown one
- resolve(names): InputError before any work when sdr2hdr.metrics lacks one
- score(pred, ref, names) -> {name: float}: both PQ R'G'B' BT.2020 HWC float32 in [0, 1]
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from sdr2hdr.errors import InputError


@dataclass(frozen=True)
class MetricInfo:
    label: str
    higher_better: bool
    digits: int


METRIC_INFO = {
    "psnr": MetricInfo("PSNR", True, 2),
    "ssim": MetricInfo("SSIM", True, 4),
    "ms_ssim": MetricInfo("MS-SSIM", True, 4),
    "delta_e_itp": MetricInfo("ΔE ITP", False, 2),
    "mpsnr": MetricInfo("mPSNR", True, 2),
    "vifp": MetricInfo("VIFp", True, 3),
    "haarpsi": MetricInfo("HaarPSI", True, 4),
    "vsi": MetricInfo("VSI", True, 4),
    "cvvdp": MetricInfo("CVVDP JOD", True, 3),
}
DEFAULT_METRICS = ("psnr", "ssim", "ms_ssim", "delta_e_itp")


def check_metrics(names: Iterable[str]) -> list[str]:
    names = list(dict.fromkeys(names))
    unknown = [n for n in names if n not in METRIC_INFO]
    if unknown:
        raise InputError(f"unknown metric {unknown[0]!r}; choose from {', '.join(METRIC_INFO)}")
    return names


def _registry() -> dict:
    try:
        from sdr2hdr.metrics import METRICS
    except ImportError as exc:
        raise InputError(f"sdr2hdr.metrics is not available: {exc}") from None
    return METRICS


# names the metrics registry may use for the same metric
ALIASES = {"cvvdp": ("cvvdp", "cvvdp_jod"), "delta_e_itp": ("delta_e_itp", "deitp")}


def _lookup(metrics: dict, name: str):
    for key in ALIASES.get(name, (name,)):
        if key in metrics:
            return metrics[key]
    raise InputError(f"sdr2hdr.metrics has no {name!r} (it has {', '.join(sorted(metrics))})")


def resolve(names: Iterable[str]) -> None:
    """Fail before any work when the metrics package lacks one of names."""
    metrics = _registry()
    for name in names:
        _lookup(metrics, name)


def score(pred: np.ndarray, ref: np.ndarray, names: Iterable[str]) -> dict[str, float]:
    """Each metric on one frame pair (NaN where a metric cannot score it, e.g. VSI at some sizes)."""
    import torch

    metrics = _registry()
    fns = {name: _lookup(metrics, name) for name in names}
    # the metrics package works on batched NCHW tensors, as the models do
    p = torch.from_numpy(np.ascontiguousarray(pred, dtype=np.float32)).permute(2, 0, 1)[None]
    r = torch.from_numpy(np.ascontiguousarray(ref, dtype=np.float32)).permute(2, 0, 1)[None]
    out = {}
    for name in names:
        value = fns[name](p, r)
        value = float(value.mean()) if hasattr(value, "mean") else float(value)
        out[name] = value  # NaN: undefined for this frame; inf (identical frames' PSNR) stays inf
    return out
