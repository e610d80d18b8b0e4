"""Pure signal maths for SDR and HDR video: transfer functions, gamut matrices, Y'CbCr, ICtCp (numpy and torch).

Modules: ``transfer`` (PQ, HLG, BT.1886, BT.709 OETF), ``gamut`` (matrices, BT.2407 clip, luminance),
``ycbcr`` (BT.709 / BT.2020 NCL Y'CbCr, code values, 4:2:0), ``ictcp`` (BT.2100 ICtCp, BT.2124 Delta E ITP).
Every function accepts numpy arrays or torch tensors and returns the same type; the colour channel axis
defaults to -1 for numpy (HWC) and -3 for torch (NCHW / NTCHW).
"""

from . import gamut, ictcp, transfer, ycbcr
from .gamut import *  # noqa: F401,F403
from .ictcp import *  # noqa: F401,F403
from .transfer import *  # noqa: F401,F403
from .ycbcr import *  # noqa: F401,F403

__all__ = transfer.__all__ + gamut.__all__ + ycbcr.__all__ + ictcp.__all__
