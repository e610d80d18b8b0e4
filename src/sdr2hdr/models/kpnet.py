"""KPNet (Wang et al., "Compressed-SDR to HDR Video Reconstruction", TPAMI 2023): compressed SDR -> HDR.

Defines:
    FeatureBlock   the per-scale feature block of the authors' code (their "dislocation_change").
    AFE            asymmetric frequency enhancement (eqs. 10-11).
    refine_block   R's refinement (eq. 12): the authors' code's order (default) or eq. 12's (refine="eq12").
    KIB            knowledge-inspired block, R(f) * X(f) + Y(f) with R = refine(AFE(f)) (eqs. 9, 12-14).
    IFM            information fusion module: pairwise concatenation, shared 1x1, residual block each, shared
                   coordinate attention, sum, refine (eqs. 16-17).
    KPNet          head at three scales, one KIB shared by the scales, IFM at 1/2 scale, tail (fig. 2).

Follows the authors' module (scale_3_brain_new1.KUNet2): 1,552,475 parameters, of which 1,367,835 are used in
forward. The two layers it defines but never calls (a 64->256 up-conv and a stride-2 conv, 184,640 parameters)
are kept under unused_* names so the authors' checkpoints load; unused_parameters() lists them.

The IFM's coordinate attention pools its features along whole rows and columns (eqs. 18-19): run on a tile, it
reads the tile's rows, not the frame's, so tiling changed the output (14 10-bit codes on a 288x512 picture with the
shipped weights) and the profile of a 1080p row is not that of a 48-pixel training patch. Here the row and column
profiles are KPNet's prior in the global-prior protocol (base.py): computed once per frame by running the network
up to the attention on a thumbnail of fixed short side (`prior_size`, 48, the shipped weights' training patch, so
training on such patches is unchanged), then resampled to each tile's rows and columns by position in the frame.
`prior_size=None` pools the whole frame at full size (the authors' attention, exact under tiling, at the cost of a
full-size pass).

R's refinement, a departure from eq. 12 kept on purpose. Eq. 12 reads R = Conv3x3 o ReLU o Conv1x1 o ReLU(L^_F).
In the paper's own notation the composition runs right to left (eq. 8, Relu o Conv3x3 o Down(F_out), and the
tail equation match the authors' code only so), which makes eq. 12 ReLU -> 1x1 conv -> ReLU -> 3x3 conv: a
pre-activation pair whose output R has either sign. The authors' code (R_hl.refine) and this module run
3x3 conv -> ReLU -> 1x1 conv -> ReLU: the same two layers and parameter count (41,088), the other order, R >= 0.
That is not a re-indexing: no permutation of weights maps one onto the other, because the ReLUs sit at other
places (eq. 12 drops the negative part of L^_F before any convolution; the code's R can never be negative, so
R * X takes its sign from X alone). We keep the code's order as the default, since the authors' checkpoints and
the shipped weights (tests/models/golden.json) were trained with it and the paper's figures came from that
code; `refine="eq12"` builds the right-to-left reading of eq. 12 for an ablation (its weights do not load into
the default and vice versa).
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .base import HDRModel, crop, pad_to_multiple
from .blocks.attention import CoordinateAttention
from .blocks.condition import thumbnail, thumbnail_size
from .registry import ModelSummary, register_model


def upconv(ch: int) -> nn.Sequential:
    """conv 3x3 ch -> 4ch and pixel shuffle x2."""
    return nn.Sequential(nn.Conv2d(ch, 4 * ch, 3, padding=1), nn.PixelShuffle(2))


class FeatureBlock(nn.Module):
    """o1 = relu(conv(x)) + x, o2 = relu(conv(o1)), out = 1x1 conv of [o1, o2, x]: each scale's entry to the KIB."""

    def __init__(self, ch: int = 64) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(ch, ch, 3, padding=1)
        self.conv2 = nn.Conv2d(ch, ch, 3, padding=1)
        self.fuse = nn.Conv2d(3 * ch, ch, 1)

    def forward(self, x: Tensor) -> Tensor:
        o1 = F.relu(self.conv1(x)) + x
        o2 = F.relu(self.conv2(o1))
        return self.fuse(torch.cat((o1, o2, x), dim=1))


