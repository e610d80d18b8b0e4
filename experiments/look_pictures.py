"""The pictures of docs/usage.md's look controls: one frame of the bundled sample with --saturation and --contrast.

    python experiments/look_pictures.py --out results/look/look.png

Each tile is the default mapping's HDR output of frame 30 (320x180), with the option shown, tone-mapped for an SDR
screen as `sdr2hdr compare` does (BT.2390 EETF on maxRGB), over its false-colour luminance map (cd/m2 bands, as
the compare page draws them). Also writes the figures of each tile: median and 99th-percentile luminance.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from sdr2hdr.api import make_mapper
from sdr2hdr.color import pq_eotf
from sdr2hdr.engine.preview import false_colour, load_frame, sdr_view
from sdr2hdr.io.images import write_png8

SAMPLE = Path(__file__).resolve().parents[1] / "src" / "sdr2hdr" / "assets" / "sample_sdr.mp4"
LOOKS = ({}, {"saturation": 0.5}, {"saturation": 1.5}, {"contrast": 0.8}, {"contrast": 1.3})


def main() -> None:
    import cv2

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=Path("results/look/look.png"))
    args = ap.parse_args()
    rgb = cv2.resize(load_frame(SAMPLE, 30).pixels, (320, 180), interpolation=cv2.INTER_AREA)
    tiles, lines = [], ["| option | median luminance (cd/m2) | 99th percentile (cd/m2) |", "|---|---:|---:|"]
    for look in LOOKS:
        pq = make_mapper(quiet=True, **look).mapper(rgb)
        tiles.append(np.concatenate([sdr_view(pq), false_colour(pq)], axis=0))
        y = np.asarray(pq_eotf(pq), dtype=np.float64) @ np.array([0.2627, 0.6780, 0.0593])
        name = ", ".join(f"--{k} {v:g}" for k, v in look.items()) or "default"
        lines.append(f"| {name} | {np.median(y):.1f} | {np.percentile(y, 99):.0f} |")
    gap = np.full((tiles[0].shape[0], 6, 3), 0.125, dtype=np.float32)
    sheet = np.concatenate([x for t in tiles for x in (t, gap)][:-1], axis=1)
    write_png8(args.out, sheet)
    table = "\n".join([f"Tiles of {args.out.name}, left to right; made by `python experiments/look_pictures.py`.", "",
                       *lines, ""])
    args.out.with_suffix(".md").write_text(table, encoding="utf-8")
    print(table)


if __name__ == "__main__":
    main()
