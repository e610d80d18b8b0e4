"""Transfer functions between code values and light: PQ, HLG, BT.1886 and the BT.709 OETF.

Functions
---------
pq_eotf, pq_inverse_eotf
    SMPTE ST 2084 / ITU-R BT.2100-2 Table 4 (PQ), absolute: 1.0 = 10000 cd/m2.
pq_code
    the PQ signal of one luminance as a Python float (where a display's peak sits on the PQ scale).
pq_trim
    a PQ signal with its light scaled by 2^stops (the converter's --exposure).
hlg_oetf, hlg_inverse_oetf, hlg_ootf, hlg_eotf
    ITU-R BT.2100-2 Table 5 (HLG), system gamma from BT.2100-2 Table 5 note 5e.
bt1886_eotf, bt1886_inverse_eotf
    ITU-R BT.1886 Annex 1 (reference EOTF, gamma 2.4).
bt709_oetf, bt709_inverse_oetf
    ITU-R BT.709-6 Part 1, item 1.2 (camera OETF).

References
----------
- SMPTE ST 2084:2014, High Dynamic Range EOTF of Mastering Reference Displays.
- ITU-R BT.2100-2 (2018), Image parameter values for high dynamic range television.
- ITU-R BT.1886 (2011), Reference electro-optical transfer function for flat panel displays.
- ITU-R BT.709-6 (2015), Parameter values for the HDTV standards.

All functions take numpy arrays or torch tensors and return the same type; see ``_backend``.
"""

from __future__ import annotations

import math

import numpy as np

from . import _backend as B
from ._backend import Array
from .ycbcr import KR_KB

__all__ = [
    "pq_eotf",
    "pq_inverse_eotf",
    "pq_code",
    "pq_trim",
    "hlg_oetf",
    "hlg_inverse_oetf",
    "hlg_ootf",
    "hlg_eotf",
    "hlg_inverse_eotf",
    "hlg_system_gamma",
    "bt1886_eotf",
    "bt1886_inverse_eotf",
    "bt709_oetf",
    "bt709_inverse_oetf",
    "PQ_PEAK",
]

# SMPTE ST 2084 section 4 / BT.2100-2 Table 4.
PQ_M1 = 2610 / 16384
PQ_M2 = 2523 / 4096 * 128
PQ_C1 = 3424 / 4096
PQ_C2 = 2413 / 4096 * 32
PQ_C3 = 2392 / 4096 * 32
PQ_PEAK = 10000.0  # cd/m2 at code 1.0

# BT.2100-2 Table 5 (HLG OETF).
HLG_A = 0.17883277
HLG_B = 1 - 4 * HLG_A
HLG_C = 0.5 - HLG_A * math.log(4 * HLG_A)
# BT.2100-2 Table 5 note 5e: system gamma 1.2 at the 1000 cd/m2 reference display, + 0.42 per decade.
HLG_GAMMA_REF = 1.2
HLG_GAMMA_PER_DECADE = 0.42
HLG_LW_REF = 1000.0

# BT.1886 Annex 1.
BT1886_GAMMA = 2.4

# BT.709-6 Part 1, 1.2.
BT709_ALPHA = 1.099
BT709_BETA = 0.018
BT709_SLOPE = 4.5
BT709_EXPONENT = 0.45


def pq_eotf(E: Array) -> Array:
    """PQ signal to absolute display light (SMPTE ST 2084, BT.2100 Table 4).

    Args:
        E: PQ non-linear signal; values outside [0, 1] are clipped to it, so +inf gives 10000 cd/m2.

    Returns:
        Luminance in cd/m2, in [0, 10000], same type and dtype as ``E``; NaN stays NaN.

    Shape:
        Any; applied elementwise.

    >>> round(float(pq_eotf(0.5806888810416109)), 3)
    203.0
    >>> pq_eotf(np.array([0.0, 1.0, np.inf])).tolist()
    [0.0, 10000.0, 10000.0]
    """
    E = B.clip(B.as_float(E), 0.0, 1.0)
    Ep = B.spow(E, 1 / PQ_M2)
    # Below the PQ toe (E < c1**m2, about 7e-7) the numerator is negative; the standard's max(.,0) gives 0 light.
    num = B.maximum(Ep - PQ_C1, 0.0)
    den = PQ_C2 - PQ_C3 * Ep
    return PQ_PEAK * B.spow(num / den, 1 / PQ_M1)