class AFE(nn.Module):
    """Asymmetric frequency enhancement: high = conv(f), low = conv(avgpool(f)), each through conv relu conv."""

    def __init__(self, ch: int = 64) -> None:
        super().__init__()
        # eq. 10, the split S_F as in OctConv: no bias on the two split convolutions
        self.split_high = nn.Conv2d(ch, ch, 3, padding=1, bias=False)
        self.split_low = nn.Conv2d(ch, ch, 3, padding=1, bias=False)
        self.enhance_high = nn.Sequential(nn.Conv2d(ch, ch, 3, padding=1), nn.ReLU(), nn.Conv2d(ch, ch, 3, padding=1))
        self.enhance_low = nn.Sequential(nn.Conv2d(ch, ch, 3, padding=1), nn.ReLU(), nn.Conv2d(ch, ch, 3, padding=1))
        self.up = upconv(ch)

    def forward(self, f: Tensor) -> Tensor:
        high = self.split_high(f)
        low = self.split_low(F.avg_pool2d(f, 2))
        return self.enhance_high(high) + self.up(self.enhance_low(low)) + f  # eq. 11


#: orders of R's refinement (eq. 12): the authors' code (default, the shipped weights) or eq. 12 read right to left
REFINE_ORDERS = ("authors", "eq12")


def refine_block(ch: int, order: str = "authors") -> nn.Sequential:
    """R's refinement of the AFE output: conv3x3 relu conv1x1 relu (authors) or relu conv1x1 relu conv3x3 (eq12)."""
    if order == "authors":
        return nn.Sequential(nn.Conv2d(ch, ch, 3, padding=1), nn.ReLU(), nn.Conv2d(ch, ch, 1), nn.ReLU())
    if order == "eq12":
        return nn.Sequential(nn.ReLU(), nn.Conv2d(ch, ch, 1), nn.ReLU(), nn.Conv2d(ch, ch, 3, padding=1))
    raise ValueError(f"refine must be one of {', '.join(REFINE_ORDERS)}, got {order!r}")


class KIB(nn.Module):
    """Knowledge-inspired block H_F = R(L_F) * X(L_F) + Y(L_F): compensate, then adjust gain and remove noise."""

    def __init__(self, ch: int = 64, refine: str = "authors", x: bool = True, y: bool = True) -> None:
        super().__init__()
        self.afe = AFE(ch)
        # eq. 12, in the authors' code's order by default (module docstring: why, and what eq. 12 says)
        self.refine = refine_block(ch, refine)
        self.x = nn.Sequential(nn.Conv2d(ch, ch, 1), nn.Conv2d(ch, ch, 1)) if x else None  # eq. 13, g/t
        self.y = nn.Sequential(nn.Conv2d(ch, ch, 1), nn.Conv2d(ch, ch, 1)) if y else None  # eq. 14, g*n/t

    def forward(self, f: Tensor) -> Tensor:
        r = self.refine(self.afe(f))
        # table 2's ablation rows drop X (R + Y), Y (R * X) or both (R alone)
        if self.x is not None:
            r = r * self.x(f)
        return r if self.y is None else r + self.y(f)  # eq. 9


class PairResBlock(nn.Module):
    """x + relu(conv(relu(conv(x)))): the residual block of each IFM pair (the authors' res_block, acti='relu')."""

    def __init__(self, ch: int = 64) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(ch, ch, 3, padding=1)
        self.conv2 = nn.Conv2d(ch, ch, 3, padding=1)

    def forward(self, x: Tensor) -> Tensor:
        return x + F.relu(self.conv2(F.relu(self.conv1(x))))


class IFM(nn.Module):
    """Information fusion: T_i = RCA(Conv1x1(Cat(pair_i))) summed over the pairs (1,2), (1,3), (2,3), then refined."""

    def __init__(self, ch: int = 64, attention: bool = True) -> None:
        super().__init__()
        self.reduce = nn.Sequential(nn.Conv2d(2 * ch, ch, 1), nn.ReLU())  # shared by the three pairs
        self.res = nn.ModuleList(PairResBlock(ch) for _ in range(3))
        # shared by the three pairs; None: the pairs' residual features are summed unweighted (ablation)
        self.attention = CoordinateAttention(ch, ch) if attention else None
        self.refine = nn.Sequential(nn.Conv2d(ch, ch, 3, padding=1), nn.ReLU(), nn.Conv2d(ch, ch, 1))

    def pair_features(self, f1: Tensor, f2: Tensor, f3: Tensor) -> list[Tensor]:
        """The three inputs of the coordinate attention, one per pair."""
        pairs = ((f1, f2), (f1, f3), (f2, f3))
        return [res(self.reduce(torch.cat(p, dim=1))) for res, p in zip(self.res, pairs)]

    def fuse(self, feats: list[Tensor], pooled: list[tuple[Tensor, Tensor]] | None = None) -> Tensor:
        """Attention on each pair's features (with the given row / column profiles), sum, refine (eqs. 16-17)."""
        pooled = pooled or [None] * len(feats)
        if self.attention is None:
            fused = sum(feats)
        else:
            fused = sum(self.attention(a, p) for a, p in zip(feats, pooled))  # eq. 16
        return self.refine(F.relu(fused))

    def forward(self, f1: Tensor, f2: Tensor, f3: Tensor) -> Tensor:
        return self.fuse(self.pair_features(f1, f2, f3))


