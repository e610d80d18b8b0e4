"""Signal fidelity of an HDR prediction: MSE and PSNR on PQ R'G'B', and the multi-exposure PSNR of Deep SR-ITM.

Functions
---------
mse, psnr
    On the non-linear PQ R'G'B' signal in [0, 1], peak 1 (docs/conventions.md, "Metrics").
mpsnr
    Multi-exposure PSNR: HDR Toolbox ``mPSNR.m`` (Banterle et al., Advanced High Dynamic Range Imaging, 2nd ed.,
    2017) with the 10-bit quantisation and the exposure range -3..+3 of Deep SR-ITM (Kim et al., ICCV 2019, sec. 5).

All functions take ``pred`` and ``ref`` as (N, 3, H, W) tensors (or (3, H, W), or numpy (H, W, 3) / (N, H, W, 3))
and return one value per image.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch

from ..color import pq_eotf
from ._inputs import batched

__all__ = ["mse", "psnr", "mpsnr", "MPSNR_EXPOSURES", "MPSNR_BITS", "MPSNR_GAMMA", "MPSNR_NORM_CD",
           "MPSNR_KEEP"]

# Deep SR-ITM sec. 5: "8-bit quantization in the pipeline is modified to 10-bit quantization, and PSNR is averaged
# for exposure values from -3 to +3".
MPSNR_EXPOSURES = tuple(range(-3, 4))
MPSNR_BITS = 10
# HDR Toolbox mPSNR.m: each exposure is gamma-encoded with 1/2.2 before quantisation, and only exposures whose
# reference mean code lies strictly inside (0.1, 0.9) of full scale count (neither mostly black nor mostly clipped).
MPSNR_GAMMA = 2.2
MPSNR_KEEP = (0.1, 0.9)
# The linear light that is exposed: PQ EOTF output divided by 10000 cd/m2, i.e. the PQ container's own [0, 1]
# normalisation (what "linearising" a PQ frame gives, and independent of the content or the mastering display).
MPSNR_NORM_CD = 10000.0


@batched
def mse(pred: torch.Tensor, ref: torch.Tensor) -> torch.Tensor:
    """Mean squared error per image over channels and pixels.

    Domain: any real values (PQ R'G'B' in [0, 1] by convention; nothing is clipped). Range: >= 0, shape (N,).
    """
    return (pred - ref).pow(2).flatten(1).mean(1)


@batched
def psnr(pred: torch.Tensor, ref: torch.Tensor, data_range: float = 1.0) -> torch.Tensor:
    """PSNR in dB per image: ``10 log10(data_range^2 / MSE)``, MSE over all channels and pixels.

    Domain: PQ R'G'B' with peak ``data_range`` (1.0 for the [0, 1] signal; nothing is clipped).
    Range: dB, shape (N,); +inf for identical images (aggregate with ``nan_mean``, which keeps it).
    """
    err = (pred - ref).pow(2).flatten(1).mean(1)
    return 10.0 * torch.log10(data_range**2 / err)


def _expose(linear: torch.Tensor, e: int, levels: int, gamma: float) -> torch.Tensor:
    # HDR Toolbox quant8: clamp(round(levels * (2^e x)^(1/gamma)), 0, levels), here with 10-bit levels.
    return torch.clamp(torch.round(levels * (linear * 2.0**e).pow(1.0 / gamma)), 0.0, float(levels))


@batched
def mpsnr(pred: torch.Tensor, ref: torch.Tensor, exposures: Sequence[float] = MPSNR_EXPOSURES, bits: int = MPSNR_BITS,
          gamma: float = MPSNR_GAMMA, norm_cd: float = MPSNR_NORM_CD) -> torch.Tensor:
    """Multi-exposure PSNR in dB per image (Deep SR-ITM's mPSNR).

    Steps, per image: PQ R'G'B' -> linear light ``pq_eotf(x) / norm_cd`` (1.0 = 10000 cd/m2 by default); for each
    exposure ``e`` in ``exposures``: codes ``clamp(round(1023 (2^e lin)^(1/2.2)), 0, 1023)``; keep the exposures whose
    reference mean code / 1023 lies in (0.1, 0.9); ``mPSNR = 20 log10(1023 / sqrt(mean over kept exposures of MSE))``
    with each MSE over all channels and pixels.

    One deliberate difference from HDR Toolbox ``mPSNR.m``: that code divides the summed MSE by
    ``length(eMax)``, which is 1, so it reports the sum over exposures; here it is the mean, as
    docs/conventions.md states and as "averaged" in the Deep SR-ITM paper reads. (The sum would lower every value
    by 10 log10(kept count).)

    Domain: PQ R'G'B' in [0, 1] (the PQ EOTF clips outside). Range: dB, shape (N,); +inf when all kept exposures
    quantise identically; NaN when no exposure passes the (0.1, 0.9) test (e.g. a black reference), where the
    toolbox returns -1: aggregate with ``nan_mean``.
    """
    levels = 2**bits - 1
    # float64: a 1e-7 drift in float32 PQ maths can flip a round() and move a code by one.
    dt = torch.float64 if pred.device.type != "mps" else torch.float32
    lin_p = pq_eotf(pred.to(dt)) / norm_cd
    lin_r = pq_eotf(ref.to(dt)) / norm_cd
    n = pred.shape[0]
    mse_sum = torch.zeros(n, dtype=dt, device=pred.device)
    kept = torch.zeros(n, dtype=dt, device=pred.device)
    lo, hi = MPSNR_KEEP
    for e in exposures:
        q_r = _expose(lin_r, e, levels, gamma)
        q_p = _expose(lin_p, e, levels, gamma)
        mean_code = q_r.flatten(1).mean(1) / levels
        keep = ((mean_code > lo) & (mean_code < hi)).to(dt)
        mse_sum = mse_sum + keep * (q_p - q_r).pow(2).flatten(1).mean(1)
        kept = kept + keep
    mean_mse = torch.where(kept > 0, mse_sum / kept.clamp_min(1), torch.full_like(kept, math.nan))
    out = 20.0 * torch.log10(levels / torch.sqrt(mean_mse))
    return out.to(pred.dtype)