def pq_inverse_eotf(L_cd: Array) -> Array:
    """Absolute display light to the PQ signal (SMPTE ST 2084 inverse EOTF).

    Args:
        L_cd: luminance in cd/m2; negatives clip to 0, values above 10000 (and +inf) to 10000.

    Returns:
        PQ signal in [0, 1] (0 cd/m2 gives c1^m2, about 7.3e-7), same type and dtype as ``L_cd``; NaN stays NaN.

    Shape:
        Any; applied elementwise.

    >>> round(float(pq_inverse_eotf(203.0)), 7)
    0.5806889
    >>> pq_inverse_eotf(np.array([10000.0, np.inf])).tolist()
    [1.0, 1.0]
    """
    L_cd = B.as_float(L_cd)
    if not B.is_torch(L_cd):
        return _pq_inverse_eotf_numpy(L_cd)
    Ym = B.spow(B.clip(L_cd / PQ_PEAK, 0.0, 1.0), PQ_M1)
    return B.spow((PQ_C1 + PQ_C2 * Ym) / (1 + PQ_C3 * Ym), PQ_M2)


def pq_code(nits: float) -> float:
    """The PQ signal of one luminance, as a Python float: where a peak in cd/m2 sits on the PQ scale.

    Args:
        nits: luminance in cd/m2 (a display's peak, 100..10000 for the converter); clipped to [0, 10000].

    Returns:
        The PQ non-linear value in [0, 1] (SMPTE ST 2084 inverse EOTF, computed in float64).

    >>> round(pq_code(1000.0), 9)
    0.751827096
    >>> pq_code(10000.0)
    1.0
    """
    return float(pq_inverse_eotf(np.float64(nits)))


def pq_trim(E: Array, stops: float) -> Array:
    """PQ signal with its light multiplied by 2^stops (a brightness trim, the converter's --exposure).

    Args:
        E: PQ non-linear signal (read as pq_eotf reads it: outside [0, 1] clipped to it).
        stops: the trim; +1 doubles the light, -1 halves it.

    Returns:
        PQ signal in [0, 1] (light beyond 10000 cd/m2 stays at 1), same type and dtype as ``E``.

    Shape:
        Any; applied elementwise.

    >>> round(float(pq_eotf(pq_trim(pq_inverse_eotf(203.0), 1.0))), 3)
    406.0
    """
    return pq_inverse_eotf(pq_eotf(E) * 2.0 ** stops)


def _pq_inverse_eotf_numpy(L_cd):
    # Every inverse mapping ends here on whole frames: working in place on two temporaries instead of
    # allocating one per operation makes it about twice as fast on a 1080p float32 frame.
    Y = np.multiply(L_cd, 1 / PQ_PEAK, out=np.empty_like(L_cd))
    np.clip(Y, 0.0, 1.0, out=Y)
    np.power(Y, PQ_M1, out=Y)
    num = np.multiply(Y, PQ_C2, out=np.empty_like(Y))
    num += PQ_C1
    Y *= PQ_C3
    Y += 1
    num /= Y
    return np.power(num, PQ_M2, out=num)


def hlg_oetf(E: Array) -> Array:
    """HLG OETF: normalised scene light to the HLG signal (BT.2100 Table 5).

    Args:
        E: scene light, 1.0 = the camera's nominal peak; negatives clip to 0. Values above 1 are not clipped
            (the log branch continues, +inf gives +inf).

    Returns:
        HLG signal E' (in [0, 1] for E in [0, 1]), same type as ``E``; NaN stays NaN.

    Shape:
        Any; applied elementwise.

    >>> round(float(hlg_oetf(1 / 12)), 7)
    0.5
    >>> hlg_oetf(np.array([0.0, 1.0])).round(7).tolist()
    [0.0, 1.0]
    """
    E = B.clip(B.as_float(E), 0.0, None)
    low = B.spow(3 * B.clip(E, 0.0, 1 / 12), 0.5)
    # The log branch is evaluated everywhere, so its argument is kept positive for the unused low side.
    high = HLG_A * B.log(B.maximum(12 * E - HLG_B, 1e-12)) + HLG_C
    return B.where(E <= 1 / 12, low, high)


def hlg_inverse_oetf(E_p: Array) -> Array:
    """HLG inverse OETF: the HLG signal back to normalised scene light.

    Args:
        E_p: HLG signal; negatives clip to 0, values above 1 are not clipped (+inf gives +inf).

    Returns:
        Scene light E (in [0, 1] for E' in [0, 1]), same type as ``E_p``; NaN stays NaN.

    Shape:
        Any; applied elementwise.

    >>> round(float(hlg_inverse_oetf(0.5)), 7)
    0.0833333
    """
    E_p = B.clip(B.as_float(E_p), 0.0, None)
    low = E_p * E_p / 3
    high = (B.exp((B.maximum(E_p, 0.5) - HLG_C) / HLG_A) + HLG_B) / 12
    return B.where(E_p <= 0.5, low, high)


