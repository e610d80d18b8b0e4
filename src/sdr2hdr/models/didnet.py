"""DIDNet (Xu et al., "Towards Robust SDRTV-to-HDRTV via Dual Inverse Degradation Network"): compressed SDR
video -> HDR, multi-frame.

Defines:
    OffsetUNet        U-Net over the stacked frames predicting deformable offsets and DCN v2 masks.
    TSAF              temporal-spatial alignment and fusion: OffsetUNet, deformable conv over the frame stack,
                      residual blocks -> F_fusion (eq. 1, section 3.3).
    ConditionNet3D    3D convolutions over the (1/4-size) frame stack -> pooled condition vector (section 3.5.4).
    DMCStack          dual modulated convolutions fed by the condition (eq. 4, section 3.5.3).
    WaveletAttention  Haar DWT -> 1x1 conv -> channel attention -> 1x1 conv -> + sub-bands -> IDWT (eq. 10).
    DIDNet            F_fusion -> aux head (restored SDR, eq. 2) and DMC -> WA -> conv (eq. 5); registered as
                      didnet and didnet_tiny.

No public code. Choices where the paper is open (all documented on the classes):
  - alignment as STDF (the paper's reference [5] and baseline): one deformable conv over the T stacked frames with
    one offset group per frame, offsets and masks from a 2-level U-Net, so neighbours are sampled into the centre
    frame's geometry while being fused;
  - the 3D ConditionNet sees the frames bicubic-downsampled by 4 (AGCM's practice for global conditions) through
    three 3x3x3 convs (16, 32, 48 channels) with spatial stride 2, then a global mean;
  - DMC modulation vectors are 1 + linear(c) for alpha and gamma and linear(c) for beta (heads zero-initialised),
    so an untrained stack starts as plain convolutions; the stack has an identity path around it;
  - wavelet attention's channel attention is one 1x1 conv and a sigmoid (eq. 10's s = Conv(GlobalPooling(z))).
Widths fitted to the paper's counts, the two variants differing only in feature channels: U-Net 32 channels,
2 fusion residual blocks, 3 DMC layers; didnet 64 channels: 524,509 (paper 0.527M); didnet_tiny 48 channels:
385,181 (paper 0.386M).
Default T = 5 frames (the paper tests on 10-frame sequences and does not state the window).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .base import HDRModel, crop, pad_to_multiple
from .blocks.attention import ChannelAttention
from .blocks.condition import condition_image
from .blocks.deform import DeformConv2d, Impl
from .blocks.modulation import DMC
from .blocks.wavelet import haar_dwt, haar_idwt
from .registry import ModelCard, register_model


class ResBlock(nn.Module):
    """x + conv(relu(conv(x)))."""

    def __init__(self, ch: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(ch, ch, 3, padding=1)
        self.conv2 = nn.Conv2d(ch, ch, 3, padding=1)

    def forward(self, x: Tensor) -> Tensor:
        return x + self.conv2(F.relu(self.conv1(x)))


class OffsetUNet(nn.Module):
    """Two-level U-Net (strided convs down, transposed convs up, additive skips) -> offsets and masks per frame."""

    def __init__(self, cin: int, out_ch: int, nf: int = 32, levels: int = 2) -> None:
        super().__init__()
        self.inc = nn.Sequential(
            nn.Conv2d(cin, nf, 3, padding=1), nn.ReLU(inplace=True),
            nn.Conv2d(nf, nf, 3, padding=1), nn.ReLU(inplace=True),
        )  # fmt: skip
        self.down = nn.ModuleList(
            nn.Sequential(
                nn.Conv2d(nf, nf, 3, stride=2, padding=1), nn.ReLU(inplace=True),
                nn.Conv2d(nf, nf, 3, padding=1), nn.ReLU(inplace=True),
            )  # fmt: skip
            for _ in range(levels)
        )
        self.up = nn.ModuleList(
            nn.Sequential(nn.ConvTranspose2d(nf, nf, 4, stride=2, padding=1), nn.ReLU(inplace=True))
            for _ in range(levels)
        )
        self.out = nn.Sequential(
            nn.Conv2d(nf, nf, 3, padding=1), nn.ReLU(inplace=True), nn.Conv2d(nf, out_ch, 3, padding=1)
        )
        # zero offsets and masks of sigmoid(0) = 0.5 at start: the deformable conv begins as a plain conv at half gain,
        # sampling every frame at the centre frame's pixel grid (as EDVR / STDF initialise their offsets)
        nn.init.zeros_(self.out[-1].weight)
        nn.init.zeros_(self.out[-1].bias)

    def forward(self, x: Tensor) -> Tensor:
        skips = [self.inc(x)]
        for d in self.down:
            skips.append(d(skips[-1]))
        f = skips.pop()
        for u in self.up:
            f = u(f) + skips.pop()
        return self.out(f)


class TSAF(nn.Module):
    """Temporal-spatial alignment and fusion: deformable conv over the frame stack, then residual blocks."""

    def __init__(self, frames: int, ch: int, unet_nf: int, blocks: int, impl: Impl = "auto") -> None:
        super().__init__()
        self.frames = frames
        self.align = DeformConv2d(3 * frames, ch, 3, padding=1, offset_groups=frames, impl=impl)
        self.offsets = OffsetUNet(3 * frames, self.align.offset_channels + self.align.mask_channels, unet_nf)
        self.fuse = nn.Sequential(*(ResBlock(ch) for _ in range(blocks)))

    def forward(self, stack: Tensor) -> Tensor:
        om = self.offsets(stack)
        offset, mask = om.split((self.align.offset_channels, self.align.mask_channels), dim=1)
        aligned = F.relu(self.align(stack, offset, torch.sigmoid(mask)))  # F_Aligned
        return self.fuse(aligned)  # F_fusion


class ConditionNet3D(nn.Module):
    """3D convolutions over the downsampled frame stack, global mean -> one condition vector per clip."""

    def __init__(self, channels: tuple[int, ...] = (3, 16, 32, 48), cond_scale: int = 4) -> None:
        super().__init__()
        self.cond_scale = cond_scale
        layers: list[nn.Module] = []
        for cin, cout in zip(channels[:-1], channels[1:]):
            layers += [nn.Conv3d(cin, cout, 3, stride=(1, 2, 2), padding=1), nn.LeakyReLU(0.2, inplace=True)]
        self.body = nn.Sequential(*layers)
        self.out_dim = channels[-1]

    def forward(self, frames: Tensor) -> Tensor:
        n, t = frames.shape[:2]
        small = condition_image(frames.flatten(0, 1), self.cond_scale)
        small = small.view(n, t, 3, *small.shape[-2:]).transpose(1, 2)  # (N,3,T,h,w)
        return self.body(small).mean(dim=(2, 3, 4))


class DMCStack(nn.Module):
    """F_fusion + DMC(relu(... relu(DMC(F_fusion)))): kernels modulated per clip by the 3D condition (eq. 9)."""

    def __init__(self, ch: int, cond_dim: int, layers: int = 3) -> None:
        super().__init__()
        self.convs = nn.ModuleList(DMC(ch, ch, 3) for _ in range(layers))
        # one linear head per layer emits [alpha, gamma, beta]
        self.heads = nn.ModuleList(nn.Linear(cond_dim, 2 * ch + ch) for _ in range(layers))
        for h in self.heads:
            nn.init.zeros_(h.weight)
            nn.init.zeros_(h.bias)

    def forward(self, f: Tensor, cond: Tensor) -> Tensor:
        x = f
        for k, (conv, head) in enumerate(zip(self.convs, self.heads)):
            a, g, b = head(cond).split((conv.out_channels, conv.in_channels, conv.out_channels), dim=1)
            x = conv(x, alpha=1.0 + a, beta=b, gamma=1.0 + g)
            if k < len(self.convs) - 1:
                x = F.relu(x)
        return f + x


class WaveletAttention(nn.Module):
    """Wavelet attention (eq. 10): channel attention on the reduced Haar sub-bands, residual in the wavelet domain."""

    def __init__(self, ch: int) -> None:
        super().__init__()
        self.reduce = nn.Conv2d(4 * ch, ch, 1)
        self.attention = ChannelAttention(ch)  # s = Conv(GlobalPooling(z)), sigmoid gate
        self.expand = nn.Conv2d(ch, 4 * ch, 1)

    def forward(self, x: Tensor) -> Tensor:
        coeffs = torch.cat(haar_dwt(x), dim=1)  # coeffs = Wavelet(x)
        z = self.reduce(coeffs)  # z = Conv(Concat(coeffs))
        z_o = self.expand(self.attention(z))  # z_o = Conv(z . s)
        return haar_idwt(*(z_o + coeffs).chunk(4, dim=1))  # x_o = iWavelet(coeffs_o + coeffs)


class DIDNet(HDRModel):
    """DIDNet: restores the centre frame of an (N,T,3,H,W) clip; forward_with_aux adds "aux_sdr" (eq. 2).

    Training (paper): L = 0.8 * L1(main, HDR) + 0.2 * L1(aux_sdr, clean SDR centre frame).
    impl selects the deformable convolution ("auto": grid_sample on CPU, torchvision elsewhere).
    """

    frames = 5
    size_multiple = 4
    aux_outputs = ("aux_sdr",)

    def __init__(
        self,
        frames: int = 5,
        ch: int = 64,
        unet_nf: int = 32,
        fuse_blocks: int = 2,
        dmc_layers: int = 3,
        impl: Impl = "auto",
    ) -> None:
        super().__init__()
        if frames < 1 or frames % 2 == 0:
            raise ValueError("DIDNet needs an odd number of frames (a centre frame)")
        self.frames = frames
        self.tsaf = TSAF(frames, ch, unet_nf, fuse_blocks, impl)
        self.aux_head = nn.Conv2d(ch, 3, 3, padding=1)
        self.condition = ConditionNet3D()
        self.dmc = DMCStack(ch, self.condition.out_dim, dmc_layers)
        self.wa = WaveletAttention(ch)
        self.conv_last = nn.Conv2d(ch, 3, 3, padding=1)

    def _fusion(self, x: Tensor) -> tuple[Tensor, Tensor, int, int]:
        self.check_input(x)
        x, h, w = pad_to_multiple(x, self.size_multiple)
        return self.tsaf(x.flatten(1, 2)), x, h, w

    def _main(self, fusion: Tensor, clip: Tensor) -> Tensor:
        modulated = self.dmc(fusion, self.condition(clip))  # eq. 4
        return self.conv_last(self.wa(modulated))  # eq. 5

    def forward(self, x: Tensor) -> Tensor:
        fusion, clip, h, w = self._fusion(x)
        return crop(self._main(fusion, clip), h, w)

    def forward_with_aux(self, x: Tensor) -> dict[str, Tensor]:
        fusion, clip, h, w = self._fusion(x)
        return {"main": crop(self._main(fusion, clip), h, w), "aux_sdr": crop(self.aux_head(fusion), h, w)}


_RECIPE = (
    "L1: 0.8 main + 0.2 auxiliary (restored SDR); Adam lr 5e-4, halved every 60k after 100k, 660k iterations; "
    "trained on x265 QP 37, tested on QP 27/32/37/42 (HDRTV1K videos, 10-frame test sequences); "
    "metrics averaged over the last 6 checkpoints"
)
_DOMAIN = "R'G'B': x265-coded SDR BT.709 gamma frames in, HDR10 (BT.2020 PQ) 1080p out"


@register_model(
    ModelCard(
        name="didnet",
        paper="Xu, He, Xu, Yang, Sun, Wang, Ma, Fan, Wen. Towards Robust SDRTV-to-HDRTV via Dual Inverse "
        "Degradation Network (DIDNet)",
        task="compressed video ITM",
        scale=1,
        frames=5,
        input_domain=_DOMAIN,
        paper_params=527_000,
        paper_runtime="300.6 ms per 1080p frame (table 1)",
        paper_recipe=_RECIPE,
        notes="no public code; STDF-style alignment, 3D condition on 1/4 frames, widths fitted to 0.527M; T=5 chosen",
    )
)
def didnet(**kwargs) -> DIDNet:
    """DIDNet."""
    return DIDNet(**kwargs)


@register_model(
    ModelCard(
        name="didnet_tiny",
        paper="Xu et al. Towards Robust SDRTV-to-HDRTV via Dual Inverse Degradation Network (DIDNet Tiny)",
        task="compressed video ITM",
        scale=1,
        frames=5,
        input_domain=_DOMAIN,
        paper_params=386_000,
        paper_runtime="209.4 ms per 1080p frame (table 1)",
        paper_recipe=_RECIPE,
        notes="no public code; the paper does not say how Tiny is reduced: 48 channels here, fitted to 0.386M",
    )
)
def didnet_tiny(**kwargs) -> DIDNet:
    """DIDNet (Tiny): 48 feature channels."""
    kwargs.setdefault("ch", 48)
    return DIDNet(**kwargs)
