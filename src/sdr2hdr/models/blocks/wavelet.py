"""One-level orthonormal 2-D Haar wavelet transform and its inverse, on batched feature maps.

Defines:
    haar_dwt(x) -> (ll, lh, hl, hh)   each (N,C,H/2,W/2); H and W must be even.
    haar_idwt(ll, lh, hl, hh) -> x    exact inverse (the Haar matrix is symmetric and orthogonal).

Sub-band names: lh holds differences along W (vertical edges), hl differences along H (horizontal edges),
hh the diagonal. Used by DIDNet's wavelet attention (eq. 10). Own implementation (no ptwt / pytorch_wavelets).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor


def _haar_matrix(dtype: torch.dtype, device: torch.device) -> Tensor:
    # rows: ll, lh, hl, hh; columns: the 2x2 block in pixel_unshuffle order (0,0), (0,1), (1,0), (1,1)
    m = torch.tensor(
        [[1.0, 1.0, 1.0, 1.0], [1.0, -1.0, 1.0, -1.0], [1.0, 1.0, -1.0, -1.0], [1.0, -1.0, -1.0, 1.0]],
        dtype=dtype,
        device=device,
    )
    return m * 0.5


def haar_dwt(x: Tensor) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """Haar analysis of (N,C,H,W) x into four (N,C,H/2,W/2) sub-bands (ll, lh, hl, hh)."""
    n, c, h, w = x.shape
    if h % 2 or w % 2:
        raise ValueError(f"haar_dwt needs even height and width, got {h}x{w}")
    blocks = F.pixel_unshuffle(x, 2).view(n, c, 4, h // 2, w // 2)
    bands = torch.einsum("kj,ncjhw->nckhw", _haar_matrix(x.dtype, x.device), blocks)
    return bands[:, :, 0], bands[:, :, 1], bands[:, :, 2], bands[:, :, 3]


def haar_idwt(ll: Tensor, lh: Tensor, hl: Tensor, hh: Tensor) -> Tensor:
    """Haar synthesis: the (N,C,2h,2w) map whose haar_dwt is (ll, lh, hl, hh)."""
    n, c, h, w = ll.shape
    bands = torch.stack((ll, lh, hl, hh), dim=2)
    # the matrix is its own inverse, so synthesis uses it unchanged
    blocks = torch.einsum("kj,nckhw->ncjhw", _haar_matrix(ll.dtype, ll.device), bands)
    return F.pixel_shuffle(blocks.reshape(n, c * 4, h, w), 2)