def hlg_system_gamma(Lw: float = 1000.0) -> float:
    """HLG system gamma for a display of nominal peak ``Lw``: 1.2 + 0.42 log10(Lw / 1000) (BT.2100-2).

    Args:
        Lw: nominal peak luminance of the display in cd/m2 (> 0).

    Returns:
        The gamma, 1.2 at 1000 cd/m2.

    >>> round(hlg_system_gamma(2000.0), 6)
    1.326433
    """
    return HLG_GAMMA_REF + HLG_GAMMA_PER_DECADE * math.log10(Lw / HLG_LW_REF)


def hlg_ootf(E_scene_rgb: Array, Lw: float = 1000.0, Lb: float = 0.0, axis: int | None = None) -> Array:
    """HLG OOTF: normalised scene-linear RGB to display light (BT.2100 Table 5).

    ``F_D = alpha * Y_S ** (gamma - 1) * E`` with ``alpha = Lw`` and ``Y_S`` the BT.2020 luminance of the scene
    light.

    Args:
        E_scene_rgb: scene-linear RGB in [0, 1]; negatives clip to 0.
        Lw: nominal peak of the display in cd/m2 (sets the system gamma).
        Lb: display black in cd/m2; it only enters the EOTF's black lift, so it has no effect here (accepted
            for a signature uniform with ``hlg_eotf``).
        axis: colour axis (default -1 for numpy, -3 for torch).

    Returns:
        Display light in cd/m2, in [0, Lw], same shape and type; a NaN channel makes the pixel NaN.

    Shape:
        (..., 3) for numpy, (N, 3, H, W) or (N, T, 3, H, W) for torch, or 3 on ``axis``.

    >>> hlg_ootf(np.array([1.0, 1.0, 1.0])).round(6).tolist()
    [1000.0, 1000.0, 1000.0]
    """
    E = B.clip(B.as_float(E_scene_rgb), 0.0, None)
    ax = B.channel_axis(E, axis)
    gamma = hlg_system_gamma(Lw)
    Ys = _luminance_2020(E, ax)
    return Lw * B.spow(Ys, gamma - 1) * E


def hlg_eotf(E_p_rgb: Array, Lw: float = 1000.0, Lb: float = 0.0, axis: int | None = None) -> Array:
    """HLG EOTF: the HLG R'G'B' signal to display light (BT.2100 Table 5).

    ``beta = sqrt(3 (Lb / Lw) ** (1 / gamma))`` lifts black; then the inverse OETF, then the OOTF.

    Args:
        E_p_rgb: HLG R'G'B' signal in [0, 1].
        Lw: nominal peak of the display in cd/m2.
        Lb: display black in cd/m2.
        axis: colour axis (default -1 for numpy, -3 for torch).

    Returns:
        Display light in cd/m2, in [Lb, Lw] for signals in [0, 1], same shape and type.

    Shape:
        3 channels on ``axis``, as ``hlg_ootf``.

    >>> hlg_eotf(np.array([0.75, 0.75, 0.75])).round(3).tolist()
    [203.152, 203.152, 203.152]
    """
    E_p = B.as_float(E_p_rgb)
    gamma = hlg_system_gamma(Lw)
    beta = math.sqrt(3 * (Lb / Lw) ** (1 / gamma))
    lifted = B.maximum((1 - beta) * E_p + beta, 0.0)
    return hlg_ootf(hlg_inverse_oetf(lifted), Lw=Lw, Lb=Lb, axis=axis)


def hlg_inverse_eotf(F_d_rgb: Array, Lw: float = 1000.0, axis: int | None = None) -> Array:
    """HLG inverse EOTF: display light to the HLG signal (BT.2100 Table 5, black at 0 cd/m2).

    The inverse OOTF first (``Y_S = (Y_D / Lw) ** (1 / gamma)``, ``E = F_D / (Lw Y_S ** (gamma - 1))``, the way
    BT.2408 takes a PQ grade to HLG), then the OETF. Display light above ``Lw`` maps past signal 1.0; callers clip.

    Args:
        F_d_rgb: display-linear BT.2020 RGB in cd/m2; negatives clip to 0.
        Lw: nominal peak of the display in cd/m2 (sets the system gamma: 1.2 at 1000).
        axis: colour axis (default -1 for numpy, -3 for torch).

    Returns:
        The HLG R'G'B' signal, same shape and type.

    Shape:
        3 channels on ``axis``, as ``hlg_ootf``.

    >>> hlg_inverse_eotf(np.array([1000.0, 1000.0, 1000.0])).round(6).tolist()
    [1.0, 1.0, 1.0]
    """
    F = B.clip(B.as_float(F_d_rgb), 0.0, None)
    ax = B.channel_axis(F, axis)
    gamma = hlg_system_gamma(Lw)
    Yd = _luminance_2020(F, ax) / Lw
    # E = F / (Lw Ys^(gamma-1)) with Ys = Yd^(1/gamma): one power of Yd; black stays black
    scale = B.spow(B.maximum(Yd, 1e-12), (1 - gamma) / gamma) / Lw
    return hlg_oetf(F * scale)


