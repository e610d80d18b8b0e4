"""Perceptual full-reference indices of DIDNet's table 2 on PQ R'G'B': VIFp, HaarPSI and VSI (piq).

Functions
---------
vifp
    Sheikh and Bovik, "Image information and visual quality", IEEE TIP 15(2), 2006 (pixel-domain version).
haarpsi
    Reisenhofer et al., "A Haar wavelet-based perceptual similarity index for image quality assessment",
    Signal Processing: Image Communication 61, 2018.
vsi
    Zhang, Shen and Li, "VSI: a visual saliency-induced index for perceptual image quality assessment",
    IEEE TIP 23(10), 2014.

These indices were designed for SDR sRGB images; like DIDNet, the project applies them to the PQ R'G'B' code values
as if they were such an image (the PQ curve is roughly perceptually uniform, which is what makes this reasonable).
Each wrapper passes ``data_range`` to piq and clips the signal to [0, data_range], which piq requires.
"""

from __future__ import annotations

import warnings

import piq
import torch

from ._inputs import batched

__all__ = ["vifp", "haarpsi", "vsi", "VIFP_MIN_SIZE", "HAARPSI_MIN_SIZE"]

# piq.vif_p: four scales of valid-padding Gaussian filtering need at least 41x41 pixels.
VIFP_MIN_SIZE = 41
# piq.haarpsi with its 3 scales: the coarsest Haar filter is 2^(3+1) = 16 px wide.
HAARPSI_MIN_SIZE = 16


def _check_size(name: str, x: torch.Tensor, min_size: int) -> None:
    if min(x.shape[-2:]) < min_size:
        raise ValueError(f"{name} needs images of at least {min_size}x{min_size}, got {tuple(x.shape[-2:])}")


@batched
def vifp(pred: torch.Tensor, ref: torch.Tensor, data_range: float = 1.0) -> torch.Tensor:
    """Pixel-domain visual information fidelity per image, on luma (piq uses BT.601 weights of R'G'B').

    Domain: signal in [0, data_range] (clipped to it), at least 41x41. Range: >= 0, 1 for identical images
    (above 1 for a contrast enhancement of the reference); shape (N,).
    """
    _check_size("vifp", pred, VIFP_MIN_SIZE)
    return piq.vif_p(pred.clamp(0.0, data_range), ref.clamp(0.0, data_range), data_range=data_range,
                     reduction="none")


@batched
def haarpsi(pred: torch.Tensor, ref: torch.Tensor, data_range: float = 1.0) -> torch.Tensor:
    """Haar wavelet-based perceptual similarity index per image (piq defaults: 3 scales, 2x subsampling).

    Domain: signal in [0, data_range] (clipped to it), at least 16x16. Range: [0, 1], 1 for identical images;
    shape (N,).
    """
    _check_size("haarpsi", pred, HAARPSI_MIN_SIZE)
    return piq.haarpsi(pred.clamp(0.0, data_range), ref.clamp(0.0, data_range), data_range=data_range,
                       reduction="none")


@batched
def vsi(pred: torch.Tensor, ref: torch.Tensor, data_range: float = 1.0) -> torch.Tensor:
    """Visual saliency-induced index per image (piq).

    VSI is reported to return NaN at some image sizes. With piq 0.8.0 and torch 2.14 on the CPU no valid input
    (values in [0, data_range]) produced one: every size from 1x1 to 200x200, larger ones up to 2160x3840, float32
    and float64, random, flat, black and sparse content (the tests pin the awkward sizes). The guard stays for
    other versions and back ends: an image for which piq returns a non-finite value gets NaN, with a warning that
    names its size, rather than a number that would poison a mean; aggregate with ``nan_mean``.
    Domain: signal in [0, data_range] (clipped to it). Range: about [0, 1], 1 for identical images, or NaN;
    shape (N,).
    """
    out = piq.vsi(pred.clamp(0.0, data_range), ref.clamp(0.0, data_range), data_range=data_range,
                  reduction="none")
    bad = ~torch.isfinite(out)
    if bool(bad.any()):
        warnings.warn(f"vsi: piq gave a non-finite value for {int(bad.sum())} of {out.numel()} images of size "
                      f"{tuple(pred.shape[-2:])}; reported as NaN", RuntimeWarning, stacklevel=3)
        out = torch.where(bad, torch.full_like(out, float("nan")), out)
    return out
