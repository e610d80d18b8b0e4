"""Adaptive inverse tone mapping: recognise how a frame's SDR was made and invert that curve, fast enough for real time.

Defines:
    CurveEstimator  thumbnail CNN + histogram statistics (+ the output grading convention asked for: diffuse white
                    and peak) -> the parameters of one global inverse mapping per frame.
    GlobalInverse   the mapping itself, a function of one pixel: luminance path and per-channel path, each a
                    piecewise-linear log2 gain over SDR code value, blended; saturation exponent; 3x3 gamut matrix.
    LocalBranch     a light residual CNN for coding artifacts, banding and highlight detail (the `best` tier).
    AdaptiveITM     estimator + mapping (+ local branch); registered as adaptive_itm (global only, the converter's
                    default) and adaptive_itm_local.

Why this shape (docs/studies.md, held-out curves): a model trained on a few fixed curves learns their average
and loses to the right classical inverse; a per-image global mapping fitted to the ground truth reaches 34-35 dB at
QP 37. So the network's job is to estimate a global inverse from statistics that identify a curve (luma histogram,
the top codes' clipping, saturation versus luma, a fixed-size thumbnail), as image-adaptive 3D LUTs (Zeng et al.,
TPAMI 2020) and ITM-LUT (Guo et al., CVMP 2023) do. Because the mapping is a function of one pixel, the converter
bakes it into its 8-bit code table (engine.lut) once per shot and converts each frame with two table look-ups.

Global-prior protocol (engine.infer): `prior(full_frame)` reads a fixed-size view of the whole frame (a 64x64
area thumbnail and a 128x128 grid of pixels for the histograms), so the prior does not depend on frame size or
tiling; `forward(x, prior=...)` maps any tile with it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..color.gamut import luminance
from ..color.transfer import PQ_C1, PQ_C2, PQ_C3, PQ_M1, PQ_M2, pq_inverse_eotf
from .base import HDRModel
from .registry import ModelSummary, register_model

KNOTS = 16  # knots of each gain curve over SDR code value [0, 1]
THUMB = 64  # side of the thumbnail the CNN sees
GRID = 128  # side of the pixel grid the histograms count
BINS = 32
SDR_NITS = 100.0  # SDR 100 % on the BT.1886 reference display
# BT.709 -> BT.2020 primaries (BT.2087), the fixed part of the gamut matrix
_M709_2020 = torch.tensor([[0.6274039, 0.3292830, 0.0433131],
                           [0.0690973, 0.9195404, 0.0113623],
                           [0.0163914, 0.0880133, 0.8955953]])
_Y709 = torch.tensor([0.2126, 0.7152, 0.0722])
# Where the gain curves start: log2 of BT.2408's 2.03x at every level, the neutral guess before any evidence.
_INIT_GAIN = 1.02
N_PARAMS = 2 * KNOTS + 2 + 9
REF_WHITE, REF_PEAK = 203.0, 1000.0  # BT.2408 HDR reference white; the usual HDR10 mastering display


def grid_index(size: int) -> Tensor:
    """Rows (or columns) of the fixed pixel grid over a side of `size` pixels: GRID evenly spread indices."""
    return torch.linspace(0, size - 1, min(GRID, size)).round().long()


def views(x: Tensor) -> tuple[Tensor, Tensor]:
    """The fixed-size view of whole frames the prior reads: (N,3,THUMB,THUMB) area thumbnail, (N,3,P) pixel grid.

    A grid of real pixels, not an average, for the histograms: clipping and noise are what identify a curve.
    The converter computes the same two views straight from Y'CbCr planes (engine.adaptive).
    """
    thumb = F.adaptive_avg_pool2d(x.float(), (THUMB, THUMB))
    ys, xs = grid_index(x.shape[-2]).to(x.device), grid_index(x.shape[-1]).to(x.device)
    return thumb, x[:, :, ys][:, :, :, xs].flatten(2).float()


def statistics(g: Tensor) -> Tensor:
    """(N, 3, P) grid pixels (SDR R'G'B') -> (N, 3*BINS + 16 + 4) histogram features.

    Luma and max(R', G', B') histograms, min(R', G', B') histogram (how saturated the picture is), chroma spread
    per luma band (BT.2446 A and many curves compress colour near white), clipped and crushed fractions.
    """
    n = g.shape[0]
    luma = (_Y709.to(g.device)[None, :, None] * g).sum(1)
    mx, mn = g.max(1).values, g.min(1).values
    feats = []
    for v in (luma, mx, mn):
        idx = (v.clamp(0, 1) * (BINS - 1e-4)).long()
        hist = torch.zeros(n, BINS, device=g.device).scatter_add_(1, idx, torch.ones_like(v))
        feats.append(hist / v.shape[1] * 4.0)
    band = (luma.clamp(0, 1) * 15.999).long()
    spread = (mx - mn)
    num = torch.zeros(n, 16, device=g.device).scatter_add_(1, band, spread)
    den = torch.zeros(n, 16, device=g.device).scatter_add_(1, band, torch.ones_like(spread))
    # a band holding one or two grid pixels must not report their full spread: shrink sparse bands towards 0,
    # so the feature does not jump with picture size (the grid of a smaller picture lands on other pixels)
    feats.append(num / (den + 0.01 * g.shape[-1]) * 4.0)
    feats.append(torch.stack([(mx >= 0.99).float().mean(1), (mn <= 0.02).float().mean(1),
                              luma.mean(1), luma.std(1)], 1) * 4.0)
    return torch.cat(feats, 1)


class CurveEstimator(nn.Module):
    """Thumbnail CNN and histogram MLP -> (N, N_PARAMS) parameters of the global inverse of one frame."""

    def __init__(self, ch: int = 32, hidden: int = 128, grade_input: bool = False) -> None:
        super().__init__()
        self.cnn = nn.Sequential(
            nn.Conv2d(3, ch // 2, 3, 2, 1), nn.LeakyReLU(0.1),
            nn.Conv2d(ch // 2, ch, 3, 2, 1), nn.LeakyReLU(0.1),
            nn.Conv2d(ch, ch, 3, 2, 1), nn.LeakyReLU(0.1),
            nn.Conv2d(ch, 2 * ch, 3, 2, 1), nn.LeakyReLU(0.1),
        )
        n_stats = 3 * BINS + 16 + 4
        self.mlp = nn.Sequential(nn.Linear(4 * ch + n_stats, hidden), nn.LeakyReLU(0.1),
                                 nn.Linear(hidden, hidden), nn.LeakyReLU(0.1), nn.Linear(hidden, N_PARAMS))
        # start from the neutral mapping: zero output = BT.2408-like gain, even blend, identity saturation
        nn.init.zeros_(self.mlp[-1].weight)
        nn.init.zeros_(self.mlp[-1].bias)
        # the output grading convention asked for (log2 of diffuse white / 203 and of peak / 1000): the SDR alone
        # cannot say how bright its master was, so the convention is an input, not a guess (docs/studies.md, "Grading
        # convention")
        self.grade = nn.Linear(2, hidden, bias=False) if grade_input else None

    def forward(self, thumb: Tensor, grid: Tensor, grade: Tensor | None = None) -> Tensor:
        f = self.cnn(thumb.clamp(0, 1))
        f = torch.cat([f.mean((2, 3)), f.amax((2, 3)), statistics(grid.clamp(0, 1))], 1)
        h = self.mlp[0](f)
        if self.grade is not None and grade is not None:
            h = h + self.grade(grade.to(h))
        return self.mlp[1:](h)


def _knot(v: Tensor) -> tuple[Tensor, Tensor]:
    """Interval index (uint8) and position inside it of v in [0, 1] on KNOTS uniform knots."""
    pos = v.clamp(0, 1) * (KNOTS - 1)
    i0 = pos.floor().clamp(max=KNOTS - 2)
    return i0.to(torch.uint8), pos - i0


def _lerp(knots: Tensor, i: Tensor, frac: Tensor) -> Tensor:
    """Piecewise-linear curve through `knots` (N, K) at interval indices i and positions frac (N, ...)."""
    idx = (i if i.dtype == torch.int64 else i.long()).flatten(1)
    a = torch.gather(knots, 1, idx).view_as(frac)
    b = torch.gather(knots, 1, idx + 1).view_as(frac)
    return a + (b - a) * frac


class GlobalInverse(nn.Module):
    """The global inverse mapping of one frame, a function of one pixel: SDR R'G'B' -> linear BT.2020 cd/m2.

    Two paths over BT.1886-linearised SDR light s (relative, 1 = 100 cd/m2):
      luminance path  Y_h = 100 Y_s 2^gL(Y_s^(1/2.4)), colour by ratio (s / Y_s)^gamma: curves on luminance
                      (BT.2446 C, Reinhard, camera-like) and their desaturation;
      channel path    c_h = 100 s_c 2^gC(c'): per-channel curves (BT.2390 per component, Hable, filmic);
    blended by alpha, then a 3x3 matrix near BT.709 -> BT.2020 (saturation and gamut expansion).
    gL, gC are log2 gains at KNOTS uniform code values, linear between them.
    """

    @staticmethod
    def features(x: Tensor) -> dict[str, Tensor]:
        """Everything about a pixel the mapping needs that does not depend on the frame's parameters.

        The converter computes these once for all 2^24 codes and keeps them, so rebuilding the code table for a
        new shot only evaluates `from_features` (engine.adaptive).
        """
        xc = x.float().clamp(0, 1)
        s = xc.pow(2.4)
        ys = (_Y709.to(x.device).view(1, 3, *(1,) * (x.dim() - 2)) * s).sum(1, keepdim=True)
        yp = ys.clamp_min(1e-8).pow(1 / 2.4)
        il, fl = _knot(yp)
        ic, fc = _knot(xc)
        logratio = torch.log((s / ys.clamp_min(1e-6)).clamp(1e-6, 16))
        return {"s": s, "ys": ys, "logratio": logratio, "il": il, "fl": fl, "ic": ic, "fc": fc}

    @staticmethod
    def from_features(f: dict[str, Tensor], params: Tensor) -> Tensor:
        """Linear BT.2020 cd/m2 from the pixel features and the (N, N_PARAMS) parameters."""
        s = f["s"]
        n = s.shape[0]
        shape = (n,) + (1,) * (s.dim() - 1)
        gl = _INIT_GAIN + params[:, :KNOTS]
        gc = _INIT_GAIN + params[:, KNOTS:2 * KNOTS]
        alpha = torch.sigmoid(params[:, 2 * KNOTS]).view(shape)
        gamma = (1.0 + 0.5 * torch.tanh(params[:, 2 * KNOTS + 1])).view(shape)
        dm = 0.1 * torch.tanh(params[:, 2 * KNOTS + 2:]).view(n, 3, 3)
        lum = (SDR_NITS * f["ys"]) * torch.exp2(_lerp(gl, f["il"], f["fl"])) * torch.exp(gamma * f["logratio"])
        chan = (SDR_NITS * s) * torch.exp2(_lerp(gc, f["ic"], f["fc"]))
        lin709 = alpha * lum + (1 - alpha) * chan
        m = _M709_2020.to(s.device)[None] + dm  # (N, 3, 3)
        return torch.einsum("nij,nj...->ni...", m, lin709).clamp_min(0.0)

    def forward(self, x: Tensor, params: Tensor) -> Tensor:
        return self.from_features(self.features(x), params)


class LocalBranch(nn.Module):
    """Light residual CNN on [SDR, global HDR] -> PQ correction: deblocking, debanding, highlight detail."""

    def __init__(self, ch: int = 24, layers: int = 4) -> None:
        super().__init__()
        body = [nn.Conv2d(6, ch, 3, padding=1), nn.LeakyReLU(0.1)]
        for _ in range(layers):
            body += [nn.Conv2d(ch, ch, 3, padding=1), nn.LeakyReLU(0.1)]
        body.append(nn.Conv2d(ch, 3, 3, padding=1))
        self.body = nn.Sequential(*body)
        nn.init.zeros_(self.body[-1].weight)
        nn.init.zeros_(self.body[-1].bias)

    def forward(self, sdr: Tensor, pq: Tensor) -> Tensor:
        return pq + self.body(torch.cat([sdr, pq], 1))


class AdaptiveITM(HDRModel):
    """SDR R'G'B' -> PQ R'G'B': per-frame global inverse from `prior`, plus an optional local branch.

    forward(x, prior=None): prior is the (N, N_PARAMS) estimate of the whole frame (estimate(full_frame)); when
    absent it is computed from x itself. `pq_mapping(params)` gives the pixel function the converter bakes.
    """

    receptive_radius = 6  # the local branch's 3x3 stack; the global path is per pixel

    def __init__(self, local: bool = False, peak_nits: float = 10000.0, grade_input: bool = True) -> None:
        super().__init__()
        self.estimator = CurveEstimator(grade_input=grade_input)
        self.inverse = GlobalInverse()
        self.local = LocalBranch() if local else None
        # the output convention the prior is asked for when none is passed: BT.2408's 203 cd/m2 reference white
        # on a 1000 cd/m2 display (the converter sets the peak it writes)
        self.target_grade = (REF_WHITE, REF_PEAK)
        # a brightness trim in stops on the mapping's light (convert --exposure): the estimate's one weak number is
        # the picture's level (docs/studies.md, "What limits the default"), which a user can judge by eye
        self.exposure = 0.0
        # the level convention (color.level): None keeps the level the estimator learned (training, the studies of
        # it); a grey-card level in cd/m2 moves each estimate so its output median follows the SDR's own median
        self.middle_grey: float | None = None

    def complete_state(self, state: dict[str, Tensor]) -> dict[str, Tensor]:
        """Weights trained before the grading-convention input get it as zeros: they behave as they were trained."""
        if self.estimator.grade is not None and "estimator.grade.weight" not in state:
            state = {**state, "estimator.grade.weight": torch.zeros_like(self.estimator.grade.weight)}
        return state

    def grade_code(self, n: int, grade: Tensor | tuple[float, float] | None = None) -> Tensor:
        """(n, 2) log2(diffuse white / 203), log2(peak / 1000) of `grade` (nits pairs), default target_grade."""
        g = torch.as_tensor(self.target_grade if grade is None else grade, dtype=torch.float32)
        g = g.reshape(-1, 2).expand(n, 2)
        return torch.log2(g / torch.tensor([REF_WHITE, REF_PEAK], device=g.device))

    def prior(self, image: Tensor, grade: Tensor | tuple[float, float] | None = None) -> Tensor:
        """(N, N_PARAMS) parameters of the frame's global inverse, from a fixed-size view of the whole frame."""
        return self.estimate(*views(image), grade=grade)

    def estimate(self, thumb: Tensor, grid: Tensor, grade: Tensor | tuple[float, float] | None = None) -> Tensor:
        """The prior from already made views (the converter makes them from Y'CbCr planes)."""
        params = self.estimator(thumb, grid, self.grade_code(thumb.shape[0], grade).to(thumb.device))
        return params if self.middle_grey is None else self.place_level(thumb, params, self.middle_grey)

    def place_level(self, thumb: Tensor, params: Tensor, middle_grey: float) -> Tensor:
        """The parameters with both gain curves moved by one log2 offset so that the mapping puts the thumbnail's
        median luminance where the level convention (color.level) puts it; the curves' shape is untouched."""
        from sdr2hdr.color.level import level_target, sdr_median_light

        lin = self.inverse(thumb, params)
        y = luminance(lin)
        got = y.flatten(1).median(1).values
        want = level_target(sdr_median_light(thumb), middle_grey)
        # a black frame says nothing about the level: leave its estimate as it is
        shift = torch.where((want > 1e-3) & (got > 1e-3),
                            torch.log2(want.clamp_min(1e-3) / got.clamp_min(1e-3)).clamp(-4.0, 4.0),
                            torch.zeros_like(got))
        out = params.clone()
        out[:, :2 * KNOTS] += shift[:, None]
        return out

    def global_pq(self, x: Tensor, params: Tensor) -> Tensor:
        lin = self.inverse(x, params)
        if self.exposure:
            lin = lin * 2.0 ** self.exposure
        return pq_inverse_eotf(lin.clamp(0.0, 10000.0))

    def forward(self, x: Tensor, prior: Tensor | None = None) -> Tensor:
        self.check_input(x)
        params = self.prior(x) if prior is None else prior
        pq = self.global_pq(x, params)
        if self.local is not None:
            pq = self.local(x, pq)
        return pq

    @torch.no_grad()
    def pq_mapping(self, params: Tensor, cache: dict | None = None) -> Callable[[np.ndarray], np.ndarray]:
        """The global mapping of one frame as a numpy pixel function (..., 3) R'G'B' -> PQ, for code tables.

        `cache` (a dict kept by the caller) holds each input array's pixel features (GlobalInverse.features) by
        its memory address, so a table rebuilt for a new shot only evaluates the parameter-dependent part.
        """
        import numpy as np

        p = params.detach().float().reshape(1, -1).cpu()
        gain = 2.0 ** self.exposure / 10000.0  # the trim and PQ's 10000 cd/m2 in one multiply

        def fn(rgb: np.ndarray) -> np.ndarray:
            key = rgb.__array_interface__["data"][0], rgb.shape
            feats = None if cache is None else cache.get(key)
            if feats is None:
                t = torch.from_numpy(np.ascontiguousarray(rgb, dtype=np.float32)).reshape(-1, 3).T[None]
                feats = self.inverse.features(t)
                # kept as int64: the gathers of every rebuild then skip the conversion
                feats["il"], feats["ic"] = feats["il"].long(), feats["ic"].long()
                if cache is not None:
                    cache[key] = feats
            lin = self.inverse.from_features(feats, p)
            # PQ (SMPTE ST 2084) written out on the clamped input: no sign handling needed, a third faster
            ym = lin.mul_(gain).clamp_(0.0, 1.0).pow_(PQ_M1)
            pq = (ym * PQ_C2 + PQ_C1).div_(ym.mul_(PQ_C3).add_(1.0)).pow_(PQ_M2)
            return pq[0].T.reshape(rgb.shape).numpy()

        return fn


_CARD = dict(
    paper="sdr2hdr's own: image-adaptive global inverse (after Zeng et al., TPAMI 2020; Guo et al., ITM-LUT, "
          "CVMP 2023)",
    task="ITM",
    scale=1,
    frames=1,
    input_domain="R'G'B': SDR BT.709 gamma in, HDR10 (BT.2020 PQ) out",
    params_exact=True,
    paper_runtime="global path baked into the converter's code table: two look-ups per pixel",
    paper_recipe="trained on the randomised generator (configs/data/generated.yaml), L1 on PQ",
)


@register_model(ModelSummary(name="adaptive_itm", paper_params=86_507,
                          notes="global mapping only: the converter's default (tier fast)", **_CARD))
def adaptive_itm(**kwargs: Any) -> AdaptiveITM:
    """Adaptive ITM, global mapping only."""
    return AdaptiveITM(local=False, **kwargs)


@register_model(ModelSummary(name="adaptive_itm_local", paper_params=109_310,
                          notes="global mapping + light local branch (tier best)", **_CARD))
def adaptive_itm_local(**kwargs: Any) -> AdaptiveITM:
    """Adaptive ITM with its local branch."""
    return AdaptiveITM(local=True, **kwargs)
