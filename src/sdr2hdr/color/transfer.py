"""Transfer functions between code values and light: PQ, HLG, BT.1886 and the BT.709 OETF.

Functions
---------
pq_eotf, pq_inverse_eotf
    SMPTE ST 2084 / ITU-R BT.2100-2 Table 4 (PQ), absolute: 1.0 = 10000 cd/m2.
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
from .ycbcr import KR_KB

__all__ = [
    "pq_eotf",
    "pq_inverse_eotf",
    "hlg_oetf",
    "hlg_inverse_oetf",
    "hlg_ootf",
    "hlg_eotf",
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


def pq_eotf(E):
    """PQ non-linear signal to absolute display light.

    Domain: ``E`` in [0, 1] (values outside are clipped). Range: cd/m2 in [0, 10000].

    >>> round(float(pq_eotf(0.5806888810416109)), 3)
    203.0
    """
    E = B.clip(B.as_float(E), 0.0, 1.0)
    Ep = B.spow(E, 1 / PQ_M2)
    # Below the PQ toe (E < c1**m2, about 7e-7) the numerator is negative; the standard's max(.,0) gives 0 light.
    num = B.maximum(Ep - PQ_C1, 0.0)
    den = PQ_C2 - PQ_C3 * Ep
    return PQ_PEAK * B.spow(num / den, 1 / PQ_M1)


def pq_inverse_eotf(L_cd):
    """Absolute display light to the PQ non-linear signal.

    Domain: cd/m2; negatives clip to 0, above 10000 clip to 10000. Range: ``E`` in [0, 1].

    >>> round(float(pq_inverse_eotf(203.0)), 7)
    0.5806889
    """
    L_cd = B.as_float(L_cd)
    if not B.is_torch(L_cd):
        return _pq_inverse_eotf_numpy(L_cd)
    Ym = B.spow(B.clip(L_cd / PQ_PEAK, 0.0, 1.0), PQ_M1)
    return B.spow((PQ_C1 + PQ_C2 * Ym) / (1 + PQ_C3 * Ym), PQ_M2)


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


def hlg_oetf(E):
    """HLG OETF: normalised scene light to the HLG signal.

    Domain: ``E`` in [0, 1] (negatives clip to 0). Range: ``E'`` in [0, 1].

    >>> round(float(hlg_oetf(1 / 12)), 7)
    0.5
    """
    E = B.clip(B.as_float(E), 0.0, None)
    low = B.spow(3 * B.clip(E, 0.0, 1 / 12), 0.5)
    # The log branch is evaluated everywhere, so its argument is kept positive for the unused low side.
    high = HLG_A * B.log(B.maximum(12 * E - HLG_B, 1e-12)) + HLG_C
    return B.where(E <= 1 / 12, low, high)


def hlg_inverse_oetf(E_p):
    """HLG inverse OETF: the HLG signal back to normalised scene light.

    Domain: ``E'`` in [0, 1] (negatives clip to 0). Range: ``E`` in [0, 1].

    >>> round(float(hlg_inverse_oetf(0.5)), 7)
    0.0833333
    """
    E_p = B.clip(B.as_float(E_p), 0.0, None)
    low = E_p * E_p / 3
    high = (B.exp((B.maximum(E_p, 0.5) - HLG_C) / HLG_A) + HLG_B) / 12
    return B.where(E_p <= 0.5, low, high)


def hlg_system_gamma(Lw: float = 1000.0) -> float:
    """HLG system gamma for a display of nominal peak ``Lw`` cd/m2: 1.2 + 0.42 log10(Lw / 1000) (BT.2100-2).

    Domain: ``Lw`` in cd/m2 (> 0). Range: gamma, 1.2 at 1000 cd/m2.

    >>> round(hlg_system_gamma(2000.0), 6)
    1.326433
    """
    return HLG_GAMMA_REF + HLG_GAMMA_PER_DECADE * math.log10(Lw / HLG_LW_REF)


def hlg_ootf(E_scene_rgb, Lw: float = 1000.0, Lb: float = 0.0, axis=None):
    """HLG OOTF: normalised scene-linear RGB to display light, BT.2100-2 Table 5.

    ``F_D = alpha * Y_S ** (gamma - 1) * E`` with ``alpha = Lw``, ``Y_S`` the BT.2020 luminance of the scene
    light. ``Lb`` only enters the EOTF through the black-level lift (BT.2100-2), so it is accepted here for a
    uniform signature and has no effect.

    Domain: scene RGB in [0, 1] along the channel axis. Range: cd/m2 in [0, Lw].
    """
    E = B.clip(B.as_float(E_scene_rgb), 0.0, None)
    ax = B.channel_axis(E, axis)
    gamma = hlg_system_gamma(Lw)
    Ys = _luminance_2020(E, ax)
    return Lw * B.spow(Ys, gamma - 1) * E


def hlg_eotf(E_p_rgb, Lw: float = 1000.0, Lb: float = 0.0, axis=None):
    """HLG EOTF: the HLG R'G'B' signal to display light, BT.2100-2 Table 5.

    ``beta = sqrt(3 (Lb / Lw) ** (1 / gamma))`` lifts black; then inverse OETF, then OOTF.

    Domain: ``E'`` in [0, 1] along the channel axis. Range: cd/m2 in [0, Lw].
    """
    E_p = B.as_float(E_p_rgb)
    gamma = hlg_system_gamma(Lw)
    beta = math.sqrt(3 * (Lb / Lw) ** (1 / gamma))
    lifted = B.maximum((1 - beta) * E_p + beta, 0.0)
    return hlg_ootf(hlg_inverse_oetf(lifted), Lw=Lw, Lb=Lb, axis=axis)


def _bt1886_constants(Lw: float, Lb: float) -> tuple[float, float]:
    # BT.1886 Annex 1: a is the user gain, b the black lift, both fixed by the display's white and black.
    wg = Lw ** (1 / BT1886_GAMMA)
    bg = Lb ** (1 / BT1886_GAMMA)
    return (wg - bg) ** BT1886_GAMMA, bg / (wg - bg)


def bt1886_eotf(V, Lw: float = 100.0, Lb: float = 0.0):
    """BT.1886 reference EOTF: ``L = a * max(V + b, 0) ** 2.4``.

    Domain: ``V`` in [0, 1] (values above 1, e.g. narrow-range super-whites, are allowed). Range: cd/m2,
    ``Lb`` at V = 0 and ``Lw`` at V = 1.

    >>> round(float(bt1886_eotf(1.0)), 6)
    100.0
    """
    a, b = _bt1886_constants(Lw, Lb)
    return a * B.spow(B.as_float(V) + b, BT1886_GAMMA)


def bt1886_inverse_eotf(L, Lw: float = 100.0, Lb: float = 0.0):
    """Inverse BT.1886 EOTF: display light to the signal, ``V = (L / a) ** (1 / 2.4) - b``.

    Domain: cd/m2. Range: ``V`` clipped to [0, 1].

    >>> round(float(bt1886_inverse_eotf(100.0)), 6)
    1.0
    """
    a, b = _bt1886_constants(Lw, Lb)
    return B.clip(B.spow(B.as_float(L) / a, 1 / BT1886_GAMMA) - b, 0.0, 1.0)


def bt709_oetf(L):
    """BT.709 camera OETF: 4.5 L below 0.018, else 1.099 L ** 0.45 - 0.099.

    Domain: scene light ``L`` in [0, 1]. Range: ``V`` in [0, 1].

    >>> round(float(bt709_oetf(0.018)), 3)
    0.081
    """
    L = B.as_float(L)
    return B.where(
        L < BT709_BETA,
        BT709_SLOPE * L,
        BT709_ALPHA * B.spow(L, BT709_EXPONENT) - (BT709_ALPHA - 1),
    )


def bt709_inverse_oetf(V):
    """Inverse BT.709 OETF.

    Domain: ``V`` in [0, 1]. Range: scene light ``L`` in [0, 1].

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
