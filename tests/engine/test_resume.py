"""Segmented conversion: killed with SIGKILL at random points and resumed, or spread over a local Ray cluster,
the joined film has the frames (decoded planes) and timestamps of an uninterrupted run; refusals are one line."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from clip_tools import decoded_frames, make_gop_clip, packet_times, run_cli

SEGMENT = "0.25"  # with a keyframe every 6 frames at 24 frames/s: 10 pieces of 6 frames


def _same_film(a: Path, b: Path) -> None:
    fa, fb = decoded_frames(a), decoded_frames(b)
    assert len(fa) == len(fb) == 60
    assert [p for p, _ in fa] == [p for p, _ in fb]
    assert all(np.array_equal(x, y) for (_, x), (_, y) in zip(fa, fb))
    assert packet_times(a) == packet_times(b)


def _convert(src: Path, out: Path, *extra: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "sdr2hdr.cli", "convert", str(src), str(out), "--quiet",
                             "--segment-seconds", SEGMENT, *extra],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _pieces(parts: Path) -> int:
    return len(list(parts.glob("piece-*.json"))) if parts.exists() else 0


def _kill_and_resume(src: Path, out: Path, args: tuple, seed: int, between=None) -> int:
    """Five SIGKILLs, each once the run has finished a piece, at a random moment within the next piece (scaled
    by the time the last piece took, so on any machine speed the kill lands before the film is done); then a
    resume to the end."""
    rng = random.Random(seed)
    parts = out.parent / f".{out.name}.parts"
    kills = 0
    while kills < 5:
        before = _pieces(parts)
        proc = _convert(src, out, *args, "--resume")
        while proc.poll() is None and _pieces(parts) <= before:
            time.sleep(0.01)
        last = max(parts.glob("piece-*.json"), key=lambda p: p.stat().st_mtime_ns, default=None)
        took = json.loads(last.read_text())["seconds"] if last is not None else 0.2
        time.sleep(rng.uniform(0.0, 0.9) * took)
        if proc.poll() is not None:
            break
        proc.kill()
        proc.communicate()
        kills += 1
        assert not out.exists()
        assert (parts / "manifest.json").exists()
        if between is not None and kills == 1:
            between()
    proc = _convert(src, out, *args, "--resume")
    _, err = proc.communicate(timeout=600)
    assert proc.returncode == 0, err
    assert not parts.exists()
    return kills


@pytest.fixture(scope="module")
def film(tmp_path_factory):
    folder = tmp_path_factory.mktemp("resume")
    return make_gop_clip(folder / "in.mp4")


@pytest.fixture(scope="module")
def reference(film):
    """Uninterrupted runs, one per mapping, made once."""
    made = {}

    def get(*args: str) -> Path:
        if args not in made:
            out = film.parent / f"ref{len(made)}.mkv"
            res = run_cli("convert", film, out, "--quiet", "--segment-seconds", SEGMENT, *args)
            assert res.returncode == 0, res.stderr
            made[args] = out
        return made[args]

    return get


def test_sigkill_five_times_then_resume_classical(film, reference, tmp_path):
    args = ("--method", "bt2446c")
    out = tmp_path / "out.mkv"

    def refusals():
        # a resume with other options, or of an input that changed, is refused in one line and changes nothing
        res = run_cli("convert", film, out, "--quiet", "--segment-seconds", SEGMENT, *args, "--preset", "medium",
                      "--resume")
        assert res.returncode == 2 and "options differ" in res.stderr and len(res.stderr.strip().splitlines()) == 1
        st = film.stat()
        os.utime(film, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
        res = run_cli("convert", film, out, "--quiet", "--segment-seconds", SEGMENT, *args, "--resume")
        os.utime(film, ns=(st.st_atime_ns, st.st_mtime_ns))
        assert res.returncode == 2 and "input changed" in res.stderr and "Traceback" not in res.stderr
        assert not out.exists()

    kills = _kill_and_resume(film, out, args, seed=15, between=refusals)
    assert kills == 5
    _same_film(out, reference(*args))
    info = subprocess.run(["ffprobe", "-v", "error", "-select_streams", "v", "-read_intervals", "%+#1",
                           "-show_entries", "stream=color_primaries,color_transfer:frame_side_data=max_content,"
                           "max_average", "-of", "json", str(out)], capture_output=True, text=True, check=True).stdout
    info = json.loads(info)
    assert (info["streams"][0]["color_primaries"], info["streams"][0]["color_transfer"]) == ("bt2020", "smpte2084")
    # the pieces' sentinel MaxCLL/MaxFALL replaced by the film's maxima (the sentinel is 43981, 48059)
    light = [sd for sd in info["frames"][0]["side_data_list"] if "max_content" in sd]
    assert len(light) == 1 and 100 < light[0]["max_content"] <= 10000 and 0 < light[0]["max_average"] < 1000


def test_sigkill_five_times_then_resume_default_model(film, reference, tmp_path):
    # the default model's float tier (no 2^24-code table to build at every start, which would make this slow);
    # the table tier's segments are checked against a one-piece run in test_segments_map_like_one_run
    args = ("--quality", "balanced")
    out = tmp_path / "out.mkv"
    assert _kill_and_resume(film, out, args, seed=16) == 5
    _same_film(out, reference(*args))


@pytest.mark.slow  # starts a local Ray cluster
def test_ray_two_workers_equal_one_machine(film, reference, tmp_path):
    args = ("--quality", "balanced")  # the tracker's state reaches each worker from the driver's pass
    out = tmp_path / "ray.mkv"
    proc = _convert(film, out, *args, "--ray", "local", "--ray-workers", "2")
    _, err = proc.communicate(timeout=600)
    assert proc.returncode == 0, err
    assert not (tmp_path / ".ray.mkv.parts").exists()
    _same_film(out, reference(*args))


def test_segments_map_like_one_run(film, tmp_path, monkeypatch):
    """Lossless x265: the pieces joined carry exactly the frames a one-piece run maps (default model, table tier,
    each piece building its table from the tracker state it starts with, as a resumed process does)."""
    from sdr2hdr.engine import segments
    from sdr2hdr.engine.convert import convert_video, model_mapper
    from sdr2hdr.engine.segments import Settings, convert_segmented

    src = make_gop_clip(tmp_path / "short.mp4", frames=24, gop=12)
    one, seg = tmp_path / "one.mkv", tmp_path / "seg.mkv"
    convert_video(src, one, model_mapper("adaptive_itm"), x265_params="lossless=1", progress=False)
    monkeypatch.setattr(segments, "_TABLES", None)  # no table carried between pieces: each builds its own
    report = convert_segmented(src, seg, model_mapper("adaptive_itm"), seconds=0.5, progress=False,
                               settings=Settings(x265_params="lossless=1"), notify=lambda line: None)
    assert report.notes == ["2 piece(s)"]
    fa, fb = decoded_frames(one), decoded_frames(seg)
    assert len(fa) == len(fb) == 24
    assert [p for p, _ in fa] == [p for p, _ in fb]
    assert all(np.array_equal(x, y) for (_, x), (_, y) in zip(fa, fb))


@pytest.mark.parametrize("extra, message", [
    (("--method", "bt2446c", "--ray-workers", "2"), "needs --ray local"),
    (("--method", "bt2446c", "--max-frames", "5"), "for whole videos"),
    (("--model", "didnet_tiny"), "looks at 5 frames at a time"),
])
def test_segment_refusals_are_one_line(film, tmp_path, extra, message):
    out = tmp_path / "o.mkv"
    res = run_cli("convert", film, out, "--quiet", "--resume", *extra)
    assert res.returncode == 2 and "Traceback" not in res.stderr
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], res.stderr
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("ext", [".mp4", ".mkv"])
def test_segmented_output_keeps_the_input_rotation(film, tmp_path, ext):
    """The pieces carry no rotation; the joined film gets the input's display matrix, as a one-piece run does
    (ffprobe reads it back as the stream's rotation)."""
    rotated = tmp_path / "rot.mp4"
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(film), "-c", "copy", "-metadata:s:v:0", "rotate=90",
                    str(rotated)], check=True)
    out = tmp_path / f"out{ext}"
    res = run_cli("convert", rotated, out, "--quiet", "--segment-seconds", SEGMENT, "--method", "bt2408")
    assert res.returncode == 0, res.stderr
    info = json.loads(subprocess.run(["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_streams", "-of",
                                      "json", str(out)], capture_output=True, text=True, check=True).stdout)
    # the HDR10 metadata is side data of the stream too: the entry with a rotation is the display matrix
    rot = [sd["rotation"] for sd in info["streams"][0].get("side_data_list", []) if "rotation" in sd]
    assert rot and abs(int(rot[0])) == 90, info["streams"][0].get("side_data_list")
