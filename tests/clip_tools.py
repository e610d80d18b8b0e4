"""Test tools: small SDR clips made with PyAV (H.264, BT.709 tags, AAC audio), the CLI run in-process or as a
process, ffprobe, the bundled sample."""

from __future__ import annotations

import contextlib
import ctypes
import io
import os
import signal
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
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


@dataclass
class CliResult:
    """What a command left behind, named as subprocess.CompletedProcess names it."""

    args: list[str]
    returncode: int
    stdout: str
    stderr: str


@contextlib.contextmanager
def _fd_captured(fd: int) -> Iterator[Callable[[], str]]:
    """Point file descriptor `fd` at a temporary file for the block: what C libraries (x265, FFmpeg) write there
    straight, bypassing sys.stdout/sys.stderr. Yields a function that reads it back after the block."""
    with tempfile.TemporaryFile(mode="w+b") as tmp:
        saved = os.dup(fd)
        text = ""
        try:
            os.dup2(tmp.fileno(), fd)
            yield lambda: text
        finally:
            ctypes.CDLL(None).fflush(None)  # C stdio buffers go to the file, not to whoever holds fd next
            os.dup2(saved, fd)
            os.close(saved)
            tmp.seek(0)
            text = tmp.read().decode(errors="replace")


def run_cli(*args: str, cwd: Path | None = None) -> CliResult:
    """Run `sdr2hdr ARGS` in this process through `cli.main`, as a user would but without a ~4 s start-up per call.

    Captures what it prints (Python's and the C libraries' output alike), runs in `cwd` when given, and puts back
    what main changes for the process: the signal handlers it installs, torch's thread count, the working directory.
    Tests of the process itself (signals, `python -m`, the real exit status) use run_cli_process.
    """
    from sdr2hdr import cli

    argv = [str(a) for a in args]
    handlers = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
    torch = sys.modules.get("torch")
    threads = torch.get_num_threads() if torch else None
    here = os.getcwd()
    out, err = io.StringIO(), io.StringIO()
    for stream in (sys.stdout, sys.stderr):
        stream.flush()
    with _fd_captured(1) as c_out, _fd_captured(2) as c_err:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                if cwd is not None:
                    os.chdir(cwd)
                code = cli.main(argv)
            except SystemExit as exc:  # argparse's --help and --version exit, as the real process would
                if isinstance(exc.code, str):
                    print(exc.code, file=sys.stderr)
                code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
            finally:
                os.chdir(here)
                for sig, handler in handlers.items():
                    signal.signal(sig, handler)
                if threads is not None:
                    torch.set_num_threads(threads)
    return CliResult(argv, code, out.getvalue() + c_out(), err.getvalue() + c_err())


def run_cli_process(*args: str, **kw) -> subprocess.CompletedProcess:
    """Run the command line in a process of its own (`python -m sdr2hdr`), for tests of the process itself: its
    exit status and signals, limits set on it (keywords go to subprocess.run: cwd, env, preexec_fn)."""
    return subprocess.run([sys.executable, "-m", "sdr2hdr", *map(str, args)], capture_output=True, text=True,
                          timeout=600, **kw)


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


def make_gop_clip(path: Path, frames: int = 60, gop: int = 6, size: str = "320x180") -> Path:
    """H.264 with B-frames (decode order differs from display order) and a keyframe every `gop` frames at 24
    frames/s, with an AAC track: what segment, resume and Ray tests cut at keyframes."""
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", f"testsrc2=size={size}:rate=24",
                    "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000", "-frames:v", str(frames),
                    "-t", str(frames / 24), "-c:v", "libx264", "-preset", "veryfast", "-g", str(gop),
                    "-keyint_min", str(gop), "-sc_threshold", "0", "-bf", "2", "-pix_fmt", "yuv420p",
                    "-color_primaries", "bt709", "-color_trc", "bt709", "-colorspace", "bt709", "-c:a", "aac",
                    str(path)], check=True)
    return path
