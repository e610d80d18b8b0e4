"""Issue 29's odd inputs and options: negative Matroska timestamps, an EXR over the file size limit, alpha dropped
with a note, an empty PNG, model options with --method, a CUDA device that is not there, and two `batch` cases
(a dangling symbolic link, a resume over outputs made with other options)."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from clip_tools import decoded_frames, make_sdr_clip
from long_jobs import one_line, run


def _ffmpeg(*args: object) -> None:
    subprocess.run(["ffmpeg", "-v", "error", "-y", *map(str, args)], check=True)


def test_mkv_with_negative_timestamps_converts_the_frames_ffmpeg_shows(tmp_path):
    """`-itsoffset -0.2 ... -avoid_negative_ts disabled` on a 10-frame Matroska file: the first five frames fall
    before the start and read back untimed; the other five are the film, converted with their timestamps."""
    good, neg, out = tmp_path / "good.mkv", tmp_path / "neg.mkv", tmp_path / "out.mkv"
    _ffmpeg("-f", "lavfi", "-i", "testsrc2=size=320x180:rate=25", "-frames:v", 10, "-c:v", "libx264",
            "-pix_fmt", "yuv420p", good)
    _ffmpeg("-itsoffset", "-0.2", "-i", good, "-c", "copy", "-avoid_negative_ts", "disabled", neg)
    res = run("convert", neg, out, "--method", "bt2408", "--quiet")
    assert res.returncode == 0, res.stderr
    assert "5 frame(s) before the start" in res.stdout
    frames = decoded_frames(out)
    assert [pts for pts, _ in frames] == [0, 40, 80, 120, 160]


def test_exr_over_the_file_size_limit_says_file_too_large(tmp_path):
    """A limit that cuts the EXR where OpenEXR does not notice: the same line as the other writers, no C++ noise,
    nothing left behind (2000 bytes cut this 64x48 picture's EXR mid-chunk)."""
    src = tmp_path / "in.png"
    _ffmpeg("-f", "lavfi", "-i", "testsrc2=size=64x48", "-frames:v", 1, src)
    for limit in (2000, 2200, 2400):
        res = run("convert", src, tmp_path / "out.exr", "--method", "bt2408", limit=limit)
        if res.returncode == 0:  # the file fit under this limit
            (tmp_path / "out.exr").unlink()
            continue
        line = one_line(res)
        assert "cannot write" in line and "File too large" in line, line
        assert sorted(p.name for p in tmp_path.iterdir()) == ["in.png"]


@pytest.mark.parametrize("kind", ["prores4444", "vp9alpha"])
def test_alpha_is_dropped_with_a_note(tmp_path, kind):
    if kind == "prores4444":
        src = tmp_path / "in.mov"
        _ffmpeg("-f", "lavfi", "-i", "testsrc2=size=64x48:rate=25,format=yuva444p10le", "-frames:v", 3,
                "-c:v", "prores_ks", "-profile:v", "4444", "-pix_fmt", "yuva444p10le", src)
    else:
        src = tmp_path / "in.webm"
        _ffmpeg("-f", "lavfi", "-i", "testsrc2=size=64x48:rate=25,format=yuva420p", "-frames:v", 3,
                "-c:v", "libvpx-vp9", "-pix_fmt", "yuva420p", src)
    res = run("convert", src, tmp_path / "out.mkv", "--method", "bt2408", "--quiet")
    assert res.returncode == 0, res.stderr
    assert "alpha channel (transparency) is dropped" in res.stdout


def test_opaque_video_gets_no_alpha_note(sdr_clip, tmp_path):
    res = run("convert", sdr_clip, tmp_path / "out.mkv", "--method", "bt2408", "--quiet", "--max-frames", 2)
    assert res.returncode == 0 and "alpha" not in res.stdout


def test_empty_png_says_the_file_is_empty(tmp_path):
    src = tmp_path / "empty.png"
    src.write_bytes(b"")
    line = one_line(run("convert", src, tmp_path / "out.png", "--method", "bt2408"))
    assert line.endswith(f"the file is empty: {src}"), line


@pytest.mark.parametrize("extra, named", [
    (("--tile", "256"), "--tile"), (("--precision", "bf16"), "--precision"), (("--device", "cpu"), "--device"),
    (("--tile", "256", "--device", "cpu"), "--tile, --device"),
])
def test_model_options_with_method_are_refused(sdr_clip, tmp_path, extra, named):
    line = one_line(run("convert", sdr_clip, tmp_path / "out.mkv", "--method", "bt2446c", *extra))
    assert named in line and "--method is a classical mapping" in line, line
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("device", ["cuda:9", "gpu"])
def test_a_device_this_machine_lacks_is_one_line(sdr_clip, tmp_path, device):
    line = one_line(run("convert", sdr_clip, tmp_path / "out.mkv", "--model", "dncnn", "--device", device,
                        "--max-frames", 1))
    assert device in line and ("CUDA device" in line or "unknown device" in line), line
    assert list(tmp_path.iterdir()) == []


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("batch29")
    (root / "in").mkdir()
    make_sdr_clip(root / "in" / "a.mp4", frames=4, audio=False)
    return root


def test_batch_reports_a_dangling_symbolic_link(folder, tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    os.symlink(folder / "in" / "a.mp4", src / "a.mp4")
    os.symlink(tmp_path / "gone.mp4", src / "b.mp4")
    res = run("batch", src, tmp_path / "out", "--method", "bt2408", "--quiet")
    assert res.returncode == 1, res.stderr
    rows = {r["input"]: r for r in json.loads((tmp_path / "out" / "sdr2hdr-batch.json").read_text())["files"]}
    assert rows["a.mp4"]["status"] == "converted"
    assert rows["b.mp4"]["status"] == "failed" and "broken symbolic link" in rows["b.mp4"]["reason"]
    assert "b.mp4: broken symbolic link" in res.stderr


def test_batch_resume_says_when_an_output_was_made_with_other_options(folder, tmp_path):
    out = tmp_path / "out"
    assert run("batch", folder / "in", out, "--method", "bt2408", "--quiet").returncode == 0
    same = run("batch", folder / "in", out, "--method", "bt2408", "--quiet")
    assert same.returncode == 0 and "other options" not in same.stdout
    other = run("batch", folder / "in", out, "--method", "bt2446c", "--crf", "20", "--quiet")
    assert other.returncode == 0, other.stderr
    assert "a.mp4: a.mkv already exists, but was made with other options (crf None -> 20.0, method bt2408 -> " \
           "bt2446c); --overwrite converts it again" in other.stdout
    rows = json.loads((out / "sdr2hdr-batch.json").read_text())["files"]
    assert rows[0]["status"] == "skipped" and "made with other options" in rows[0]["reason"]
