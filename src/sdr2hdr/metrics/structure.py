"""Structural similarity of an HDR prediction: SSIM and MS-SSIM on PQ R'G'B' (piq), always with an explicit data range.

Functions
---------
ssim
    Wang et al., "Image quality assessment: from error visibility to structural similarity", IEEE TIP 13(4), 2004.
ms_ssim
    Wang, Simoncelli, Bovik, "Multi-scale structural similarity for image quality assessment", Asilomar 2003.

Both wrap ``piq`` (Gaussian window 11x11, sigma 1.5, K1 0.01, K2 0.03) and pass ``data_range`` on: piq's default
of 1.0 happens to fit the [0, 1] PQ signal, but a wrong range silently changes the constants C1 = (K1 L)^2 and
C2 = (K2 L)^2 and the value (docs/conventions.md, "Metrics", names the same trap in skimage, whose float default is 2).
"""

from __future__ import annotations

import warnings

import piq
import torch

from ._inputs import batched

__all__ = ["ssim", "ms_ssim", "MS_SSIM_WEIGHTS", "SSIM_KERNEL", "ms_ssim_scales"]

SSIM_KERNEL = 11
# Wang et al. 2003, table in sec. 3.2 (piq's defaults), finest scale first.
MS_SSIM_WEIGHTS = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)


def _in_range(x: torch.Tensor, data_range: float) -> torch.Tensor:
    # piq refuses values outside [0, data_range]; a PQ container cannot hold them either (a 16-bit PNG clips them).
    return x.clamp(0.0, data_range)


@batched
def ssim(pred: torch.Tensor, ref: torch.Tensor, data_range: float = 1.0, downsample: bool = True) -> torch.Tensor:
    """SSIM per image, the mean over the three R'G'B' channels of the mean SSIM map.

    ``downsample`` keeps piq's (and Wang's reference code's) average-pooling of large images by
    ``round(min(H, W) / 256)`` before the 11x11 window; set False for a full-resolution map.
    Domain: signal in [0, data_range] (clipped to it), at least 11x11. Range: [-1, 1], 1 for identical images;
    shape (N,).
    """
    if min(pred.shape[-2:]) < SSIM_KERNEL:
        raise ValueError(f"ssim needs images of at least {SSIM_KERNEL}x{SSIM_KERNEL}, got {tuple(pred.shape[-2:])}")
    return piq.ssim(_in_range(pred, data_range), _in_range(ref, data_range), data_range=data_range,
                    reduction="none", downsample=downsample)


def ms_ssim_scales(height: int, width: int, kernel_size: int = SSIM_KERNEL) -> int:
    """How many MS-SSIM scales (at most 5) an image of this size supports.

    Scale ``s`` (1-based) needs the image halved ``s - 1`` times to stay at least one window wide:
    ``min(H, W) >= (kernel_size - 1) 2^(s-1) + 1``, i.e. 161 px for the standard five scales, 81 for four, 41 for
    three, 21 for two and 11 for one.
    """
    short = min(height, width)
    scales = 0
    while scales < len(MS_SSIM_WEIGHTS) and short >= (kernel_size - 1) * 2**scales + 1:
        scales += 1
    return scales


@batched
def ms_ssim(pred: torch.Tensor, ref: torch.Tensor, data_range: float = 1.0, scales: int | None = None) -> torch.Tensor:
    """MS-SSIM per image (piq), with the standard five scales when the image is large enough.

    Images shorter than 161 px on one side cannot be halved four times and still hold the 11x11 window. Rather
    than fail, such images get the largest number of scales they support (``ms_ssim_scales``), with the first
    weights of the standard set renormalised to sum to one, and a warning, since the value is then not the
    standard 5-scale MS-SSIM and should not be compared with papers' figures. ``scales`` forces a count (1-5).
    Domain: signal in [0, data_range] (clipped to it), at least 11x11. Range: [0, 1], 1 for identical images;
    shape (N,).
    """
    h, w = pred.shape[-2:]
    possible = ms_ssim_scales(h, w)
    if possible == 0:
        raise ValueError(f"ms_ssim needs images of at least {SSIM_KERNEL}x{SSIM_KERNEL}, got {(h, w)}")
    if scales is None:
        scales = possible
        if scales < len(MS_SSIM_WEIGHTS):
            warnings.warn(f"ms_ssim: {h}x{w} is below 161 px on its short side; using {scales} scales with "
                          "renormalised weights (not comparable with 5-scale MS-SSIM)", stacklevel=3)
    elif not 1 <= scales <= possible:
        raise ValueError(f"ms_ssim: {scales} scales requested, a {h}x{w} image supports 1 to {possible}")
    # piq takes None as the standard five weights, and renormalises any weights it is given.
    weights = None if scales == len(MS_SSIM_WEIGHTS) else torch.tensor(
        MS_SSIM_WEIGHTS[:scales], dtype=pred.dtype, device=pred.device)
    return piq.multi_scale_ssim(_in_range(pred, data_range), _in_range(ref, data_range), data_range=data_range,
                                reduction="none", scale_weights=weights)
