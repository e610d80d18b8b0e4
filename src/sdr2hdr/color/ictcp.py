"""ICtCp (BT.2100 PQ) and the Delta E ITP colour difference used to score HDR output.

Functions
---------
rgb2020_to_ictcp, ictcp_to_rgb2020
    ITU-R BT.2100-2 Table 7 (ICtCp, PQ variant).
delta_e_itp, delta_e_itp_pq
    ITU-R BT.2124-0 (2019) section 2, equation (1).

References
----------
- ITU-R BT.2100-2 (2018), Image parameter values for high dynamic range television.
- ITU-R BT.2124-0 (2019), Objective metric for the assessment of the potential visibility of colour
  differences in television.
"""

from __future__ import annotations

import numpy as np

from . import _backend as B
from .transfer import pq_eotf, pq_inverse_eotf

__all__ = [
    "RGB2020_TO_LMS",
    "LMS_P_TO_ICTCP",
    "rgb2020_to_ictcp",
    "ictcp_to_rgb2020",
    "delta_e_itp",
    "delta_e_itp_pq",
]

# BT.2100-2 Table 7: linear BT.2020 RGB -> LMS, and PQ-encoded L'M'S' -> ICtCp.
RGB2020_TO_LMS = np.array([[1688, 2146, 262], [683, 2951, 462], [99, 309, 3688]]) / 4096
LMS_P_TO_ICTCP = np.array([[2048, 2048, 0], [6610, -13613, 7003], [17933, -17390, -543]]) / 4096

# BT.2124-0 equation (1): Ct is halved to make T = Ct / 2; 720 puts one unit near one JND.
ITP_SCALE = 720.0
ITP_CT_WEIGHT = 0.5


def rgb2020_to_ictcp(rgb_linear_cd, axis=None):
    """Linear BT.2020 RGB in absolute cd/m2 to ICtCp (PQ).

    Domain: cd/m2 in [0, 10000] along the channel axis. Range: I in [0, 1], Ct and Cp about [-0.5, 0.5].
    """
    lms = B.matmul_channels(RGB2020_TO_LMS, rgb_linear_cd, axis)
    return B.matmul_channels(LMS_P_TO_ICTCP, pq_inverse_eotf(lms), axis)


def ictcp_to_rgb2020(ictcp, axis=None):
    """ICtCp (PQ) back to linear BT.2020 RGB in cd/m2 (the inverse of ``rgb2020_to_ictcp``).

    Domain: I in [0, 1], Ct and Cp about [-0.5, 0.5]. Range: cd/m2 in [0, 10000] for colours inside the PQ
    container (LMS out of [0, 1] in PQ is clipped by the PQ EOTF).
    """
    lms_p = B.matmul_channels(np.linalg.inv(LMS_P_TO_ICTCP), ictcp, axis)
    return B.matmul_channels(np.linalg.inv(RGB2020_TO_LMS), pq_eotf(lms_p), axis)


def delta_e_itp(ictcp_a, ictcp_b, axis=None):
    """Per-pixel Delta E ITP: ``720 sqrt(dI^2 + (0.5 dCt)^2 + dCp^2)`` (BT.2124).

    Domain: two ICtCp arrays of the same shape. Range: >= 0, channel axis removed; 1.0 is about one JND.
    """
    a = B.as_float(ictcp_a)
    b = B.as_float(ictcp_b)
    ax = B.channel_axis(a, axis)
    dI, dCt, dCp = B.split3(a - b, ax)
    sq = dI * dI + (ITP_CT_WEIGHT * dCt) ** 2 + dCp * dCp
    # spow instead of sqrt keeps the gradient finite (zero) where the two colours are identical.
    d = ITP_SCALE * B.spow(sq, 0.5)
    return d.squeeze(ax)


def delta_e_itp_pq(pq_rgb_a, pq_rgb_b, axis=None):
    """Per-pixel Delta E ITP between two PQ BT.2020 R'G'B' signals (PQ EOTF -> cd/m2 -> ICtCp -> BT.2124).

    Domain: PQ R'G'B' in [0, 1] along the channel axis. Range: >= 0, channel axis removed.
    """
    a = rgb2020_to_ictcp(pq_eotf(pq_rgb_a), axis)
    b = rgb2020_to_ictcp(pq_eotf(pq_rgb_b), axis)
    return delta_e_itp(a, b, axis)
