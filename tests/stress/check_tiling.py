"""Tiled against whole-frame output for every registered model, on a real picture at least 896 pixels a side.

Usage:
    cd tests && python -m stress.check_tiling [--models PATTERN] [--tile 256] [--side 896] [--picture FILE]
                                              [--out table.md]

The picture is an ILM OpenEXR still from the data sources (datasets/sources/psychtoolbox-3-common/GoldenGate.exr,
linear light, tone-mapped to 8-bit SDR here) when present, else the bundled sample clip's first frame, resized to
`side` on the short side and cropped to side x (side + 32). Super-resolution models restore the same picture from
its 1/scale downscale (the picture is their output), never smaller than two tiles on the short side, so their frame
is tiled too. Each model runs once whole and once in `tile`-pixel tiles with the engine's default overlap (4x the
model's receptive radius); the table gives the largest and mean difference in 10-bit PQ codes.

Shipped weights where the package has them; seeded random weights otherwise, with the output moved to PQ 0.5 and
a spread of 0.15 before the clamp (random outputs are tiny or mostly below zero: the clamp would hide differences).
Not a test (minutes on a CPU); tests/models/test_global_prior.py checks the same on small pictures.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from sdr2hdr.color.transfer import bt1886_inverse_eotf
from sdr2hdr.engine.infer import ModelRunner
from sdr2hdr.models import create, list_models
from sdr2hdr.models.weights import load_weights, shipped_weights

ROOT = Path(__file__).resolve().parents[2]
EXR = ROOT / "datasets" / "sources" / "psychtoolbox-3-common" / "GoldenGate.exr"
SAMPLE = ROOT / "src" / "sdr2hdr" / "assets" / "sample_sdr.mp4"
CODES = 1023.0


def _sdr_from_linear(rgb: np.ndarray) -> np.ndarray:
    """Linear BT.709 scene light -> 8-bit-quantised SDR R'G'B': grey at the median, extended Reinhard, BT.1886."""
    y = rgb @ np.array([0.2126, 0.7152, 0.0722], dtype=np.float32)
    x = np.clip(rgb, 0, None) * (0.18 / max(float(np.median(y)), 1e-6))
    x = x * (1 + x / 16.0) / (1 + x)  # white at 4x diffuse grey
    v = bt1886_inverse_eotf(np.clip(x, 0, 1) * 100.0)
    return np.round(np.asarray(v, dtype=np.float32) * 255) / 255


def load_picture(path: Path | None) -> tuple[Tensor, str]:
    """(1,3,H,W) SDR R'G'B' and where it came from."""
    path = path or (EXR if EXR.is_file() else None)
    if path is not None and path.suffix.lower() in (".exr", ".hdr"):
        from sdr2hdr.io.images import read_image

        rgb = _sdr_from_linear(read_image(path).pixels)
    elif path is not None:
        from sdr2hdr.io.images import read_image

        image = read_image(path)
        if image.kind != "sdr":
            raise SystemExit(f"{path}: give an SDR picture or a linear EXR / .hdr")
        rgb = image.pixels
    else:
        from sdr2hdr.io.reader import VideoReader

        path = SAMPLE
        with VideoReader(SAMPLE) as reader:
            rgb = next(reader.rgb(f) for kind, f in reader.items() if kind == "frame")
    x = torch.from_numpy(np.ascontiguousarray(rgb, dtype=np.float32)).permute(2, 0, 1)[None]
    try:
        shown = path.relative_to(ROOT)
    except ValueError:
        shown = path.name
    return x, str(shown)


def resize(x: Tensor, h: int, w: int) -> Tensor:
    """Antialiased bicubic resize to at least h x w keeping the aspect ratio, then a centred h x w crop."""
    f = max(h / x.shape[-2], w / x.shape[-1])
    size = (max(h, round(x.shape[-2] * f)), max(w, round(x.shape[-1] * f)))
    y = F.interpolate(x, size=size, mode="bicubic", antialias=f < 1, align_corners=False).clamp(0, 1)
    top, left = (size[0] - h) // 2, (size[1] - w) // 2
    return y[..., top:top + h, left:left + w].contiguous()


