"""Deformable convolution (DCN v1, and v2 with a modulation mask) with two interchangeable implementations.

Defines:
    deform_conv2d_grid_sample(...)  the same maths as torchvision.ops.deform_conv2d, built from one
                                    F.grid_sample call and one matrix product; several times faster on CPU.
    deform_conv2d(..., impl)        dispatch: "torchvision", "grid_sample" or "auto" (grid_sample on CPU,
                                    torchvision elsewhere).
    DeformConv2d                    a module holding the weight, taking offsets (and mask) per call.

Offset layout follows torchvision: (N, 2*G*kh*kw, Ho, Wo), channel 2*(g*K + k) is the row (y) shift and
2*(g*K + k) + 1 the column (x) shift of tap k = i*kw + j of offset group g; the mask is (N, G*K, Ho, Wo).
Sampling is bilinear with zeros outside the map, as in torchvision's kernel.
"""

from __future__ import annotations

from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torchvision.ops import deform_conv2d as tv_deform_conv2d

from .conv_init import init_like_conv2d

Impl = Literal["auto", "torchvision", "grid_sample"]


def _pair(v: int | tuple[int, int]) -> tuple[int, int]:
    return (v, v) if isinstance(v, int) else (int(v[0]), int(v[1]))


def deform_conv2d_grid_sample(
    x: Tensor,
    offset: Tensor,
    weight: Tensor,
    bias: Tensor | None = None,
    stride: int | tuple[int, int] = 1,
    padding: int | tuple[int, int] = 0,
    dilation: int | tuple[int, int] = 1,
    mask: Tensor | None = None,
) -> Tensor:
    """Deformable convolution computed by bilinear sampling with F.grid_sample, then a matrix product."""
    n, c, h, w = x.shape
    out_c, c_w, kh, kw = weight.shape
    if c_w != c:
        raise ValueError("grouped deformable convolution (weight groups > 1) is not supported")
    sh, sw = _pair(stride)
    ph, pw = _pair(padding)
    dh, dw = _pair(dilation)
    ho, wo = offset.shape[-2:]
    k = kh * kw
    groups = offset.shape[1] // (2 * k)
    if groups * 2 * k != offset.shape[1] or c % groups:
        raise ValueError(f"offset channels {offset.shape[1]} do not fit kernel {kh}x{kw} and {c} input channels")

    dtype, dev = offset.dtype, offset.device
    tap_y = (torch.arange(kh, device=dev, dtype=dtype) * dh).repeat_interleave(kw)
    tap_x = (torch.arange(kw, device=dev, dtype=dtype) * dw).repeat(kh)
    base_y = (torch.arange(ho, device=dev, dtype=dtype) * sh - ph)[None, :, None] + tap_y[:, None, None]
    base_x = (torch.arange(wo, device=dev, dtype=dtype) * sw - pw)[None, None, :] + tap_x[:, None, None]
    # align_corners=False maps pixel p to (2p + 1)/size - 1 exactly (no division by size - 1); the base grid is
    # normalised once and the offsets only scaled, which halves the full-size arithmetic
    off = offset.view(n, groups, k, 2, ho, wo)
    grid_x = torch.add((2.0 * base_x + 1.0) / w - 1.0, off[:, :, :, 1], alpha=2.0 / w)
    grid_y = torch.add((2.0 * base_y + 1.0) / h - 1.0, off[:, :, :, 0], alpha=2.0 / h)
    grid = torch.stack((grid_x, grid_y), dim=-1).view(n * groups, k * ho, wo, 2).to(x.dtype)
    sampled = F.grid_sample(
        x.reshape(n * groups, c // groups, h, w), grid, mode="bilinear", padding_mode="zeros", align_corners=False
    )
    sampled = sampled.view(n, groups, c // groups, k, ho, wo)
    if mask is not None:
        sampled = sampled * mask.view(n, groups, 1, k, ho, wo).to(sampled.dtype)
    cols = sampled.reshape(n, c * k, ho * wo)
    out = torch.matmul(weight.reshape(out_c, c * k).to(cols.dtype), cols)
    if bias is not None:
        out = out + bias.to(out.dtype)[None, :, None]
    return out.view(n, out_c, ho, wo)


def _torchvision_fp32(
    x: Tensor,
    offset: Tensor,
    weight: Tensor,
    bias: Tensor | None,
    stride: tuple[int, int],
    padding: tuple[int, int],
    dilation: tuple[int, int],
    mask: Tensor | None,
) -> Tensor:
    # torchvision's CPU kernel takes one dtype for all tensors; under autocast they arrive mixed
    dtype = x.dtype
    with torch.autocast(device_type=x.device.type, enabled=False):
        out = tv_deform_conv2d(
            x.float(),
            offset.float(),
            weight.float(),
            None if bias is None else bias.float(),
            stride=stride,
            padding=padding,
            dilation=dilation,
            mask=None if mask is None else mask.float(),
        )
    return out.to(dtype)


def resolve_impl(impl: Impl, device: torch.device) -> str:
    """The implementation "auto" picks on a device: grid_sample on CPU (measured faster), torchvision elsewhere."""
    if impl == "auto":
        return "grid_sample" if device.type == "cpu" else "torchvision"
    if impl not in ("torchvision", "grid_sample"):
        raise ValueError(f"unknown deformable convolution implementation {impl!r}")
    return impl


def deform_conv2d(
    x: Tensor,
    offset: Tensor,
    weight: Tensor,
    bias: Tensor | None = None,
    stride: int | tuple[int, int] = 1,
    padding: int | tuple[int, int] = 0,
    dilation: int | tuple[int, int] = 1,
    mask: Tensor | None = None,
    impl: Impl = "auto",
) -> Tensor:
    """Deformable convolution with torchvision.ops.deform_conv2d's signature and the chosen implementation."""
    if resolve_impl(impl, x.device) == "grid_sample":
        return deform_conv2d_grid_sample(x, offset, weight, bias, stride, padding, dilation, mask)
    return _torchvision_fp32(x, offset, weight, bias, _pair(stride), _pair(padding), _pair(dilation), mask)


class DeformConv2d(nn.Module):
    """Deformable conv layer: weight and bias here, offsets (and DCN v2 mask) given per call."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int = 3,
        stride: int = 1,
        padding: int = 1,
        dilation: int = 1,
        offset_groups: int = 1,
        bias: bool = True,
        impl: Impl = "auto",
    ) -> None:
        super().__init__()
        if in_channels % offset_groups:
            raise ValueError("in_channels must be divisible by offset_groups")
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.kernel_size = kernel_size
        self.stride = stride
        self.padding = padding
        self.dilation = dilation
        self.offset_groups = offset_groups
        self.impl: Impl = impl
        self.weight = nn.Parameter(torch.empty(out_channels, in_channels, kernel_size, kernel_size))
        self.bias = nn.Parameter(torch.empty(out_channels)) if bias else None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        init_like_conv2d(self.weight, self.bias)

    @property
    def offset_channels(self) -> int:
        """Channels of the offset tensor this layer expects (2 per tap per offset group)."""
        return 2 * self.offset_groups * self.kernel_size**2

    @property
    def mask_channels(self) -> int:
        """Channels of the DCN v2 modulation mask (1 per tap per offset group)."""
        return self.offset_groups * self.kernel_size**2

    def forward(self, x: Tensor, offset: Tensor, mask: Tensor | None = None) -> Tensor:
        return deform_conv2d(
            x, offset, self.weight, self.bias, self.stride, self.padding, self.dilation, mask, impl=self.impl
        )

    def extra_repr(self) -> str:
        return (
            f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}, "
            f"padding={self.padding}, offset_groups={self.offset_groups}, impl={self.impl}"
        )
