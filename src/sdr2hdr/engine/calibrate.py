"""`sdr2hdr calibrate`: fit the default's mapping family to matched SDR / HDR material; `convert --calibration`.

A studio holding a few titles in both SDR and HDR fits, from at most `frames` matched pairs, the parameters of the
default's global inverse (models.adaptive_itm.GlobalInverse: luminance and per-channel gain curves, saturation, a
3x3 gamut matrix) that take its SDR to its HDR, and converts the rest of its library with them. The mapping is a
function of one pixel, so `convert` bakes it into its code table and `sdr2hdr lut` writes it as a .cube.

Pairs: two videos (frames matched by timestamp), two stills, or two folders of stills matched by file name. The
HDR side is PQ BT.2020 (16-bit PNG with or without cICP, an HDR10 video) or linear light (EXR). Refused on one
line: an SDR side that is HDR, an HDR side that is SDR, frame times that cannot be paired, pictures whose
luminance orders do not agree (different content), pictures of different shape.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from sdr2hdr.errors import InputError

if TYPE_CHECKING:
    from collections.abc import Callable

    from sdr2hdr.engine.look import Look
    from sdr2hdr.engine.stream import ClassicalStream

FORMAT = "sdr2hdr-calibration"
FAMILY = "adaptive_itm.global"
MAX_FRAMES = 10
MIN_RANK_CORRELATION = 0.9  # luminance rank agreement below which two pictures are not the same content
# a global fit to a real pair reaches 34-35 dB even at QP 37 (docs/studies.md); two shots of one scene paired by
# mistake were seen at 22 dB
MIN_FIT_PSNR = 25.0
FIT_PIXELS = 1 << 16


@dataclass
class Pair:
    """One matched picture: SDR R'G'B' (BT.709) and PQ R'G'B' (BT.2020), same shape, and where it came from."""

    sdr: np.ndarray
    pq: np.ndarray
    name: str


@dataclass
class Calibration:
    """A fitted pipeline: the family's parameters and the fit's report."""

    params: list[float]
    report: dict = field(default_factory=dict)

    def to_json(self) -> str:
        """The file `calibrate` writes."""
        return json.dumps({"format": FORMAT, "version": 1, "family": FAMILY, "params": self.params,
                           "report": self.report}, indent=1)

    def pixel_fn(self) -> Callable[[np.ndarray], np.ndarray]:
        """The mapping as a numpy pixel function (..., 3) SDR R'G'B' -> PQ R'G'B' (imports torch)."""
        import torch

        from sdr2hdr.models.adaptive_itm import AdaptiveITM

        model = AdaptiveITM(local=False).eval()
        return model.pq_mapping(torch.tensor(self.params, dtype=torch.float32)[None])


def load_calibration(path: str | os.PathLike) -> Calibration:
    """A file written by `sdr2hdr calibrate`, checked."""
    from sdr2hdr.models.adaptive_itm import N_PARAMS

    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"no such calibration file: {path}") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"not a calibration file (from `sdr2hdr calibrate`): {path} ({exc})") from None
    params = data.get("params") if isinstance(data, dict) else None
    if (not isinstance(data, dict) or data.get("format") != FORMAT or data.get("family") != FAMILY
            or not isinstance(params, list) or len(params) != N_PARAMS
            or not all(isinstance(v, (int, float)) and np.isfinite(v) for v in params)):
        raise InputError(f"not a calibration file (from `sdr2hdr calibrate`): {path}")
    return Calibration([float(v) for v in params], data.get("report", {}))


def calibration_mapper(path: str | os.PathLike, peak_nits: float = 1000.0, exposure: float = 0.0,
                       look: Look | None = None) -> ClassicalStream:
    """A ClassicalStream for `convert --calibration FILE`: the fitted mapping, trimmed, looked and peak-limited."""
    from sdr2hdr.color import pq_code
    from sdr2hdr.engine.look import exposure_note, peak_limited, with_look
    from sdr2hdr.engine.stream import ClassicalStream

    cal = load_calibration(path)
    pq_peak = pq_code(peak_nits)
    fn = with_look(peak_limited(cal.pixel_fn(), pq_peak, exposure), look, pq_peak)
    note = exposure_note(exposure) + (look.note() if look is not None else "")
    return ClassicalStream("calibration", fn, f"calibrated from {Path(path).name} (peak {peak_nits:g} cd/m2{note})")


# -- fitting ---------------------------------------------------------------------------------------------------


def check_fit(cal: Calibration) -> None:
    """Refuse a fit too poor for the material to be one global mapping of the other (pairs that do not match)."""
    if not cal.report.get("psnr", 0.0) >= MIN_FIT_PSNR:
        raise InputError(f"the SDR and HDR do not match: the best global mapping reaches only "
                         f"{cal.report.get('psnr', 0.0):.1f} dB on them (a matched pair reaches over "
                         f"{MIN_FIT_PSNR:g}); give the same shots in both")


def fit(pairs: list[Pair], steps: int = 300, pixels: int = FIT_PIXELS, seed: int = 0) -> Calibration:
    """The family's parameters minimising L1 on PQ over pixels sampled evenly from the pairs (Adam, then a finer
    pass); the report scores the fit on every pixel of the pairs."""
    import torch

    from sdr2hdr.models.adaptive_itm import N_PARAMS, GlobalInverse

    rng = np.random.default_rng(seed)
    per = max(1, pixels // len(pairs))
    xs, ys = [], []
    for p in pairs:
        flat_s, flat_h = p.sdr.reshape(-1, 3), p.pq.reshape(-1, 3)
        idx = rng.choice(flat_s.shape[0], size=min(per, flat_s.shape[0]), replace=False)
        xs.append(flat_s[idx])
        ys.append(flat_h[idx])
    x = torch.from_numpy(np.concatenate(xs)).T[None].float()
    y = torch.from_numpy(np.concatenate(ys)).T[None].float()
    feats = GlobalInverse.features(x)
    params = torch.zeros(1, N_PARAMS, requires_grad=True)
    opt = torch.optim.Adam([params], lr=0.05)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps)
    from sdr2hdr.color.transfer import pq_inverse_eotf

    with torch.enable_grad():
        for _ in range(steps):
            opt.zero_grad()
            pred = pq_inverse_eotf(GlobalInverse.from_features(feats, params).clamp(0.0, 10000.0))
            loss = (pred - y).abs().mean()
            loss.backward()
            opt.step()
            sched.step()
    cal = Calibration([float(v) for v in params.detach()[0]])
    cal.report = {"pairs": len(pairs), "names": [p.name for p in pairs][:MAX_FRAMES * 4],
                  "pixels_fitted": int(x.shape[-1]), **score_pairs(cal, pairs)}
    return cal


def score_pairs(cal: Calibration, pairs: list[Pair]) -> dict[str, float]:
    """Mean PSNR on PQ R'G'B' and Delta E ITP of the calibrated mapping on the pairs (no peak limit)."""
    import torch

    from sdr2hdr.metrics import delta_e_itp, psnr

    def nchw(x: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32)).permute(2, 0, 1)[None]

    fn = cal.pixel_fn()
    rows = []
    for p in pairs:
        pred, ref = nchw(fn(p.sdr)), nchw(p.pq)
        rows.append((float(psnr(pred, ref).mean()), float(delta_e_itp(pred, ref).mean())))
    return {"psnr": round(float(np.mean([r[0] for r in rows])), 3),
            "delta_e_itp": round(float(np.mean([r[1] for r in rows])), 3)}