def _bt1886_constants(Lw: float, Lb: float) -> tuple[float, float]:
    # BT.1886 Annex 1: a is the user gain, b the black lift, both fixed by the display's white and black.
    wg = Lw ** (1 / BT1886_GAMMA)
    bg = Lb ** (1 / BT1886_GAMMA)
    return (wg - bg) ** BT1886_GAMMA, bg / (wg - bg)


def bt1886_eotf(V: Array, Lw: float = 100.0, Lb: float = 0.0) -> Array:
    """BT.1886 reference EOTF: ``L = a * max(V + b, 0) ** 2.4`` (Annex 1).

    Args:
        V: SDR signal, 0 = black and 1 = white; values above 1 (narrow-range super-whites) are allowed and
            not clipped, so +inf gives +inf; negatives give black.
        Lw: display white in cd/m2.
        Lb: display black in cd/m2.

    Returns:
        Luminance in cd/m2 (``Lb`` at V = 0, ``Lw`` at V = 1), same type as ``V``; NaN stays NaN.

    Shape:
        Any; applied elementwise.

    >>> round(float(bt1886_eotf(1.0)), 6)
    100.0
    >>> bt1886_eotf(np.array([0.0, 0.5])).round(4).tolist()
    [0.0, 18.9465]
    """
    a, b = _bt1886_constants(Lw, Lb)
    return a * B.spow(B.as_float(V) + b, BT1886_GAMMA)


def bt1886_inverse_eotf(L: Array, Lw: float = 100.0, Lb: float = 0.0) -> Array:
    """Inverse BT.1886 EOTF: display light to the signal, ``V = (L / a) ** (1 / 2.4) - b``.

    Args:
        L: luminance in cd/m2.
        Lw: display white in cd/m2.
        Lb: display black in cd/m2.

    Returns:
        SDR signal clipped to [0, 1] (+inf light gives 1), same type as ``L``; NaN stays NaN.

    Shape:
        Any; applied elementwise.

    >>> round(float(bt1886_inverse_eotf(100.0)), 6)
    1.0
    """
    a, b = _bt1886_constants(Lw, Lb)
    return B.clip(B.spow(B.as_float(L) / a, 1 / BT1886_GAMMA) - b, 0.0, 1.0)


def bt709_oetf(L: Array) -> Array:
    """BT.709 camera OETF: 4.5 L below 0.018, else 1.099 L ** 0.45 - 0.099 (BT.709-6 item 1.2).

    Args:
        L: scene light in [0, 1]; not clipped (negatives follow the linear segment, +inf gives +inf).

    Returns:
        Signal V in [0, 1] for L in [0, 1], same type as ``L``; NaN stays NaN.

    Shape:
        Any; applied elementwise.

    >>> round(float(bt709_oetf(0.018)), 3)
    0.081
    """
    L = B.as_float(L)
    return B.where(
        L < BT709_BETA,
        BT709_SLOPE * L,
        BT709_ALPHA * B.spow(L, BT709_EXPONENT) - (BT709_ALPHA - 1),
    )


def bt709_inverse_oetf(V: Array) -> Array:
    """Inverse BT.709 OETF: the camera signal back to scene light.

    Args:
        V: signal in [0, 1]; not clipped.

    Returns:
        Scene light L in [0, 1] for V in [0, 1], same type as ``V``; NaN stays NaN.

    Shape:
        Any; applied elementwise.

    >>> round(float(bt709_inverse_oetf(0.5)), 6)
    0.259589
    """
    V = B.as_float(V)
    # The rounded constants leave a 2.4e-4 step at L = 0.018; splitting at the power branch's value there
    # (0.08124) makes the inverse exact for every value the OETF produces.
    knee = BT709_ALPHA * BT709_BETA**BT709_EXPONENT - (BT709_ALPHA - 1)
    return B.where(
        V < knee,
        V / BT709_SLOPE,
        B.spow((V + (BT709_ALPHA - 1)) / BT709_ALPHA, 1 / BT709_EXPONENT),
    )


def _luminance_2020(E, ax):
    kr, kb = KR_KB["bt2020"]
    r, g, b = B.split3(E, ax)
    return kr * r + (1 - kr - kb) * g + kb * b
