"""Make the bundled demo clip: a real HDR photograph filmed by a moving virtual camera, tone mapped to SDR.

Source: GoldenGate.exr, ILM OpenEXR sample images (BSD-3, (c) 2004 Industrial Light & Magic), taken from the Debian
package psychtoolbox-3-common without installing it. The HDR master (exposure, BT.2390 roll-off to 1000 cd/m2)
is tone mapped with BT.2446 method A, clipped to BT.709 (BT.2407), BT.1886-encoded and written as 8-bit H.264
with BT.709 tags and an AAC track, the kind of file a user would bring.

    python -m sdr2hdr.tools.make_sample [--exr PATH] [--out src/sdr2hdr/assets/sample_sdr.mp4]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from sdr2hdr.data.camera import random_path, render
from sdr2hdr.data.degrade import hdr_master, sdr_frame
from sdr2hdr.data.sources import gather
from sdr2hdr.errors import InputError
from sdr2hdr.io import read_exr
from sdr2hdr.tools import exit_status


def fetch_goldengate(workdir: Path) -> Path:
    """GoldenGate.exr fetched as `sdr2hdr data sources` does it (apt-get download + dpkg-deb, no install)."""
    gather(workdir, only=["psychtoolbox-3-common"], log=lambda *_: None)
    path = workdir / "psychtoolbox-3-common" / "GoldenGate.exr"
    if not path.is_file():
        raise InputError("could not fetch psychtoolbox-3-common (apt-get download); pass --exr PATH")
    return path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--exr", type=Path)
    ap.add_argument("--out", type=Path, default=Path("src/sdr2hdr/assets/sample_sdr.mp4"))
    ap.add_argument("--size", default="960x540")
    ap.add_argument("--seconds", type=float, default=4.0)
    ap.add_argument("--fps", type=int, default=24)
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    w, h = map(int, args.size.split("x"))
    with tempfile.TemporaryDirectory() as tmp:
        exr = args.exr or fetch_goldengate(Path(tmp))
        master = hdr_master(read_exr(exr))
    rng = np.random.default_rng(args.seed)
    path = random_path(rng, master.shape[:2], (h, w), max_shift=0.45, zoom_range=(1.0, 1.25), max_roll=1.5)
    n = round(args.seconds * args.fps)
    out = av.open(str(args.out), "w", options={"movflags": "+faststart"})
    vs = out.add_stream("libx264", rate=args.fps)
    vs.width, vs.height, vs.pix_fmt = w, h, "yuv420p"
    cc = vs.codec_context
    cc.color_primaries, cc.color_trc, cc.colorspace, cc.color_range = 1, 1, 1, 1
    vs.options = {"preset": "slow", "crf": "21"}
    aus = out.add_stream("aac", rate=48000)
    aus.layout, aus.bit_rate = "stereo", 64000
    cache: dict = {}
    for i in range(n):
        view = render(master, path.pose(i / max(n - 1, 1)), (h, w), cache)
        frame = av.VideoFrame.from_ndarray(sdr_frame(view), format="rgb24")
        frame = frame.reformat(format="yuv420p", dst_colorspace=av.video.reformatter.Colorspace.ITU709,
                               dst_color_range=av.video.reformatter.ColorRange.MPEG)
        frame.pts, frame.time_base = i, Fraction(1, args.fps)
        for pkt in vs.encode(frame):
            out.mux(pkt)
    for pkt in vs.encode(None):
        out.mux(pkt)
    sr, block = 48000, 1024
    t = np.arange(int(args.seconds * sr)) / sr
    fade = np.minimum(1.0, np.minimum(t, args.seconds - t) / 0.3)
    wave = (0.08 * fade * (np.sin(2 * np.pi * 220 * t) + 0.6 * np.sin(2 * np.pi * 330 * t))).astype(np.float32)
    for k in range(0, len(wave), block):
        chunk = np.pad(wave[k:k + block], (0, max(0, block - len(wave[k:k + block]))))
        af = av.AudioFrame.from_ndarray(np.stack([chunk, chunk]).reshape(1, -1), format="flt", layout="stereo")
        af.sample_rate, af.pts, af.time_base = sr, k, Fraction(1, sr)
        for pkt in aus.encode(af):
            out.mux(pkt)
    for pkt in aus.encode(None):
        out.mux(pkt)
    out.close()
    print(f"wrote {args.out}: {n} frames {w}x{h}, {args.out.stat().st_size / 1e6:.2f} MB; camera "
          f"{path.to_dict()}")


if __name__ == "__main__":
    sys.exit(exit_status(main, "make_sample"))
