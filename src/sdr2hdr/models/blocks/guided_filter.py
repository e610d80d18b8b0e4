"""Guided image filter (He et al., TPAMI 2013), as Deep SR-ITM and GPGMNet use it.

Defines:
    box_filter(x, window)            mean over a window x window box, replicate padding.
    guided_filter(p, guide, window, eps)
    self_guided_filter(x, window, eps)   each channel guided by itself (Deep SR-ITM's base layer).
    GuidedFilter                      the same as a module, no parameters.

Reference: Deep SR-ITM authors' GuidedFiltering layer (MatConvNet): r=5 is the *window side* (a 5x5 box, not
radius 5), eps=0.01, MATLAB imfilter with 'replicate' borders.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

DEEP_SR_ITM_WINDOW = 5
DEEP_SR_ITM_EPS = 0.01


def box_filter(x: Tensor, window: int) -> Tensor:
    """Mean of each window x window neighbourhood of (N,C,H,W) x, borders replicated, same size out."""
    if window % 2 != 1:
        raise ValueError(f"window must be odd, got {window}")
    r = window // 2
    # replicate padding matches imfilter(..., 'replicate'); avg_pool then never sees a border
    xp = F.pad(x, (r, r, r, r), mode="replicate")
    return F.avg_pool2d(xp, window, stride=1)


def guided_filter(p: Tensor, guide: Tensor, window: int = DEEP_SR_ITM_WINDOW, eps: float = DEEP_SR_ITM_EPS) -> Tensor:
    """Guided filter of p with guide, channel by channel (guide has p's channels or 1); (N,C,H,W) in and out."""
    mean_i = box_filter(guide, window)
    mean_p = box_filter(p, window)
    cov_ip = box_filter(guide * p, window) - mean_i * mean_p
    var_i = box_filter(guide * guide, window) - mean_i * mean_i
    a = cov_ip / (var_i + eps)  # He et al. eq. (5)
    b = mean_p - a * mean_i  # eq. (6)
    return box_filter(a, window) * guide + box_filter(b, window)  # eq. (8)


def self_guided_filter(x: Tensor, window: int = DEEP_SR_ITM_WINDOW, eps: float = DEEP_SR_ITM_EPS) -> Tensor:
    """Each channel of x filtered with itself as guide: the edge-preserving base layer of Deep SR-ITM."""
    return guided_filter(x, x, window, eps)


class GuidedFilter(nn.Module):
    """Self-guided filter as a module (no parameters), computed in float32 for stable variances."""

    def __init__(self, window: int = DEEP_SR_ITM_WINDOW, eps: float = DEEP_SR_ITM_EPS) -> None:
        super().__init__()
        self.window = window
        self.eps = eps

    def forward(self, x: Tensor) -> Tensor:
        # var = E[x^2] - E[x]^2 cancels badly in bf16; the filter is cheap, so run it in fp32
        with torch.autocast(device_type=x.device.type, enabled=False):
            return self_guided_filter(x.float(), self.window, self.eps).to(x.dtype)

    def extra_repr(self) -> str:
        return f"window={self.window}, eps={self.eps}"