class Spread(nn.Module):
    """A randomly initialised model's output moved to PQ 0.5 +- 0.15, so the runner's clamp hides nothing."""

    def __init__(self, model: nn.Module, mean: float, std: float) -> None:
        super().__init__()
        self.inner, self.mean, self.std = model, mean, std
        for attr in ("scale", "frames", "size_multiple", "receptive_radius"):
            if hasattr(model, attr):
                setattr(self, attr, getattr(model, attr))
        if callable(getattr(model, "prior", None)):
            self.prior, self.prior_for_tile = model.prior, model.prior_for_tile

    def forward(self, x: Tensor, prior: Tensor | None = None) -> Tensor:
        y = self.inner(x) if prior is None else self.inner(x, prior=prior)
        return 0.5 + 0.15 * (y - self.mean) / self.std


def clip_of(model: nn.Module, frame: Tensor) -> Tensor:
    """A model's input: the frame, or for multi-frame models T crops panning 2 pixels a frame."""
    frames = getattr(model, "frames", 1)
    if frames == 1:
        return frame
    w = frame.shape[-1] - 2 * frames
    return torch.stack([frame[..., 2 * k:2 * k + w] for k in range(frames)], dim=1)


def check(name: str, picture: Tensor, tile: int, side: int) -> dict:
    torch.manual_seed(0)
    model = create(name)
    path = shipped_weights(name)
    if path is not None:
        load_weights(model, path)
    model.eval()
    s = int(model.scale)
    h, w = picture.shape[-2:]
    if s > 1:
        lr = max(side // s, 2 * tile)
        h, w = lr, round(w * lr / h)
    frame = resize(picture, h, w + 2 * (model.frames if model.frames > 1 else 0))
    x = clip_of(model, frame)
    if path is None:
        with torch.no_grad():
            y = model(clip_of(model, resize(picture, 64 * h // min(h, w), 64 * w // min(h, w) + 2 * model.frames)))
        model = Spread(model, y.mean().item(), y.std().item())
    t0 = time.perf_counter()
    whole = ModelRunner(model, device="cpu", tile=None)(x)
    t1 = time.perf_counter()
    runner = ModelRunner(model, device="cpu", tile=tile)
    tiled = runner(x)
    t2 = time.perf_counter()
    d = (tiled - whole).abs() * CODES
    m = getattr(runner, "multiple", 1)
    return dict(model=name, weights="shipped" if path is not None else "random, spread",
                input=f"{x.shape[-1]}x{x.shape[-2]}", output=f"{whole.shape[-1]}x{whole.shape[-2]}",
                overlap=min(runner.overlap, tile // 2) // m * m, max=float(d.max()), mean=float(d.mean()),
                whole_s=t1 - t0, tiled_s=t2 - t1)


def table(rows: list[dict], tile: int, source: str) -> str:
    lines = [f"Tiled ({tile}-pixel tiles, default overlap) against whole-frame output, picture: {source}", "",
             "| model | weights | input | output | overlap | max diff (10-bit codes) | mean diff | whole s | tiled s |",
             "|---|---|---|---|---:|---:|---:|---:|---:|"]
    for r in rows:
        lines.append(f"| {r['model']} | {r['weights']} | {r['input']} | {r['output']} | {r['overlap']} | "
                     f"{r['max']:.2f} | {r['mean']:.3f} | {r['whole_s']:.1f} | {r['tiled_s']:.1f} |")
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", default=None, help="shell pattern of model names (default: every model)")
    ap.add_argument("--tile", type=int, default=256)
    ap.add_argument("--side", type=int, default=896, help="short side of the picture")
    ap.add_argument("--picture", type=Path, help="an SDR image or a linear EXR / .hdr instead of the default")
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--out", type=Path, help="also write the table here (markdown)")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    picture, source = load_picture(args.picture)
    picture = resize(picture, args.side, args.side + 32)
    print(f"picture {source} -> {picture.shape[-1]}x{picture.shape[-2]}", flush=True)
    rows = []
    for name in list_models(args.models):
        r = check(name, picture, args.tile, args.side)
        rows.append(r)
        print(f"{name:20s} max {r['max']:6.2f} codes  mean {r['mean']:.3f}  "
              f"({r['whole_s']:.0f} + {r['tiled_s']:.0f} s)", flush=True)
    text = table(rows, args.tile, source)
    print("\n" + text)
    if args.out:
        args.out.write_text(text + "\n")
    worst = max((r["max"] for r in rows), default=0.0)
    return 0 if worst <= 2.0 else 1


if __name__ == "__main__":
    sys.exit(main())
