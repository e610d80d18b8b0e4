"""Feature and kernel modulation layers.

Defines:
    GFM            global feature modulation of a conv output, y = conv(x) * scale + shift (+ conv(x)) (CSRNet,
                   AGCM; DIDNet eq. 6). `ops(h, w)` counts its per-sample modulation operations.
    DMC            DIDNet's dual modulated convolution: the kernel is modulated, W'[o,i] = W[o,i] * alpha[o] *
                   gamma[i], b' = b + beta (DIDNet eqs. 8-9), one kernel per sample via a grouped convolution.
                   `ops(h, w)` counts its per-sample modulation operations (independent of h, w).
    dual_feature_modulation   the reference the DMC must equal: modulate input by gamma, convolve, scale
                   by alpha, shift by beta.
    SFTLayer       spatial feature transform (Wang et al. CVPR 2018) as HDRUNet uses it: x * (scale + 1) + shift.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .conv_init import init_like_conv2d


class GFM(nn.Module):
    """A conv followed by global feature modulation from a condition vector through two linear maps."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        cond_dim: int,
        kernel_size: int = 1,
        residual: bool = True,
    ) -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size, padding=kernel_size // 2)
        self.cond_scale = nn.Linear(cond_dim, out_channels)
        self.cond_shift = nn.Linear(cond_dim, out_channels)
        # CSRNet / AGCM write out * scale + shift + out: the identity path keeps the untrained map near conv(x)
        self.residual = residual

    def forward(self, x: Tensor, cond: Tensor) -> Tensor:
        out = self.conv(x)
        scale = self.cond_scale(cond)[:, :, None, None]
        shift = self.cond_shift(cond)[:, :, None, None]
        if self.residual:
            scale = scale + 1.0  # out * scale + shift + out, folded into one pass over the full-size map
        return torch.addcmul(shift.to(out.dtype), out, scale.to(out.dtype))  # DIDNet eq. 6

    def ops(self, height: int, width: int) -> int:
        """Per-sample modulation operations on an HxW output: one multiply and one add per output value."""
        return 2 * height * width * self.conv.out_channels


def dual_feature_modulation(
    x: Tensor,
    weight: Tensor,
    bias: Tensor | None,
    alpha: Tensor,
    beta: Tensor,
    gamma: Tensor | None,
    padding: int,
) -> Tensor:
    """Dual feature modulation written literally, DIDNet eq. 9 (left side): y = (W * (x . gamma)) . alpha + b + beta.

    The reference a DMC must equal. As in eqs. 7-9 the conv bias b is added after the alpha scaling.
    """
    if gamma is not None:
        x = x * gamma[:, :, None, None]
    y = F.conv2d(x, weight, None, padding=padding)
    y = y * alpha[:, :, None, None]
    if bias is not None:
        y = y + bias[None, :, None, None]
    return y + beta[:, :, None, None]


class DMC(nn.Module):
    """Dual modulated convolution: per-sample kernel W * alpha[o] * gamma[i], bias b + beta (DIDNet eq. 9)."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int = 3,
        bias: bool = True,
        dual: bool = True,
    ) -> None:
        super().__init__()
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.kernel_size = kernel_size
        # dual=False is the single (output-side) kernel modulation of DIDNet eq. 8, the "CKM" of table 5
        self.dual = dual
        self.weight = nn.Parameter(torch.empty(out_channels, in_channels, kernel_size, kernel_size))
        self.bias = nn.Parameter(torch.empty(out_channels)) if bias else None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        # as nn.Conv2d, so a DMC with alpha=gamma=1, beta=0 starts as a plain conv
        init_like_conv2d(self.weight, self.bias)

    @property
    def condition_dims(self) -> dict[str, int]:
        """Sizes of the modulation vectors this layer takes, by name."""
        dims = {"alpha": self.out_channels, "beta": self.out_channels}
        if self.dual:
            dims["gamma"] = self.in_channels
        return dims

    def modulated_kernel(self, alpha: Tensor, beta: Tensor, gamma: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """Per-sample kernels (N,O,I,k,k) and biases (N,O) of eq. 9's right side."""
        w = self.weight[None] * alpha[:, :, None, None, None]  # eq. 8: alpha scales each output filter
        if self.dual:
            if gamma is None:
                raise ValueError("a dual DMC needs gamma")
            w = w * gamma[:, None, :, None, None]  # eq. 9: gamma scales each input channel of every filter
        b = beta if self.bias is None else self.bias[None] + beta
        return w, b

    def forward(self, x: Tensor, alpha: Tensor, beta: Tensor, gamma: Tensor | None = None) -> Tensor:
        n, c, h, w = x.shape
        weight, bias = self.modulated_kernel(alpha, beta, gamma)
        k = self.kernel_size
        # one grouped convolution runs every sample with its own kernel: batch folded into channels
        y = F.conv2d(
            x.reshape(1, n * c, h, w),
            weight.reshape(n * self.out_channels, self.in_channels, k, k).to(x.dtype),
            bias.reshape(n * self.out_channels).to(x.dtype),
            padding=k // 2,
            groups=n,
        )
        return y.view(n, self.out_channels, y.shape[-2], y.shape[-1])

    def ops(self, height: int = 0, width: int = 0) -> int:
        """Per-sample modulation operations: C_O*C_I*k*k per modulation vector applied to W, plus C_O for beta.

        Independent of the feature size; height and width are accepted only to share GFM.ops' signature.
        """
        per_vector = self.out_channels * self.in_channels * self.kernel_size**2
        return per_vector * (2 if self.dual else 1) + self.out_channels

    def extra_repr(self) -> str:
        return f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, dual={self.dual}"


class SFTLayer(nn.Module):
    """Spatial feature transform: two 1x1 conv pairs map a condition map to scale and shift, x * (scale + 1) + shift."""

    def __init__(self, cond_channels: int = 32, out_channels: int = 64, mid: int = 32, slope: float = 0.1) -> None:
        super().__init__()
        self.scale_conv0 = nn.Conv2d(cond_channels, mid, 1)
        self.scale_conv1 = nn.Conv2d(mid, out_channels, 1)
        self.shift_conv0 = nn.Conv2d(cond_channels, mid, 1)
        self.shift_conv1 = nn.Conv2d(mid, out_channels, 1)
        self.slope = slope

    def forward(self, x: Tensor, cond: Tensor) -> Tensor:
        scale = self.scale_conv1(F.leaky_relu(self.scale_conv0(cond), self.slope))
        shift = self.shift_conv1(F.leaky_relu(self.shift_conv0(cond), self.slope))
        # +1 so that a zero condition leaves x unchanged
        return x * (scale + 1.0) + shift
