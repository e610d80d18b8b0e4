"""Gamut matrices (BT.709, BT.2020, P3-D65, CIE XYZ) derived from the primaries, and gamut clipping.

Functions
---------
rgb_to_xyz_matrix
    Normalised primary matrix from chromaticities, SMPTE RP 177:1993 section 3.3.
apply_matrix
    A 3x3 matrix applied along the channel axis.
gamut_clip_2020_to_709
    ITU-R BT.2407 (2017) section 2: BT.2020 -> BT.709 by the BT.2087 matrix, then hard clipping.
luminance
    Relative luminance from linear RGB with the BT.709-6 item 3.2 / BT.2020-2 Table 4 weights.

Constants
---------
BT709_TO_XYZ, XYZ_TO_BT709, BT2020_TO_XYZ, XYZ_TO_BT2020, P3D65_TO_XYZ, XYZ_TO_P3D65,
BT709_TO_BT2020 (ITU-R BT.2087-0 section 2 matrix), BT2020_TO_BT709 (BT.2407 section 2).

References
----------
- ITU-R BT.709-6 Part 1 item 1.3-1.4 (primaries, D65 white).
- ITU-R BT.2020-2 Table 3 (primaries, D65 white).
- SMPTE EG 432-1:2010 (P3 primaries; P3-D65 uses the D65 white).
- SMPTE RP 177:1993, Derivation of Basic Television Color Equations.
- ITU-R BT.2087-0 (2015), Colour conversion from Recommendation ITU-R BT.709 to BT.2020.
- ITU-R BT.2407 (2017), Colour gamut conversion from Recommendation ITU-R BT.2020 to BT.709.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from . import _backend as B
from ._backend import Array
from .ycbcr import KR_KB

__all__ = [
    "PRIMARIES",
    "D65_XY",
    "rgb_to_xyz_matrix",
    "BT709_TO_XYZ",
    "XYZ_TO_BT709",
    "BT2020_TO_XYZ",
    "XYZ_TO_BT2020",
    "P3D65_TO_XYZ",
    "XYZ_TO_P3D65",
    "BT709_TO_BT2020",
    "BT2020_TO_BT709",
    "apply_matrix",
    "gamut_clip_2020_to_709",
    "luminance",
]

# CIE 1931 xy of the red, green and blue primaries.
PRIMARIES = {
    "bt709": ((0.640, 0.330), (0.300, 0.600), (0.150, 0.060)),  # BT.709-6 item 1.3
    "bt2020": ((0.708, 0.292), (0.170, 0.797), (0.131, 0.046)),  # BT.2020-2 Table 3
    "p3d65": ((0.680, 0.320), (0.265, 0.690), (0.150, 0.060)),  # SMPTE EG 432-1
}
D65_XY = (0.3127, 0.3290)  # BT.709-6 item 1.4, BT.2020-2 Table 3


def rgb_to_xyz_matrix(primaries: Sequence[Sequence[float]], white_xy: tuple[float, float] = D65_XY) -> np.ndarray:
    """Normalised primary matrix (RP 177 section 3.3): linear RGB -> XYZ with RGB (1, 1, 1) -> white, Y = 1.

    Args:
        primaries: CIE 1931 (x, y) of red, green and blue.
        white_xy: (x, y) of the white point.

    Returns:
        float64 3x3 matrix; its middle row is the luminance weights.

    Shape:
        primaries (3, 2) -> (3, 3).

    >>> rgb_to_xyz_matrix(PRIMARIES["bt709"])[1].round(4).tolist()
    [0.2126, 0.7152, 0.0722]
    """
    xy = np.asarray(primaries, dtype=np.float64)
    # Columns are the primaries' XYZ at Y = 1; scaling them so they sum to the white fixes their luminances.
    P = np.stack([xy[:, 0] / xy[:, 1], np.ones(3), (1 - xy[:, 0] - xy[:, 1]) / xy[:, 1]])
    wx, wy = white_xy
    W = np.array([wx / wy, 1.0, (1 - wx - wy) / wy])
    return P * np.linalg.solve(P, W)


BT709_TO_XYZ = rgb_to_xyz_matrix(PRIMARIES["bt709"])
XYZ_TO_BT709 = np.linalg.inv(BT709_TO_XYZ)
BT2020_TO_XYZ = rgb_to_xyz_matrix(PRIMARIES["bt2020"])
XYZ_TO_BT2020 = np.linalg.inv(BT2020_TO_XYZ)
P3D65_TO_XYZ = rgb_to_xyz_matrix(PRIMARIES["p3d65"])
XYZ_TO_P3D65 = np.linalg.inv(P3D65_TO_XYZ)
BT709_TO_BT2020 = XYZ_TO_BT2020 @ BT709_TO_XYZ
BT2020_TO_BT709 = XYZ_TO_BT709 @ BT2020_TO_XYZ

for _m in (BT709_TO_XYZ, XYZ_TO_BT709, BT2020_TO_XYZ, XYZ_TO_BT2020, P3D65_TO_XYZ, XYZ_TO_P3D65):
    _m.setflags(write=False)
for _m in (BT709_TO_BT2020, BT2020_TO_BT709):
    _m.setflags(write=False)
del _m


def apply_matrix(M: np.ndarray, rgb: Array, axis: int | None = None) -> Array:
    """``M @ rgb`` for every colour vector along the channel axis.

    Args:
        M: a 3x3 matrix (cast to ``rgb``'s dtype and device).
        rgb: colours with 3 channels on ``axis``.
        axis: colour axis (default -1 for numpy, -3 for torch).

    Returns:
        The transformed colours, same shape and type as ``rgb``.

    Shape:
        (..., 3) for numpy, (N, 3, H, W) or (N, T, 3, H, W) for torch, or 3 on ``axis``.

    >>> apply_matrix(BT709_TO_BT2020, np.ones(3)).round(7).tolist()
    [1.0, 1.0, 1.0]
    >>> apply_matrix(BT709_TO_BT2020, np.array([1.0, 0.0, 0.0])).round(7).tolist()
    [0.6274039, 0.0690973, 0.0163914]
    """
    return B.matmul_channels(np.asarray(M), rgb, axis)


def gamut_clip_2020_to_709(rgb_linear_2020: Array, axis: int | None = None, upper: float | None = None) -> Array:
    """BT.2020 linear RGB to BT.709 linear RGB, then hard clip (BT.2407 section 2).

    Args:
        rgb_linear_2020: linear BT.2020 RGB, relative or in cd/m2.
        axis: colour axis (default -1 for numpy, -3 for torch).
        upper: top of the clip; None clips negatives only (absolute light), 1.0 for relative SDR signals.

    Returns:
        Linear BT.709 RGB in ``[0, upper]``, same shape and type.

    Shape:
        3 channels on ``axis``.

    >>> gamut_clip_2020_to_709(np.array([0.0, 1.0, 0.0]), upper=1.0).round(4).tolist()
    [0.0, 1.0, 0.0]
    """
    rgb709 = B.matmul_channels(BT2020_TO_BT709, rgb_linear_2020, axis)
    return B.clip(rgb709, 0.0, upper)


def luminance(rgb: Array, primaries: str = "bt2020", axis: int | None = None) -> Array:
    """Relative luminance ``Kr R + Kg G + Kb B`` of linear RGB, keeping a size-1 channel axis.

    Uses the standards' rounded weights (BT.709: 0.2126/0.7152/0.0722, BT.2020: 0.2627/0.6780/0.0593), the
    same as Y'CbCr and the HLG OOTF.

    Args:
        rgb: linear RGB.
        primaries: ``'bt709'`` or ``'bt2020'``.
        axis: colour axis (default -1 for numpy, -3 for torch).

    Returns:
        Luminance in the units of ``rgb``.

    Shape:
        The input's shape with the colour axis reduced to size 1.

    Raises:
        ValueError: unknown primaries.

    >>> float(luminance(np.array([1.0, 1.0, 1.0]), "bt709")[0])
    1.0
    >>> luminance(np.zeros((2, 4, 3))).shape
    (2, 4, 1)
    """
    try:
        kr, kb = KR_KB[primaries.lower()]
    except KeyError:
        raise ValueError(f"unknown primaries {primaries!r}; expected one of {sorted(KR_KB)}") from None
    rgb = B.as_float(rgb)
    r, g, b = B.split3(rgb, B.channel_axis(rgb, axis))
    return kr * r + (1 - kr - kb) * g + kb * b