def _resample(profile: Tensor, start: int, length: int, multiple: int, frame_len: int, thumb_len: int) -> Tensor:
    """A thumbnail's half-resolution profile (..., L) read at the half-resolution positions of a tile's rows.

    Tile feature i covers input pixels start + 2i and start + 2i + 1 (the tile padded to `multiple`), centre
    start + 2i + 1 in pixel-edge units; the thumbnail's feature j has its centre at 2j + 1 of its thumb_len pixels.
    Linear interpolation, ends held.
    """
    n = (length + (-length) % multiple) // 2
    centres = start + 2 * torch.arange(n, dtype=torch.float64) + 1
    idx = (centres * (thumb_len / frame_len) / 2 - 0.5).clamp(0, profile.shape[-1] - 1)
    i0 = idx.floor().long()
    i1 = (i0 + 1).clamp(max=profile.shape[-1] - 1)
    t = (idx - i0).to(profile.dtype).to(profile.device)
    i0, i1 = i0.to(profile.device), i1.to(profile.device)
    return profile[..., i0] * (1 - t) + profile[..., i1] * t


class KPNet(HDRModel):
    """KPNet: one KIB applied at 1/2, 1/4 and full scale, fused at 1/2 scale by the IFM, upsampled by the tail.

    H and W are reflect-padded to a multiple of 8 inside forward (two stride-2 levels, then the AFE's 2x2 pool)
    and cropped back.
    include_unused=False drops the two layers the authors define but never use (1,367,835 parameters).
    refine: "authors" (default, the shipped weights) or "eq12", the order of R's refinement (module docstring).

    Ablation switches (defaults are the paper's network; experiments/ablation.py trains them side by side):
    kib_x / kib_y=False drop the KIB's X (eq. 13) or Y (eq. 14) branch, table 2 rows 9 / 8 (QP 32: 35.3151 /
    35.4696 dB against 35.5253 for the full KIB; both dropped exists there only without the IFM, row 6 vs 1:
    34.8852 vs 35.0584). coord_attention=False sums the IFM's three pair features without the coordinate
    attention (eqs. 18-24); the paper has no row isolating it (its IFM variants, rows 10-11, change the pairing).

    Global-prior protocol (base.py): prior(frame) is (N, 3, 64, h' + w'), for each of the IFM's three pairs the
    row means (h') then column means (w') of the attention's input features, computed on a thumbnail of short side
    prior_size; prior_for_tile resamples them to a tile's rows and columns; forward(x, prior=None) takes them for
    x's own (padded, half-resolution) rows and columns, computing them from x when not given.
    """

    size_multiple = 8
    # three scales down to 1/8 (the AFE's pool): with the shipped weights, on a 288x512 picture in 128-pixel tiles,
    # overlaps of 32 / 64 px leave 3.3 / 2.0 codes at tile edges, 96 px (384x680, 192-pixel tiles) 0.4
    receptive_radius = 24
    UNUSED = ("unused_up", "unused_down")

    def __init__(self, ch: int = 64, include_unused: bool = True, prior_size: int | None = 48,
                 refine: str = "authors", kib_x: bool = True, kib_y: bool = True,
                 coord_attention: bool = True) -> None:
        super().__init__()
        self.prior_size = prior_size
        self.conv_first = nn.Conv2d(3, ch, 3, padding=1)  # eq. 7
        self.down1 = nn.Conv2d(ch, ch, 3, stride=2, padding=1)  # eq. 8: full -> 1/2
        self.down2 = nn.Conv2d(ch, ch, 3, stride=2, padding=1)  # 1/2 -> 1/4
        self.entry = nn.ModuleList(FeatureBlock(ch) for _ in range(3))  # one per scale: 1/2, 1/4, full
        self.kib = KIB(ch, refine, kib_x, kib_y)  # the authors share one KIB's weights across the three scales
        self.kib2_up = upconv(ch)  # 1/4 -> 1/2
        self.kib3_down = nn.Conv2d(ch, ch, 3, stride=2, padding=1)  # full -> 1/2
        self.ifm = IFM(ch, coord_attention)
        self.tail_up = upconv(ch)
        self.conv_last = nn.Conv2d(ch, 3, 3, padding=1)
        if include_unused:
            self.unused_up = upconv(ch)
            self.unused_down = nn.Conv2d(ch, ch, 3, stride=2, padding=1)

    def unused_parameters(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.named_parameters() if name.split(".")[0] in self.UNUSED)

    def _attention_inputs(self, x: Tensor) -> list[Tensor]:
        """The IFM's three attention inputs (half resolution) of a frame padded to the multiple of 8."""
        f0 = F.relu(self.conv_first(x))
        f1 = F.relu(self.down1(f0))
        f2 = F.relu(self.down2(f1))
        k1 = self.kib(self.entry[0](f1))  # 1/2
        k2 = self.kib(self.entry[1](f2))  # 1/4
        k3 = self.kib(self.entry[2](f0))  # full
        return self.ifm.pair_features(k1, self.kib2_up(k2), self.kib3_down(k3))

    @staticmethod
    def _profiles(feats: list[Tensor]) -> Tensor:
        return torch.stack([torch.cat(CoordinateAttention.pool(a), dim=-1) for a in feats], dim=1)

    def prior(self, image: Tensor) -> Tensor:
        """Row and column profiles (N, 3, C, h' + w') of the attention inputs over the frame's thumbnail."""
        small = image if self.prior_size is None else thumbnail(image, self.prior_size)
        return self._profiles(self._attention_inputs(pad_to_multiple(small, self.size_multiple)[0]))

    def prior_for_tile(self, prior: Tensor, box: tuple[int, int, int, int], frame_size: tuple[int, int]) -> Tensor:
        top, left, height, width = box
        fh, fw = frame_size
        th, tw = (fh, fw) if self.prior_size is None else thumbnail_size(fh, fw, self.prior_size)
        ph = (th + (-th) % self.size_multiple) // 2
        if prior.shape[-1] - ph != (tw + (-tw) % self.size_multiple) // 2:
            raise ValueError(f"KPNet prior of length {prior.shape[-1]} was not computed on a {fh}x{fw} frame")
        rows = _resample(prior[..., :ph], top, height, self.size_multiple, fh, th)
        cols = _resample(prior[..., ph:], left, width, self.size_multiple, fw, tw)
        return torch.cat((rows, cols), dim=-1)

    def forward(self, x: Tensor, prior: Tensor | None = None) -> Tensor:
        self.check_input(x)
        h, w = x.shape[-2:]
        xp, _, _ = pad_to_multiple(x, self.size_multiple)
        feats = self._attention_inputs(xp)
        if self.ifm.attention is None:
            pooled = None  # the ablation without coordinate attention pools nothing
        else:
            if prior is None:
                if self.prior_size is None or min(h, w) == self.prior_size:
                    # x is its own thumbnail: its own profiles, without a second pass (training on such patches)
                    prior = self._profiles(feats)
                else:
                    prior = self.prior_for_tile(self.prior(x), (0, 0, h, w), (h, w))
            ph = xp.shape[-2] // 2
            pooled = [(p[..., :ph], p[..., ph:]) for p in prior.unbind(1)]
        fused = self.ifm.fuse(feats, pooled)
        out = self.conv_last(F.relu(self.tail_up(fused)))  # no global residual, as the authors
        return crop(out, h, w)


