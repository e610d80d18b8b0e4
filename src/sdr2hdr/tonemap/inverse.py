"""Classical SDR -> HDR mappings, the non-learned baselines: BT.2408 direct mapping, BT.2446 Methods A and C.

Every mapping takes SDR R'G'B' (BT.709 primaries, BT.1886 gamma 2.4 display-referred, [0, 1], 1.0 = 100 cd/m2)
and returns PQ R'G'B' (BT.2020 primaries, [0, 1]); each names the HDR luminance its SDR white lands on in
``SDR_WHITE_ANCHOR``.

Functions
---------
bt2408_direct
    ITU-R BT.2408-7 section 5.1.1 (display-referred mapping: SDR 100% -> 203 cd/m2).
bt2446a_inverse, bt2446a_inverse_luma
    ITU-R BT.2446-1 section 4.2, Table 4 (inverse of Method A, on BT.2020 R'G'B').
bt2446c_inverse, bt2446c_inverse_luminance, bt2446c_forward_luminance, crosstalk_matrix
    ITU-R BT.2446-1 section 6 (Method C): 6.1 forward curve, 6.2 inverse, 6.1.1 crosstalk matrix.

References
----------
- ITU-R BT.2408-7 (2023), Guidance for operational practices in HDR television production.
- ITU-R BT.2446-1 (2021), Methods for conversion of high dynamic range content to standard dynamic range
  content and vice-versa.
- ITU-R BT.2087-0 (2015), Colour conversion from BT.709 to BT.2020.
"""

from __future__ import annotations

import numpy as np

from ..color import _backend as B
from ..color._backend import Array
from ..color.gamut import BT709_TO_BT2020, BT2020_TO_XYZ
from ..color.transfer import pq_inverse_eotf
from ..color.ycbcr import ycbcr_matrix

__all__ = [
    "SDR_GAMMA",
    "SDR_PEAK",
    "HDR_REFERENCE_WHITE",
    "bt2408_direct",
    "bt2446a_inverse_luma",
    "bt2446a_inverse",
    "crosstalk_matrix",
    "bt2446c_forward_luminance",
    "bt2446c_inverse_luminance",
    "bt2446c_inverse",
    "INVERSE_MAPPINGS",
    "SDR_WHITE_ANCHOR",
]

SDR_GAMMA = 2.4  # BT.1886 display gamma of the SDR input
SDR_PEAK = 100.0  # cd/m2 of SDR 100% (BT.2446-1 and BT.2408 reference SDR display)
HDR_REFERENCE_WHITE = 203.0  # cd/m2, BT.2408-7 section 2.2 (HDR reference / graphics white)

# BT.2446-1 Table 4 (inverse Method A): E(Y'') = a Y''^2 + b Y'' + c, split at Y'' = 70.
A_INV_SPLIT = 70.0
A_INV_LOW = (1.8712e-5, -2.7334e-3, 1.3141)
A_INV_HIGH = (2.8305e-6, -7.4622e-4, 1.2528)
A_INV_CHROMA_GAIN = 1.075  # Sc = 1.075 Y'hdr / Y'sdr
A_HDR_PEAK = 1000.0  # Y'hdr and R'G'B'hdr run over [0, 1000]; linear = 1000 (R'/1000)^2.4
A_SDR_CODE_SCALE = 255.0  # Y'' = 255 Y'

# BT.2446-1 section 6.1 (Method C curve), with Y_SDR,ip = 58.5 cd/m2.
C_K1 = 0.83802
C_K2 = 15.09968
C_K3 = 0.74204
C_K4 = 78.99439
C_Y_SDR_IP = 58.5
C_Y_HDR_IP = C_Y_SDR_IP / C_K1

# Luminance (XYZ Y) of linear BT.2020 RGB: Method C keeps x, y and maps Y.
_Y_2020 = np.asarray(BT2020_TO_XYZ[1])


def bt2408_direct(sdr: Array, white: float = HDR_REFERENCE_WHITE, axis: int | None = None) -> Array:
    """BT.2408 display-referred direct mapping: SDR 100% lands on ``white`` cd/m2 (203 by default).

    SDR R'G'B' -> gamma 2.4 -> times ``white`` -> BT.709 to BT.2020 (BT.2087) -> PQ.

    Domain: SDR R'G'B' BT.709 in [0, 1] (above 1 allowed for super-whites). Range: PQ R'G'B' BT.2020 in [0, 1].

    >>> round(float(bt2408_direct(np.ones(3))[0]), 7)
    0.5806889
    """
    linear = white * B.spow(B.as_float(sdr), SDR_GAMMA)
    return pq_inverse_eotf(B.matmul_channels(BT709_TO_BT2020, linear, axis))


