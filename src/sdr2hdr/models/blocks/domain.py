"""The Y'CbCr domain Deep SR-ITM and GPGMNet were trained in, so their networks can sit behind the R'G'B' contract.

Defines:
    sdr_rgb_to_paper_yuv(x)   SDR BT.709 R'G'B' [0,1] -> 8-bit narrow-range BT.709 Y'CbCr code values / 255.
    paper_yuv_to_hdr_rgb(y)   10-bit narrow-range BT.2020 Y'CbCr code values / 1023 -> PQ BT.2020 R'G'B'.
    DOMAINS, check_domain     the accepted values of a model's `domain` option.

Both papers train on the 4K HDR dataset of Kim et al. (ICCV 2019): SDR frames as 8-bit Y'CbCr divided by 255,
HDR frames as 10-bit Y'CbCr (BT.2020, PQ) divided by 1023. The matrices and the narrow-range quantisation come
from sdr2hdr.color (BT.709-6 item 3.2-3.4, BT.2020-2 tables 4-5); the input codes are left unrounded so the
mapping stays differentiable (an 8-bit source is already on the code grid).
"""

from __future__ import annotations

import torch
from torch import Tensor

from sdr2hdr.color.ycbcr import (
    NARROW_C_OFFSET,
    NARROW_C_SCALE,
    NARROW_Y_OFFSET,
    NARROW_Y_SCALE,
    decode_ycbcr,
    rgb_to_ycbcr,
    ycbcr_to_rgb,
)

DOMAINS = ("rgb", "yuv")
SDR_CODE_PEAK = 255.0  # 8-bit SDR codes / 255 (Deep SR-ITM section 4.1)
HDR_CODE_PEAK = 1023.0  # 10-bit HDR codes / 1023


def sdr_rgb_to_paper_yuv(x: Tensor) -> Tensor:
    """(N,3,H,W) BT.709 R'G'B' in [0,1] -> 8-bit narrow-range Y'CbCr code values / 255 (the papers' SDR input)."""
    y, cb, cr = rgb_to_ycbcr(x, "bt709", axis=1).unbind(1)
    codes = (
        NARROW_Y_SCALE * y + NARROW_Y_OFFSET,
        NARROW_C_SCALE * cb + NARROW_C_OFFSET,
        NARROW_C_SCALE * cr + NARROW_C_OFFSET,
    )
    return torch.stack(codes, dim=1) / SDR_CODE_PEAK


def paper_yuv_to_hdr_rgb(y: Tensor) -> Tensor:
    """(N,3,H,W) 10-bit narrow-range BT.2020 Y'CbCr codes / 1023 -> PQ BT.2020 R'G'B' (about [0,1], unclipped)."""
    return ycbcr_to_rgb(decode_ycbcr(y * HDR_CODE_PEAK, bits=10, axis=1), "bt2020", axis=1)


def check_domain(domain: str) -> str:
    """Validate a model's `domain` option."""
    if domain not in DOMAINS:
        raise ValueError(f"domain must be one of {DOMAINS}, got {domain!r}")
    return domain
