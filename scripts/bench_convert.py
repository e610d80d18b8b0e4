"""Speed of `sdr2hdr convert` on a 1080p clip: frames/s end to end, with decode / convert / encode split.

Makes a 1080p H.264 SDR clip (moving gradient and highlights, 8-bit BT.709) unless --input is given, converts it
with a classical mapping (the code-table fast path, or per pixel with --exact) and x265 preset `fast`, and prints
the figures; the convert stage includes building the table (1-2 s). Not a test: a measurement.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from clip_tools import make_sdr_clip  # noqa: E402

from sdr2hdr.engine.convert import classical_mapper, convert_video  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--input", type=Path, help="an SDR video to use instead of the generated one")
    ap.add_argument("--frames", type=int, default=120)
    ap.add_argument("--method", default="bt2446c")
    ap.add_argument("--preset", default="fast")
    ap.add_argument("--width", type=int, default=1920)
    ap.add_argument("--height", type=int, default=1080)
    ap.add_argument("--exact", action="store_true", help="per-pixel float mapping instead of the code table")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        src = args.input
        if src is None:
            t = time.perf_counter()
            src = make_sdr_clip(Path(tmp) / "in.mp4", args.width, args.height, args.frames, audio=True)
            print(f"made a {args.width}x{args.height} H.264 clip of {args.frames} frames in "
                  f"{time.perf_counter() - t:.1f} s")
        report = convert_video(src, Path(tmp) / "out.mkv", classical_mapper(args.method), preset=args.preset,
                               progress=True, notify=lambda m: None, lut=False if args.exact else None)
    s = report.seconds
    print(f"\n{report.frames} frames {report.width}x{report.height}, method {args.method} "
          f"({'per-pixel float' if args.exact else 'code table'}), x265 preset {args.preset}")
    print(f"end to end: {report.fps:.2f} frames/s ({s['total']:.1f} s)")
    print("stage seconds (decode and convert run in a worker thread beside the encoder, so they overlap):")
    for k in ("decode", "convert", "encode"):
        print(f"  {k:8s} {s[k]:7.2f} s  {1000 * s[k] / max(report.frames, 1):7.1f} ms/frame")
    return 0


if __name__ == "__main__":
    sys.exit(main())
