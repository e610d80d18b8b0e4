"""Every corpus input through the real command line: converted right (checked with ffprobe) or refused clearly,
never a traceback, a partial file or a changed input."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from corpus import CASES, Case, make_input, sha256

# about ninety runs of the real command line, a process each (signals among them): a long check
pytestmark = pytest.mark.slow


@pytest.fixture(scope="session")
def corpus_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("corpus")


def _cli(args: list, cwd: Path | None = None) -> subprocess.Popen:
    # as from a terminal: SIGINT at its default, whatever the test process inherited (a child keeps an ignored one)
    return subprocess.Popen([sys.executable, "-m", "sdr2hdr.cli", "convert", *map(str, args)], cwd=cwd,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))


def probe(path: Path, frames: bool = False) -> dict:
    """ffprobe's streams (and decoded frames) of a file, as JSON."""
    cmd = ["ffprobe", "-v", "error", "-of", "json", "-show_streams", "-show_frames" if frames else "-show_format",
           str(path)]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr
    return json.loads(res.stdout)


def _video_frames(path: Path) -> tuple[dict, list[float | None]]:
    """First non-cover video stream and the presentation times of its frames, as ffprobe decodes them."""
    data = probe(path, frames=True)
    videos = [s for s in data["streams"] if s["codec_type"] == "video"
              and not s.get("disposition", {}).get("attached_pic")]
    stream = videos[0]
    times = [float(f["best_effort_timestamp_time"]) if "best_effort_timestamp_time" in f else None
             for f in data.get("frames", []) if f.get("stream_index") == stream["index"]]
    return stream, times


def _paths(case: Case, corpus_dir: Path, tmp_path: Path) -> tuple[Path, Path, Path, Path | None]:
    """(input as given to the CLI, input file, output, working directory)."""
    made = make_input(case, corpus_dir)
    src, cwd = made, None
    if "in_name" in case.checks:
        src = tmp_path / case.checks["in_name"]
        shutil.copyfile(made, src)
        cwd = tmp_path
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    name = case.checks.get("out_name", "o" + case.out_ext)
    out = out_dir / case.checks.get("output_dir", "") / name  # a missing folder for that case
    if case.checks.get("existing_output"):
        out.write_bytes(b"keep me")
    return (Path(src.name) if cwd else src), src, out, cwd