_RECIPE = (
    "paper: L1, Adam, lr 2e-4 decayed by 2 (when: garbled), 550k iterations, batch 12; HM 16.9 all-intra coding "
    "at QP 32/37/42/47, results per QP; authors' code adds: Adam betas (0.9, 0.99), halvings at "
    "200k/300k/400k/500k, patch 160, flips/rotations, one model per QP"
)


@register_model(
    ModelSummary(
        name="kpnet",
        paper="Wang, Ye, Zhu, Li, Li, Zhu. Compressed-SDR to HDR Video Reconstruction (KPNet), TPAMI 2023",
        task="compressed ITM",
        scale=1,
        frames=1,
        input_domain="R'G'B': SDR BT.709 gamma in, HDR10 (BT.2020 PQ) out, HDRTV1K frames coded with HM 16.9 intra",
        paper_params=1_552_475,
        params_exact=True,
        paper_runtime="not reported",
        paper_recipe=_RECIPE,
        notes="authors' module counts 1,552,475 (paper 1.55M); 1,367,835 used in forward, 184,640 kept unused; "
        "R's refinement in the authors' code's order, not eq. 12's (refine='eq12' for the paper's)",
    )
)
def kpnet(**kwargs: Any) -> KPNet:
    """KPNet."""
    return KPNet(**kwargs)
