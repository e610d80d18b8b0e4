"""The bundled dusk sample through the default at the level convention and at its learned level, looked at.

    python experiments/look_levels.py --out results/heldout/looks

Converts the first frames of src/sdr2hdr/assets/sample_sdr.mp4 with `--middle-grey 26` (the default) and
`--middle-grey 0` (the level the model estimates), writes each `sdr2hdr compare` page's pictures of one frame side
by side (the SDR, then each HDR tone-mapped back by BT.2390) as sample_levels.png, and the HDR frame's average and
median luminance in levels.md.
"""

from __future__ import annotations

import argparse
import base64
import re
import tempfile
from pathlib import Path

import cv2
import numpy as np

from sdr2hdr.api import convert
from sdr2hdr.color import pq_eotf
from sdr2hdr.engine.preview import compare_page

SAMPLE = Path(__file__).resolve().parents[1] / "src" / "sdr2hdr" / "assets" / "sample_sdr.mp4"
LEVELS = {"26": "default, --middle-grey 26", "0": "--middle-grey 0 (learned level)"}


def _pictures(html: str) -> dict[str, np.ndarray]:
    out = {}
    for tag in re.findall(r"<img[^>]*>", html):
        alt, data = re.search(r'alt="([^"]*)"', tag), re.search(r"base64,([^\"]+)", tag)
        if alt and data:
            out[alt.group(1)] = cv2.imdecode(np.frombuffer(base64.b64decode(data.group(1)), np.uint8),
                                             cv2.IMREAD_UNCHANGED)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--frame", type=int, default=4)
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    tiles, lines = [], ["| level | HDR frame average (cd/m2) | HDR median (cd/m2) |", "|---|---:|---:|"]
    with tempfile.TemporaryDirectory() as tmp:
        for mg, label in LEVELS.items():
            hdr = Path(tmp) / f"mg{mg}.mkv"
            convert(SAMPLE, hdr, middle_grey=float(mg), max_frames=args.frame + 4, quiet=True)
            page = Path(tmp) / f"mg{mg}.html"
            compare_page(SAMPLE, hdr, page, frame=args.frame)
            pics = _pictures(page.read_text())
            if not tiles:
                tiles.append(("SDR input", pics["SDR input"]))
            tiles.append((label, pics["HDR tone-mapped to SDR"]))
            pq = pics["HDR (PQ, BT.2020)"][..., ::-1].astype(np.float32) / 65535.0
            lum = np.asarray(pq_eotf(pq)) @ np.array([0.2627, 0.6780, 0.0593])
            lines.append(f"| {label} | {lum.mean():.1f} | {np.median(lum):.1f} |")
    row = []
    for label, img in tiles:
        img = img.copy()
        cv2.putText(img, label, (10, 30), cv2.FONT_HERSHEY_SIMPLEX, 0.9, (255, 255, 255), 2)
        row.append(img)
    strip = np.concatenate(row, 1)
    cv2.imwrite(str(args.out / "sample_levels.png"), cv2.resize(strip, (strip.shape[1] // 2, strip.shape[0] // 2),
                                                                 interpolation=cv2.INTER_AREA))
    md = ["# The bundled dusk sample at two levels", "", f"Frame {args.frame} of the bundled sample "
          "(BT.2446 A SDR of GoldenGate.exr); made by experiments/look_levels.py.", "", *lines, "",
          "![SDR, the default, the learned level](sample_levels.png)", ""]
    (args.out / "levels.md").write_text("\n".join(md))
    print("\n".join(md))


if __name__ == "__main__":
    main()
