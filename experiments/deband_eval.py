"""Does --deband pay? A banding figure on an 8-bit sky clip, and PSNR on the held-out set, with and without it.

    python experiments/deband_eval.py --data datasets/heldout --qp 37 --out results/deband.md

Banding: an 8-bit H.264 clip of a slow sky gradient (20 codes over the width, a slow pan) is converted by the
default mapping with and without --deband (sdr2hdr.api.convert, as a user would); the figure is the largest step
between neighbouring pixels along the gradient in the written 10-bit luma, median over rows and frames (a staircase
shows each 8-bit step stretched by the expansion; a smooth ramp shows steps of a code or less).
Fidelity: the default mapping of the held-out set's x265-coded SDR with and without the deband pre-filter, PSNR on
PQ R'G'B' and Delta E ITP against the HDR target (frames 0 and 3 of up to --clips-per-curve clips per curve).
"""

from __future__ import annotations

import argparse
import tempfile
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from sdr2hdr.api import convert, make_mapper
from sdr2hdr.bench.scores import score
from sdr2hdr.data.heldout import CURVES
from sdr2hdr.data.split import load_split
from sdr2hdr.io.atomic import write_text_atomic


def sky_clip(path: Path, width: int = 320, height: int = 180, frames: int = 12) -> Path:
    """An 8-bit sky: a horizontal ramp of 20 codes, light blue, panning 2 pixels a frame (x264, CRF 12)."""
    out = av.open(str(path), "w")
    vs = out.add_stream("libx264", rate=24)
    vs.width, vs.height, vs.pix_fmt = width, height, "yuv420p"
    vs.options = {"preset": "medium", "crf": "12"}
    cc = vs.codec_context
    cc.color_primaries, cc.color_trc, cc.colorspace, cc.color_range = 1, 1, 1, 1
    for i in range(frames):
        x = (np.arange(width) + 2 * i) / (width + 2 * frames)
        ramp = 0.45 + (20 / 255) * x
        rgb = np.broadcast_to(ramp[None, :, None] * np.array([0.75, 0.88, 1.0]), (height, width, 3))
        frame = av.VideoFrame.from_ndarray(np.rint(rgb * 255).astype(np.uint8), format="rgb24")
        frame = frame.reformat(format="yuv420p", dst_colorspace=av.video.reformatter.Colorspace.ITU709,
                               dst_color_range=av.video.reformatter.ColorRange.MPEG)
        frame.pts, frame.time_base = i, Fraction(1, 24)
        for pkt in vs.encode(frame):
            out.mux(pkt)
    for pkt in vs.encode(None):
        out.mux(pkt)
    out.close()
    return path


def banding(path: Path) -> float:
    """Median over rows and frames of the largest neighbour step of 10-bit luma along the ramp."""
    steps = []
    with av.open(str(path)) as c:
        for f in c.decode(video=0):
            y = np.frombuffer(f.planes[0], np.uint16).reshape(f.height, -1)[:, :f.width].astype(int)
            steps.append(np.abs(np.diff(y[8:-8, 8:-8], axis=1)).max(axis=1))
    return float(np.median(np.concatenate(steps)))


def fidelity(data: Path, qp: int, per_curve: int) -> dict:
    maps = {False: make_mapper(quiet=True).mapper, True: make_mapper(quiet=True, deband=True).mapper}
    rows = {False: [], True: []}
    clips = load_split(data, "test")
    for curve in CURVES:
        mine = [c for c in clips if c.degradation == curve]
        for clip in mine[::max(1, len(mine) // per_curve)][:per_curve]:
            lq, hdr = clip.lq(qp), clip.hdr()
            for i in (0, 3):
                for flag, m in maps.items():
                    rows[flag].append(score(m(lq[i].astype(np.float32)), hdr[i], ("psnr", "delta_e_itp")))
    return {flag: (float(np.mean([r["psnr"] for r in v])), float(np.mean([r["delta_e_itp"] for r in v])), len(v))
            for flag, v in rows.items()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, required=True)
    ap.add_argument("--qp", type=int, default=37)
    ap.add_argument("--clips-per-curve", type=int, default=5)
    ap.add_argument("--note", default="")
    ap.add_argument("--out", type=Path, default=Path("results/deband.md"))
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        clip = sky_clip(Path(tmp) / "sky.mp4")
        band = {}
        for flag in (False, True):
            out = Path(tmp) / f"out{int(flag)}.mkv"
            convert(clip, out, deband=flag, quiet=True, notify=lambda s: None)
            band[flag] = banding(out)
    fid = fidelity(args.data, args.qp, args.clips_per_curve)
    text = "\n".join([
        "# --deband: banding on an 8-bit sky and fidelity on the held-out set", "",
        f"Made by `python experiments/deband_eval.py --data {args.data.name} --qp {args.qp}`. Default mapping "
        "(adaptive_itm, shipped weights).", "",
        "| | without --deband | with --deband |", "|---|---:|---:|",
        f"| banding: largest step along the sky, 10-bit luma codes (median) | {band[False]:.1f} | {band[True]:.1f} |",
        f"| held-out set, x265 QP {args.qp}: PSNR on PQ R'G'B' (dB) / Delta E ITP ({fid[False][2]} frames) | "
        f"{fid[False][0]:.2f} / {fid[False][1]:.1f} | {fid[True][0]:.2f} / {fid[True][1]:.1f} |", "",
        f"Wins on both: {'yes' if band[True] < band[False] and fid[True][0] > fid[False][0] else 'no'} "
        f"(PSNR {fid[True][0] - fid[False][0]:+.2f} dB). It turns the code table off, so a win this size is weighed "
        "against the default's speed (docs/usage.md).", "", args.note, ""])
    args.out.parent.mkdir(parents=True, exist_ok=True)
    write_text_atomic(args.out, text)
    print(text)


if __name__ == "__main__":
    main()