def _one_line(stderr: str) -> str:
    assert "Traceback" not in stderr, stderr
    lines = [ln for ln in stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, stderr
    assert lines[0].startswith("sdr2hdr: error: "), lines[0]
    return lines[0]


def _run(case: Case, arg: Path, out: Path, cwd: Path | None) -> tuple[int, str, str]:
    proc = _cli([arg, out, "--quiet", *case.cli], cwd=cwd)
    if case.signal is not None:
        deadline = time.monotonic() + 60
        # interrupt once the temporary output exists, i.e. mid-conversion
        while not any(p.name.startswith(".") for p in out.parent.iterdir()) and proc.poll() is None:
            assert time.monotonic() < deadline, "no temporary file appeared"
            time.sleep(0.05)
        time.sleep(0.3)
        proc.send_signal(case.signal)
    stdout, stderr = proc.communicate(timeout=180)
    return proc.returncode, stdout, stderr


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_case(case: Case, corpus_dir: Path, tmp_path: Path) -> None:
    arg, src, out, cwd = _paths(case, corpus_dir, tmp_path)
    before = sha256(src)
    existing = sorted(p.name for p in out.parent.iterdir()) if out.parent.exists() else []
    rc, stdout, stderr = _run(case, arg, out, cwd)
    assert sha256(src) == before, "the input changed"
    left = sorted(p.name for p in out.parent.iterdir()) if out.parent.exists() else []
    if case.expect == "signal":
        assert rc == 128 + case.signal, (rc, stderr)
        assert "Traceback" not in stderr, stderr
        assert left == [], left
        return
    if case.expect == "refuse":
        assert rc == 2, (rc, stderr)
        line = _one_line(stderr)
        assert case.message in line, line
        assert left == existing, left
        if existing:
            assert out.read_bytes() == b"keep me"
        return
    assert rc == 0, stderr
    assert "Traceback" not in stderr, stderr
    assert left == [out.name], left
    if case.warn:
        assert case.warn in stdout + stderr, stdout + stderr
    _check_output(case, src, out)


def _check_output(case: Case, src: Path, out: Path) -> None:
    in_stream, in_times = _video_frames(src)
    stream, times = _video_frames(out)
    assert (stream["codec_name"], stream["pix_fmt"]) == ("hevc", "yuv420p10le")
    assert (stream.get("color_primaries"), stream.get("color_transfer"), stream.get("color_space")) == \
        ("bt2020", "smpte2084", "bt2020nc")
    w, h = case.out_size or (in_stream["width"] - in_stream["width"] % 2, in_stream["height"] - in_stream["height"] % 2)
    assert (stream["width"], stream["height"]) == (w, h)
    assert len(times) == len(in_times), (len(times), len(in_times))
    assert None not in times and all(b > a for a, b in zip(times, times[1:])), times
    if "spacing" in case.checks:
        assert all(abs((b - a) - case.checks["spacing"]) < 2e-3 for a, b in zip(times, times[1:])), times
    elif None not in in_times:
        rel = [t - times[0] for t in times]
        in_rel = [t - in_times[0] for t in sorted(in_times)]
        assert all(abs(a - b) < 2.5e-3 for a, b in zip(rel, in_rel)), (rel, in_rel)
    _check_streams(case, out, stream)
    umask = os.umask(0)
    os.umask(umask)
    assert out.stat().st_mode & 0o777 == 0o666 & ~umask, oct(out.stat().st_mode)


def _check_streams(case: Case, out: Path, stream: dict) -> None:
    streams = probe(out)["streams"]
    kinds = [s["codec_type"] for s in streams]
    for kind in ("video", "audio", "subtitle", "data"):
        if kind in case.checks:
            assert kinds.count(kind) == case.checks[kind], kinds
    if "rotation" in case.checks:
        # the container's HDR10 metadata stands beside the display matrix in the side data: find the matrix
        rot = [sd["rotation"] for sd in stream.get("side_data_list", []) if "rotation" in sd]
        assert rot and abs(int(rot[0])) == case.checks["rotation"], stream.get("side_data_list")
    if "sar" in case.checks:
        assert stream.get("sample_aspect_ratio") == case.checks["sar"], stream.get("sample_aspect_ratio")


# ffmpeg's encoder names -> the codec ffprobe reads back
CODECS = {"libx264": "h264", "libx265": "hevc", "libvpx-vp9": "vp9", "libvpx": "vp8", "mjpeg": "mjpeg",
          "mpeg2video": "mpeg2video", "mpeg4": "mpeg4", "prores_ks": "prores", "ffv1": "ffv1", "rawvideo": "rawvideo",
          "qtrle": "qtrle", "gif": "gif"}


def _asked(options: tuple, flag: str) -> str | None:
    return options[options.index(flag) + 1] if flag in options else None


def test_corpus_inputs_are_what_their_cases_name(corpus_dir: Path) -> None:
    """Each input as ffprobe reads it has the codec, pixel format and size its case asks ffmpeg for (an option
    ffmpeg ignored would leave a case testing another file than it names), and together they span the containers,
    codecs and pixel formats the reliability issue asked for, in at least 60 cases."""
    assert len(CASES) >= 60 and len({c.name for c in CASES}) == len(CASES)
    formats, codecs, pix_fmts = set(), set(), set()
    for case in CASES:
        data = probe(make_input(case, corpus_dir))
        videos = [s for s in data["streams"] if s["codec_type"] == "video"
                  and not s.get("disposition", {}).get("attached_pic")]
        if case.message == "no video stream":
            assert videos == [], case.name
            continue
        v = videos[0]
        encoder = _asked(case.make, "-c:v")
        if encoder:
            assert v["codec_name"] == CODECS[encoder], (case.name, v["codec_name"])
        if _asked(case.make, "-pix_fmt"):
            # yuvj420p is yuv420p in full range: ffprobe names H.264's full range so, whichever was asked for
            same = [p.replace("yuvj", "yuv") for p in (v["pix_fmt"], _asked(case.make, "-pix_fmt"))]
            assert same[0] == same[1], (case.name, v["pix_fmt"])
        if "scale=" not in (_asked(case.make, "-vf") or "") and not case.steps:  # later steps may join sizes
            assert f"{v['width']}x{v['height']}" == case.size, (case.name, v["width"], v["height"])
        formats.add(data["format"]["format_name"])
        codecs.add(v["codec_name"])
        pix_fmts.add(v["pix_fmt"])
    assert len(formats) >= 10 and len(codecs) >= 12 and len(pix_fmts) >= 18, (formats, codecs, pix_fmts)
