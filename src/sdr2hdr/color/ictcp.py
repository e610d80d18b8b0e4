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
from ._backend import Array
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


def rgb2020_to_ictcp(rgb_linear_cd: Array, axis: int | None = None) -> Array:
    """Linear BT.2020 RGB in absolute cd/m2 to ICtCp (the PQ variant of BT.2100 Table 7).

    Args:
        rgb_linear_cd: linear BT.2020 RGB in cd/m2, [0, 10000] (outside clips in the PQ step).
        axis: colour axis (default -1 for numpy, -3 for torch).

    Returns:
        I in [0, 1], Ct and Cp about [-0.5, 0.5], same shape and type.

    Shape:
        3 channels on ``axis``.

    >>> rgb2020_to_ictcp(np.array([0.45620519, 0.03081071, 0.04091952])).round(8).tolist()
    [0.07351364, 0.00475253, 0.09351596]
    """
    lms = B.matmul_channels(RGB2020_TO_LMS, rgb_linear_cd, axis)
    return B.matmul_channels(LMS_P_TO_ICTCP, pq_inverse_eotf(lms), axis)


def ictcp_to_rgb2020(ictcp: Array, axis: int | None = None) -> Array:
    """ICtCp (PQ) back to linear BT.2020 RGB in cd/m2, the inverse of ``rgb2020_to_ictcp``.

    Args:
        ictcp: I in [0, 1], Ct and Cp about [-0.5, 0.5].
        axis: colour axis (default -1 for numpy, -3 for torch).

    Returns:
        Linear BT.2020 RGB in cd/m2, in [0, 10000] for colours inside the PQ container (L'M'S' outside [0, 1]
        is clipped by the PQ EOTF).

    Shape:
        3 channels on ``axis``.

    >>> ictcp_to_rgb2020(rgb2020_to_ictcp(np.array([100.0, 50.0, 10.0]))).round(6).tolist()
    [100.0, 50.0, 10.0]
    """
    lms_p = B.matmul_channels(np.linalg.inv(LMS_P_TO_ICTCP), ictcp, axis)
    return B.matmul_channels(np.linalg.inv(RGB2020_TO_LMS), pq_eotf(lms_p), axis)


def delta_e_itp(ictcp_a: Array, ictcp_b: Array, axis: int | None = None) -> Array:
    """Per-pixel Delta E ITP: ``720 sqrt(dI^2 + (0.5 dCt)^2 + dCp^2)`` (BT.2124).

    Args:
        ictcp_a, ictcp_b: two ICtCp arrays of the same shape.
        axis: colour axis (default -1 for numpy, -3 for torch).

    Returns:
        The difference, >= 0; 1.0 is about one just-noticeable difference.

    Shape:
        The inputs' shape without the colour axis.

    >>> a = np.array([0.4885468072, -0.04739350675, 0.07475401302])
    >>> b = np.array([0.4899203231, -0.04567508203, 0.07361341775])
    >>> round(float(delta_e_itp(a, b)), 8)
    1.42657228
    """
    a = B.as_float(ictcp_a)
    b = B.as_float(ictcp_b)
    ax = B.channel_axis(a, axis)
    dI, dCt, dCp = B.split3(a - b, ax)
    sq = dI * dI + (ITP_CT_WEIGHT * dCt) ** 2 + dCp * dCp
    # spow instead of sqrt keeps the gradient finite (zero) where the two colours are identical.
    d = ITP_SCALE * B.spow(sq, 0.5)
    return d.squeeze(ax)


def delta_e_itp_pq(pq_rgb_a: Array, pq_rgb_b: Array, axis: int | None = None) -> Array:
    """Per-pixel Delta E ITP between two PQ BT.2020 R'G'B' signals (PQ EOTF, ICtCp, BT.2124).

    Args:
        pq_rgb_a, pq_rgb_b: PQ R'G'B' in [0, 1], same shape.
        axis: colour axis (default -1 for numpy, -3 for torch).

    Returns:
        The difference per pixel, >= 0.

    Shape:
        The inputs' shape without the colour axis, e.g. (H, W, 3) -> (H, W), (N, 3, H, W) -> (N, H, W).

    >>> grey = pq_inverse_eotf(np.array([[100.0] * 3, [101.0] * 3]))
    >>> round(float(delta_e_itp_pq(grey[0], grey[1])), 4)
    0.7193
    """
    a = rgb2020_to_ictcp(pq_eotf(pq_rgb_a), axis)
    b = rgb2020_to_ictcp(pq_eotf(pq_rgb_b), axis)
    return delta_e_itp(a, b, axis)
