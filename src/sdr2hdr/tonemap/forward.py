"""HDR -> SDR tone mapping operators, used to synthesise training SDR from HDR masters.

Every operator takes linear BT.2020 display light in cd/m2 and returns linear BT.2020 SDR display light,
relative (1.0 = SDR 100% = 100 cd/m2), before the BT.2407 gamut clip to BT.709 and before quantisation.
Operators with a scene-referred notion of exposure (Hable, Reinhard, the camera model) put the HDR reference
white (203 cd/m2, BT.2408) at 1.0 before applying it.

Functions
---------
bt2446a_forward, bt2446a_forward_luma
    ITU-R BT.2446-1 section 4.1 (Method A: luma compression, knee, colour correction).
bt2446c_forward
    ITU-R BT.2446-1 section 6.1 (Method C: xyY, Y mapped, optional crosstalk matrix).
bt2390_eetf, eetf_to_sdr
    ITU-R BT.2390-11 section 5.4.1 (EETF: Hermite knee on PQ values, black lift).
hable
    J. Hable, "Filmic tonemapping operators" (Uncharted 2), GDC 2010.
reinhard
    E. Reinhard et al., "Photographic tone reproduction for digital images", SIGGRAPH 2002, equation (4).
camera_model
    KPNet (Wang et al.), equation (1): I_S = t/g phi + I_0 + n, saturating at I_max.
aces_filmic, log_shoulder
    Two curves kept out of every training set (the held-out-curve protocol): K. Narkowicz's fit of the ACES
    reference rendering per channel (hue shifts in highlights) and a logarithmic shoulder on luminance with
    highlight desaturation.
agx_like
    A third held-out curve, added with issue 24 after the default was tuned: a log-encoded sigmoid per channel after
    a primaries inset, after T. Sobotka's AgX.

References
----------
- ITU-R BT.2446-1 (2021), Methods for conversion of HDR content to SDR content and vice-versa.
- ITU-R BT.2390-11 (2023), High dynamic range television for production and international programme exchange.
- ITU-R BT.2408-7 (2023), Guidance for operational practices in HDR television production.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..color._backend import Array

if TYPE_CHECKING:
    import torch

import math
from functools import partial

import numpy as np

from ..color import _backend as B
from ..color.gamut import luminance
from ..color.transfer import pq_eotf, pq_inverse_eotf
from ..color.ycbcr import ycbcr_matrix
from .inverse import (
    C_K1,
    HDR_REFERENCE_WHITE,
    SDR_GAMMA,
    SDR_PEAK,
    _method_c_scale,
    bt2446c_forward_luminance,
)

__all__ = [
    "bt2446a_forward_luma",
    "bt2446a_forward",
    "bt2446c_forward",
    "bt2390_eetf",
    "eetf_to_sdr",
    "hable",
    "reinhard",
    "camera_model",
    "aces_filmic",
    "log_shoulder",
    "agx_like",
    "FORWARD_TMOS",
    "HELDOUT_TMOS",
]

# BT.2446-1 section 4.1, step 1 and 3: rho(L) = 1 + 32 (L / 10000)^(1 / 2.4).
A_RHO_GAIN = 32.0
A_RHO_PEAK = 10000.0
# Step 2 knee: linear, quadratic, then linear, split at Y'p = 0.7399 and 0.9909.
A_KNEE_1, A_KNEE_2 = 0.7399, 0.9909
A_KNEE_SLOPE = 1.0770
A_KNEE_QUAD = (-1.1510, 2.7811, -0.6302)
A_KNEE_TOP = (0.5, 0.5)
# Colour correction: f = Y'sdr / (1.1 Y'), Y'tmo = Y'sdr - max(0.1 Cr, 0).
A_CHROMA_DIVISOR = 1.1
A_CR_LUMA_WEIGHT = 0.1

# Hable's published Uncharted 2 constants: shoulder, linear strength, linear angle, toe strength/num/denom.
HABLE_A, HABLE_B, HABLE_C, HABLE_D, HABLE_E, HABLE_F = 0.15, 0.50, 0.10, 0.20, 0.02, 0.30


def _rho(L: float) -> float:
    return 1 + A_RHO_GAIN * (L / A_RHO_PEAK) ** (1 / SDR_GAMMA)


def bt2446a_forward_luma(Y_p: Array, Lhdr: float = 1000.0) -> Array:
    """BT.2446-1 Method A luma tone curve, steps 1-3: HDR luma ``Y'`` to SDR luma ``Y'sdr``.

    Domain: ``Y'`` in [0, 1] (HDR luma of ``(L / Lhdr)^(1/2.4)``). Range: ``Y'sdr`` in [0, 1].

    >>> round(float(bt2446a_forward_luma((203 / 1000) ** (1 / 2.4))), 5)
    0.68686
    """
    Y_p = B.clip(B.as_float(Y_p), 0.0, 1.0)
    rho_hdr = _rho(Lhdr)
    rho_sdr = _rho(SDR_PEAK)
    Yp = B.log(1 + (rho_hdr - 1) * Y_p) / math.log(rho_hdr)
    qa, qb, qc = A_KNEE_QUAD
    Yc = B.where(
        Yp <= A_KNEE_1,
        A_KNEE_SLOPE * Yp,
        B.where(Yp < A_KNEE_2, (qa * Yp + qb) * Yp + qc, A_KNEE_TOP[0] * Yp + A_KNEE_TOP[1]),
    )
    return (B.exp(Yc * math.log(rho_sdr)) - 1) / (rho_sdr - 1)


def bt2446a_forward(hdr_cd: Array, Lhdr: float = 1000.0, axis: int | None = None) -> Array:
    """BT.2446 Method A HDR -> SDR (BT.2446-1 section 4.1) on BT.2020 signals.

    ``R' = (R / Lhdr)^(1/2.4)``; luma through ``bt2446a_forward_luma``; Cb, Cr scaled by
    ``Y'sdr / (1.1 Y')``; ``Y'tmo = Y'sdr - max(0.1 Cr, 0)``; back to R'G'B' clipped to [0, 1]; BT.1886 gamma
    2.4 to display light.

    Domain: linear BT.2020 cd/m2 in [0, Lhdr] (above is clipped). Range: linear BT.2020 relative [0, 1].
    """
    hdr = B.as_float(hdr_cd)
    ax = B.channel_axis(hdr, axis)
    rgb_p = B.spow(B.clip(hdr / Lhdr, 0.0, 1.0), 1 / SDR_GAMMA)
    m = ycbcr_matrix("bt2020")
    Y_p, cb, cr = B.split3(B.matmul_channels(m, rgb_p, ax), ax)
    Y_sdr = bt2446a_forward_luma(Y_p, Lhdr)
    positive = Y_p > 0
    f = B.where(positive, Y_sdr / (A_CHROMA_DIVISOR * B.where(positive, Y_p, 1.0)), 0.0)
    cb_t, cr_t = f * cb, f * cr
    Y_t = Y_sdr - B.maximum(A_CR_LUMA_WEIGHT * cr_t, 0.0)
    rgb_t = B.matmul_channels(np.linalg.inv(m), B.concat([Y_t, cb_t, cr_t], ax), ax)
    return B.spow(B.clip(rgb_t, 0.0, 1.0), SDR_GAMMA)


def bt2446c_forward(hdr_cd: Array, alpha: float = 0.0, axis: int | None = None) -> Array:
    """BT.2446 Method C HDR -> SDR (BT.2446-1 section 6.1): keep x, y; map Y; optional crosstalk.

    1000 cd/m2 grey lands on 118.39 cd/m2 (1.184 relative: Method C keeps super-whites); 203 on 90.66.

    Domain: linear BT.2020 cd/m2 (>= 0); alpha in [0, 0.33]. Range: linear BT.2020 relative, >= 0 (up to about
    1.54 at 10000 cd/m2).
    """
    hdr = B.clip(B.as_float(hdr_cd), 0.0, None)
    return _method_c_scale(hdr, bt2446c_forward_luminance, C_K1, alpha, axis) / SDR_PEAK


def bt2390_eetf(pq: Array, src_black: float = 0.0, src_white: float = 10000.0, tgt_black: float = 0.0,
                tgt_white: float = 1000.0) -> Array:
    """BT.2390 EETF (section 5.4.1): maps a source range onto a target display range on PQ values.

    The limits are given in cd/m2 and converted to PQ here. With ``E1`` the input normalised to the source
    range, ``KS = 1.5 maxLum - 0.5``: identity below KS, Hermite spline from KS to 1 ending at maxLum; then
    black lift ``E2 + minLum (1 - E2)^4``; then de-normalised.

    Domain: PQ values in [0, 1]. Range: PQ values in [PQ(tgt_black), PQ(tgt_white)] (absolute PQ).
    """
    pq = B.as_float(pq)
    lb, lw = float(pq_inverse_eotf(src_black)), float(pq_inverse_eotf(src_white))
    lmin, lmax = float(pq_inverse_eotf(tgt_black)), float(pq_inverse_eotf(tgt_white))
    span = lw - lb
    min_lum = (lmin - lb) / span
    max_lum = (lmax - lb) / span
    E1 = B.clip((pq - lb) / span, 0.0, 1.0)
    ks = 1.5 * max_lum - 0.5
    if ks < 1:
        T = (B.maximum(E1, ks) - ks) / (1 - ks)
        T2 = T * T
        T3 = T2 * T
        spline = (2 * T3 - 3 * T2 + 1) * ks + (T3 - 2 * T2 + T) * (1 - ks) + (-2 * T3 + 3 * T2) * max_lum
        E2 = B.where(E1 < ks, E1, spline)
    else:  # the target covers the source: nothing to roll off
        E2 = E1
    one_minus = 1 - E2
    E3 = E2 + min_lum * (one_minus * one_minus) ** 2
    return E3 * span + lb


def eetf_to_sdr(hdr_cd: Array, axis: int | None = None, src_white: float = 1000.0, mode: str = "rgb") -> Array:
    """Tone map to a 100 cd/m2 SDR display with the BT.2390 EETF (source 0..src_white, target 0..100).

    ``mode='rgb'`` applies the EETF to each PQ component (BT.2390 section 5.4); ``mode='maxrgb'`` applies it to
    max(R, G, B) and scales the pixel by the ratio, which keeps hue and saturation.

    Domain: linear BT.2020 cd/m2. Range: linear BT.2020 relative [0, 1].
    """
    hdr = B.clip(B.as_float(hdr_cd), 0.0, None)
    eetf = partial(bt2390_eetf, src_black=0.0, src_white=src_white, tgt_black=0.0, tgt_white=SDR_PEAK)
    if mode == "rgb":
        return pq_eotf(eetf(pq_inverse_eotf(hdr))) / SDR_PEAK
    if mode == "maxrgb":
        peak = B.channel_max(hdr, B.channel_axis(hdr, axis))
        positive = peak > 0
        safe = B.where(positive, peak, 1.0)
        ratio = B.where(positive, pq_eotf(eetf(pq_inverse_eotf(safe))) / safe, 1.0)
        return hdr * ratio / SDR_PEAK
    raise ValueError(f"mode must be 'rgb' or 'maxrgb', got {mode!r}")


def _hable_curve(x):
    return (x * (HABLE_A * x + HABLE_C * HABLE_B) + HABLE_D * HABLE_E) / (
        x * (HABLE_A * x + HABLE_B) + HABLE_D * HABLE_F
    ) - HABLE_E / HABLE_F


def hable(hdr_cd: Array, exposure: float = 2.0, white: float = 1000.0, axis: int | None = None) -> Array:
    """Hable (Uncharted 2) filmic curve per channel: ``f(exposure x) / f(exposure white)``, x = cd/m2 / 203.

    ``white`` is the HDR luminance that lands on SDR 100%. With the defaults HDR reference white (203 cd/m2)
    lands on 0.49 (0.74 in gamma 2.4). ``axis`` is accepted for a uniform signature.

    Domain: linear BT.2020 cd/m2 (>= 0). Range: linear BT.2020 relative [0, 1] for inputs up to ``white``.
    """
    x = exposure * B.clip(B.as_float(hdr_cd), 0.0, None) / HDR_REFERENCE_WHITE
    return _hable_curve(x) / _hable_curve(exposure * white / HDR_REFERENCE_WHITE)


def reinhard(hdr_cd: Array, white: float = 1000.0, exposure: float = 1.0, axis: int | None = None) -> Array:
    """Extended Reinhard on luminance (Reinhard 2002 eq. 4): ``L (1 + L / Lw^2) / (1 + L)``, colour by ratio.

    L is the BT.2020 luminance relative to 203 cd/m2 times ``exposure``; ``white`` (cd/m2) lands on 1.0.
    Saturated colours can exceed 1 in one channel; the gamut clip downstream takes care of them.

    Domain: linear BT.2020 cd/m2 (>= 0). Range: linear BT.2020 relative, luminance in [0, 1] up to ``white``.
    """
    rgb = exposure * B.clip(B.as_float(hdr_cd), 0.0, None) / HDR_REFERENCE_WHITE
    L = luminance(rgb, "bt2020", axis)
    Lw = exposure * white / HDR_REFERENCE_WHITE
    positive = L > 0
    safe = B.where(positive, L, 1.0)
    ratio = B.where(positive, (1 + safe / (Lw * Lw)) / (1 + safe), 1.0)
    return rgb * ratio


def camera_model(hdr_cd: Array, exposure: float = 1.0, gain: float = 1.0, clip_level: float = 1.0,
                 noise_sigma: float = 0.0, offset: float = 0.0, gamma: float = SDR_GAMMA,
                 generator: np.random.Generator | torch.Generator | None = None,
                 axis: int | None = None) -> Array:
    """Virtual SDR camera after KPNet eq. (1): ``I = clip(t/g phi + I_0 + n, 0, I_max)``, then its gamma.

    ``phi`` is the scene light with HDR reference white at 1.0 (cd/m2 / 203), ``t`` = ``exposure``,
    ``g`` = ``gain``, ``I_0`` = ``offset``, ``n`` Gaussian noise of std ``noise_sigma`` per sample, ``I_max`` =
    ``clip_level``. The camera encodes ``I^(1/gamma)`` and the SDR display shows it with gamma 2.4, so the
    returned display light is ``I^(2.4/gamma)`` (the default gamma 2.4 returns ``I`` itself). ``generator`` is
    a ``numpy.random.Generator`` for numpy input or a ``torch.Generator`` for tensors; None draws fresh noise.

    Domain: linear BT.2020 cd/m2 (>= 0). Range: linear BT.2020 relative [0, clip_level^(2.4/gamma)].
    """
    phi = B.clip(B.as_float(hdr_cd), 0.0, None) / HDR_REFERENCE_WHITE
    signal = (exposure / gain) * phi + offset  # the paper's I
    if noise_sigma > 0:
        signal = signal + noise_sigma * _gaussian_like(signal, generator)
    signal = B.clip(signal, 0.0, clip_level)
    return signal if gamma == SDR_GAMMA else B.spow(signal, SDR_GAMMA / gamma)


def _gaussian_like(x, generator):
    if B.is_torch(x):
        import torch

        return torch.randn(x.shape, generator=generator, dtype=x.dtype, device=x.device)
    rng = generator if generator is not None else np.random.default_rng()
    return rng.standard_normal(x.shape).astype(x.dtype, copy=False)


# K. Narkowicz, "ACES Filmic Tone Mapping Curve" (2016): f(x) = x (a x + b) / (x (c x + d) + e).
ACES_A, ACES_B, ACES_C, ACES_D, ACES_E = 2.51, 0.03, 2.43, 0.59, 0.14


def aces_filmic(hdr_cd: Array, exposure: float = 0.8, axis: int | None = None) -> Array:
    """Narkowicz's ACES fit per channel on ``exposure x`` (x = cd/m2 / 203), clipped to [0, 1].

    A held-out curve: never in a training set. Per-channel with a strong shoulder, so saturated highlights shift
    hue towards the primaries' mixtures and go to white, as ACES renders do. With the default exposure HDR
    reference white lands on 0.75 (0.89 in gamma 2.4); the curve reaches 1.0 near 9x reference white.

    Domain: linear BT.2020 cd/m2 (>= 0). Range: linear BT.2020 relative [0, 1].
    """
    x = exposure * B.clip(B.as_float(hdr_cd), 0.0, None) / HDR_REFERENCE_WHITE
    y = (x * (ACES_A * x + ACES_B)) / (x * (ACES_C * x + ACES_D) + ACES_E)
    return B.clip(y, 0.0, 1.0)


def log_shoulder(hdr_cd: Array, white: float = 2000.0, knee: float = 12.0, desaturation: float = 0.5,
                 axis: int | None = None) -> Array:
    """Logarithmic shoulder on luminance: ``L' = log(1 + k L) / log(1 + k Lw)`` with highlights desaturated.

    A held-out curve: never in a training set. L is luminance relative to 203 cd/m2, ``white`` (cd/m2) lands on
    1.0, ``knee`` (k) sets how early the shoulder bends. Colour follows luminance by ratio, then mixes towards
    grey by ``desaturation`` times the compression ratio's complement (bright pixels lose saturation, as in
    many broadcast down-converters).

    Domain: linear BT.2020 cd/m2 (>= 0). Range: linear BT.2020 relative, luminance in [0, 1] up to ``white``.
    """
    rgb = B.clip(B.as_float(hdr_cd), 0.0, None) / HDR_REFERENCE_WHITE
    L = luminance(rgb, "bt2020", axis)
    Lw = white / HDR_REFERENCE_WHITE
    positive = L > 0
    safe = B.where(positive, L, 1.0)
    mapped = B.where(positive, B.log(1 + knee * safe) / math.log(1 + knee * Lw), 0.0)  # black stays black
    mapped = B.where(mapped > 1.0, 1.0, mapped)
    ratio = B.where(positive, mapped / safe, 0.0)
    # grey weight: 0 in the shadows, up to `desaturation` where the curve compresses most
    grey = desaturation * B.clip(mapped, 0.0, 1.0) ** 2
    return rgb * ratio * (1 - grey) + mapped * grey


# the log encoding's range in stops around 18 % grey (AgX: -12.5, +4; ours reaches 1180 cd/m2)
AGX_MIN_EV, AGX_MAX_EV = -10.0, 5.5


def agx_like(hdr_cd: Array, inset: float = 0.12, contrast: float = 9.0, grey_nits: float = 26.0,
             axis: int | None = None) -> Array:
    """A log-encoded sigmoid per channel after a primaries inset, after T. Sobotka's AgX (Blender 4); constants ours.

    A held-out curve added after the default was tuned (issue 24): nothing here trained or tuned on it. The light
    is taken as scene-referred with BT.2408's grey card (``grey_nits``) at 18 %; each channel is first mixed towards
    the others by ``inset`` (AgX's inset: saturated highlights desaturate to white instead of skewing to the
    primaries), log2-encoded over [AGX_MIN_EV, AGX_MAX_EV] stops around 18 %, put through a logistic curve of slope
    ``contrast`` centred on grey and normalised to span [0, 1], and shown with gamma 2.2 as AgX's display encoding.

    Domain: linear BT.2020 cd/m2 (>= 0). Range: linear BT.2020 relative [0, 1].
    """
    x = B.clip(B.as_float(hdr_cd), 0.0, None) * (0.18 / grey_nits)
    m = np.full((3, 3), inset) + np.eye(3) * (1.0 - 3.0 * inset)  # rows sum to 1: grey stays grey
    mixed = B.matmul_channels(m, x, axis)
    # the floor added, not clipped to: black lands exactly on 0 and the toe keeps rising (AgX clips there)
    stops = B.log(B.clip(mixed, 0.0, None) / 0.18 + 2.0 ** AGX_MIN_EV) / math.log(2.0)
    enc = (stops - AGX_MIN_EV) / (AGX_MAX_EV - AGX_MIN_EV)
    centre = -AGX_MIN_EV / (AGX_MAX_EV - AGX_MIN_EV)

    def logistic(v):
        return 1.0 / (1.0 + B.exp(-contrast * (v - centre)))

    lo, hi = logistic(0.0), logistic(1.0)
    y = (logistic(B.clip(enc, 0.0, 1.0)) - lo) / (hi - lo)
    return B.spow(B.clip(y, 0.0, 1.0), 2.2)


# Every entry is called as f(hdr_cd, axis=...) with the defaults above.
FORWARD_TMOS = {
    "bt2446a": bt2446a_forward,
    "bt2446c": bt2446c_forward,
    "bt2390": eetf_to_sdr,
    "hable": hable,
    "reinhard": reinhard,
    "camera": camera_model,
}

# Curves that no training set ever contains: the held-out-curve protocol tests on them (bench.heldout).
HELDOUT_TMOS = {
    "aces": aces_filmic,
    "log_shoulder": log_shoulder,
    "agx": agx_like,
}