def _sdr709_to_2020_prime(sdr, axis):
    """BT.709 SDR R'G'B' to BT.2020 SDR R'G'B' through linear light (gamma 2.4 both ways)."""
    linear = B.matmul_channels(BT709_TO_BT2020, B.spow(B.as_float(sdr), SDR_GAMMA), axis)
    return B.spow(linear, 1 / SDR_GAMMA)


def bt2446a_inverse_luma(Y_p: Array) -> Array:
    """BT.2446-1 Table 4 luma expansion: ``E`` and ``Y'hdr = Y''^E`` with ``Y'' = 255 Y'``.

    Domain: SDR luma ``Y'`` in [0, 1]. Range: ``(E, Y'hdr)``, E about [1.21, 1.31], Y'hdr in [0, 1000]
    (Y'hdr = 999.80 at Y' = 1).

    >>> [round(float(v), 2) for v in bt2446a_inverse_luma(1.0)]
    [1.25, 999.8]
    """
    Ypp = A_SDR_CODE_SCALE * B.clip(B.as_float(Y_p), 0.0, None)
    a1, b1, c1 = A_INV_LOW
    a2, b2, c2 = A_INV_HIGH
    E = B.where(Ypp <= A_INV_SPLIT, (a1 * Ypp + b1) * Ypp + c1, (a2 * Ypp + b2) * Ypp + c2)
    # Y''^E with a per-pixel exponent: exp(E ln Y''), zero where Y'' is zero.
    positive = Ypp > 0
    safe = B.where(positive, Ypp, 1.0)
    Y_hdr = B.where(positive, B.exp(E * B.log(safe)), 0.0)
    return E, Y_hdr


def bt2446a_inverse(sdr: Array, axis: int | None = None) -> Array:
    """Inverse BT.2446 Method A (BT.2446-1 Table 4) from BT.709 SDR R'G'B' to PQ BT.2020.

    The SDR signal is first moved to BT.2020 R'G'B' (linearise with gamma 2.4, BT.2087 matrix, gamma 1/2.4);
    then luma is expanded, Cb and Cr are scaled by ``Sc = 1.075 Y'hdr / Y'``, R'G'B'hdr in [0, 1000] is
    linearised as ``1000 (R'/1000)^2.4`` cd/m2 and PQ-encoded. SDR white lands on 999.52 cd/m2.

    Domain: SDR R'G'B' BT.709 in [0, 1]. Range: PQ R'G'B' BT.2020 in [0, 0.7518] (1000 cd/m2).
    """
    rgb = _sdr709_to_2020_prime(sdr, axis)
    ax = B.channel_axis(rgb, axis)
    ycc = B.matmul_channels(ycbcr_matrix("bt2020"), rgb, ax)
    Y_p, cb, cr = B.split3(ycc, ax)
    _, Y_hdr = bt2446a_inverse_luma(Y_p)
    positive = Y_p > 0
    Sc = B.where(positive, A_INV_CHROMA_GAIN * Y_hdr / B.where(positive, Y_p, 1.0), 1.0)
    ycc_hdr = B.concat([Y_hdr, cb * Sc, cr * Sc], ax)
    rgb_hdr = B.clip(B.matmul_channels(np.linalg.inv(ycbcr_matrix("bt2020")), ycc_hdr, ax), 0.0, A_HDR_PEAK)
    linear = A_HDR_PEAK * B.spow(rgb_hdr / A_HDR_PEAK, SDR_GAMMA)
    return pq_inverse_eotf(linear)


def crosstalk_matrix(alpha: float) -> np.ndarray:
    """BT.2446-1 section 6.1.1 crosstalk matrix: ``1 - 2 alpha`` on the diagonal, ``alpha`` elsewhere.

    Domain: alpha in [0, 0.33] (0.05 typical). Range: 3x3 float64, rows summing to one.
    """
    if not 0.0 <= alpha < 1 / 3:
        raise ValueError(f"alpha must be in [0, 1/3), got {alpha}")
    return np.full((3, 3), alpha) + np.eye(3) * (1 - 3 * alpha)


