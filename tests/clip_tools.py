"""Test tools: small SDR clips made with PyAV (H.264, BT.709 tags, AAC audio), the CLI in a subprocess, ffprobe."""

from __future__ import annotations

import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import av
import numpy as np


def make_sdr_clip(path: Path, width: int = 322, height: int = 182, frames: int = 48, fps: int = 24,
                  audio: bool = True, codec: str = "libx264", pix_fmt: str = "yuv420p", tags: bool = True,
                  subtitles: bool = False, seed: int = 0) -> Path:
    """Write a moving gradient clip with BT.709 tags and, optionally, a 440 Hz AAC track and a subtitle stream."""
    rng = np.random.default_rng(seed)
    out = av.open(str(path), "w")
    vs = out.add_stream(codec, rate=fps)
    vs.width, vs.height, vs.pix_fmt = width, height, pix_fmt
    if tags:
        cc = vs.codec_context
        cc.color_primaries, cc.color_trc, cc.colorspace, cc.color_range = 1, 1, 1, 1
    if codec == "libx264":
        vs.options = {"preset": "ultrafast", "crf": "12"}
    aus = None
    if audio:
        aus = out.add_stream("aac", rate=48000)
        aus.layout = "stereo"
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    base = rng.uniform(0.2, 0.8, size=3).astype(np.float32)
    for i in range(frames):
        # a horizontal ramp, a moving bright square (highlights for MaxCLL) and a dark corner
        img = np.empty((height, width, 3), np.float32)
        img[...] = (xx / max(width - 1, 1))[..., None] * base
        x0 = int((i * 3) % max(width - 40, 1))
        img[height // 4: height // 4 + 32, x0: x0 + 32] = 1.0
        img[-16:, :16] = 0.0
        rgb8 = np.clip(np.rint(img * 255), 0, 255).astype(np.uint8)
        frame = av.VideoFrame.from_ndarray(rgb8, format="rgb24")
        frame = frame.reformat(format=pix_fmt, dst_colorspace=av.video.reformatter.Colorspace.ITU709,
                               dst_color_range=av.video.reformatter.ColorRange.MPEG)
        frame.pts = i
        frame.time_base = Fraction(1, fps)
        for pkt in vs.encode(frame):
            out.mux(pkt)
    for pkt in vs.encode(None):
        out.mux(pkt)
    if aus is not None:
        sr, n = 48000, 1024
        total = int(frames / fps * sr)
        t = np.arange(total) / sr
        wave = (0.2 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
        for k in range(0, total, n):
            chunk = wave[k:k + n]
            if len(chunk) < n:
                chunk = np.pad(chunk, (0, n - len(chunk)))
            af = av.AudioFrame.from_ndarray(np.stack([chunk, chunk])[None].reshape(1, -1), format="flt",
                                            layout="stereo")
            af.sample_rate = sr
            af.pts = k
            af.time_base = Fraction(1, sr)
            for pkt in aus.encode(af):
                out.mux(pkt)
        for pkt in aus.encode(None):
            out.mux(pkt)
    out.close()
    return path


def run_cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """Run the installed command line in a subprocess, as a user would."""
    return subprocess.run([sys.executable, "-m", "sdr2hdr.cli", *map(str, args)], capture_output=True, text=True,
                          cwd=cwd, timeout=600)


def ffprobe(*args: str) -> str:
    return subprocess.run(["ffprobe", "-v", "error", *map(str, args)], capture_output=True, text=True,
                          check=True).stdout


def decoded_frames(path: Path) -> list[tuple[int, np.ndarray]]:
    """(pts, all three 10-bit planes flattened) of every decoded frame: what "the same frames" compares."""
    from sdr2hdr.io.frames import frame_plane

    with av.open(str(path)) as c:
        return [(f.pts, np.concatenate([frame_plane(f, i, 10).ravel() for i in range(3)]))
                for f in c.decode(c.streams.video[0])]


def packet_times(path: Path) -> dict:
    """Every stream's packet presentation times as ffprobe (not the project's reader) reads them."""
    import json

    out = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "packet=stream_index,pts", "-of", "json",
                          str(path)], capture_output=True, text=True, check=True).stdout
    times: dict = {}
    for p in json.loads(out)["packets"]:
        times.setdefault(p["stream_index"], []).append(p.get("pts"))
    return {k: sorted(v) for k, v in times.items()}


SAMPLE = Path(__file__).resolve().parents[1] / "src" / "sdr2hdr" / "assets" / "sample_sdr.mp4"


def sample_planes(index: int = 30, size: tuple[int, int] = (320, 180)) -> tuple[np.ndarray, ...]:
    """Frame `index` of the bundled sample, area-scaled to `size`, as 8-bit BT.709 limited 4:2:0 planes (a real
    picture, small enough for fast tests)."""
    import cv2

    from sdr2hdr.color import rgb_to_yuv420, yuv420_to_rgb
    from sdr2hdr.io.frames import frame_plane

    with av.open(str(SAMPLE)) as c:
        frame = next(f for i, f in enumerate(c.decode(video=0)) if i == index)
    y, u, v = (np.ascontiguousarray(frame_plane(frame, i, 8)) for i in range(3))
    rgb = yuv420_to_rgb(y, u, v, matrix="bt709", bits=8, full_range=False)
    small = np.clip(cv2.resize(rgb, size, interpolation=cv2.INTER_AREA), 0, 1)
    return tuple(p.astype(np.uint8) for p in rgb_to_yuv420(small, matrix="bt709", bits=8, full_range=False))
