"""Curves between the SDR and HDR signals: forward TMOs that synthesise SDR, classical inverse mappings.

Modules: ``forward`` (BT.2446 A/C, BT.2390 EETF, Hable, Reinhard, camera model) and ``inverse`` (BT.2408 direct
mapping, BT.2446 A and C inverses). Numpy arrays and torch tensors alike; channel axis -1 numpy, -3 torch.
"""

from . import forward, inverse
from .forward import *  # noqa: F401,F403
from .inverse import *  # noqa: F401,F403

__all__ = forward.__all__ + inverse.__all__