def bt2446c_forward_luminance(Y_hdr: Array) -> Array:
    """BT.2446-1 Method C curve: ``k1 Y`` below ``Y_HDR,ip`` (69.81 cd/m2), else ``k2 ln(Y / Y_HDR,ip - k3) + k4``.

    Domain: HDR luminance in cd/m2 (>= 0). Range: SDR luminance in cd/m2 (118.39 at 1000, 153.9 at 10000).

    >>> round(float(bt2446c_forward_luminance(1000.0)), 3)
    118.387
    """
    Y = B.clip(B.as_float(Y_hdr), 0.0, None)
    knee = C_K2 * B.log(B.maximum(Y, C_Y_HDR_IP) / C_Y_HDR_IP - C_K3) + C_K4
    return B.where(Y < C_Y_HDR_IP, C_K1 * Y, knee)


def bt2446c_inverse_luminance(Y_sdr: Array) -> Array:
    """BT.2446-1 section 6.2 inverse curve: ``Y / k1`` below ``Y_HDR,ip``, else ``Y_HDR,ip (exp((Y - k4) / k2) + k3)``.

    Domain: SDR luminance in cd/m2 (>= 0). Range: HDR luminance in cd/m2 (332.38 at 100).

    >>> round(float(bt2446c_inverse_luminance(100.0)), 3)
    332.383
    """
    Y = B.clip(B.as_float(Y_sdr), 0.0, None)
    linear = Y / C_K1
    return B.where(linear < C_Y_HDR_IP, linear, C_Y_HDR_IP * (B.exp((Y - C_K4) / C_K2) + C_K3))


def _method_c_scale(rgb_2020_cd, curve, slope_at_zero: float, alpha: float, axis):
    """Scale linear BT.2020 RGB so its (crosstalked) luminance follows ``curve``, keeping x, y.

    BT.2446 applies the crosstalk matrix X, maps Y of xyY, then applies X^-1. Keeping x, y is a per-pixel
    scaling, which commutes with X^-1, so X only changes which luminance drives the curve: Y = (y_row X) RGB.
    """
    wr, wg, wb = (float(w) for w in (_Y_2020 @ crosstalk_matrix(alpha) if alpha else _Y_2020))
    ax = B.channel_axis(rgb_2020_cd, axis)
    r, g, b = B.split3(rgb_2020_cd, ax)
    Y = B.clip(wr * r + wg * g + wb * b, 0.0, None)
    positive = Y > 0
    safe = B.where(positive, Y, 1.0)
    ratio = B.where(positive, curve(safe) / safe, slope_at_zero)
    return rgb_2020_cd * ratio


def bt2446c_inverse(sdr: Array, alpha: float = 0.0, axis: int | None = None) -> Array:
    """Inverse BT.2446 Method C (section 6.2): SDR display light, x, y kept, Y expanded, to PQ BT.2020.

    SDR R'G'B' -> 100 R'^2.4 cd/m2 -> BT.2020 -> (crosstalk alpha) -> Y through the inverse curve ->
    (inverse crosstalk) -> PQ. SDR white (100 cd/m2) lands on 332.38 cd/m2.

    Domain: SDR R'G'B' BT.709 in [0, 1]; alpha in [0, 0.33]. Range: PQ R'G'B' BT.2020 in [0, 1].
    """
    linear = B.matmul_channels(BT709_TO_BT2020 * SDR_PEAK, B.spow(B.as_float(sdr), SDR_GAMMA), axis)
    hdr = _method_c_scale(linear, bt2446c_inverse_luminance, 1 / C_K1, alpha, axis)
    return pq_inverse_eotf(hdr)


INVERSE_MAPPINGS = {
    "bt2408": bt2408_direct,
    "bt2446a": bt2446a_inverse,
    "bt2446c": bt2446c_inverse,
}

# HDR luminance (cd/m2) that SDR 100% white maps to, printed beside every figure a mapping produces.
SDR_WHITE_ANCHOR = {
    "bt2408": HDR_REFERENCE_WHITE,
    "bt2446a": A_HDR_PEAK * (float(bt2446a_inverse_luma(1.0)[1]) / A_HDR_PEAK) ** SDR_GAMMA,
    "bt2446c": float(bt2446c_inverse_luminance(SDR_PEAK)),
}
