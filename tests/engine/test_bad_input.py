"""Bad input: one clear line on stderr, a non-zero status, no traceback, no output file, input untouched."""

import av
import pytest
from clip_tools import make_sdr_clip, run_cli


def _fails(res, pattern):
    """One line naming the problem (pattern), exit status 2 (the user's input is wrong), no traceback."""
    assert pattern, "name the message the user must see"
    assert res.returncode == 2, (res.returncode, res.stderr)
    assert "Traceback" not in res.stderr
    lines = [ln for ln in res.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, res.stderr
    assert pattern in lines[0], lines[0]


def _no_leftovers(directory, expected):
    assert sorted(p.name for p in directory.iterdir()) == sorted(expected)


def test_missing_file(tmp_path):
    res = run_cli("convert", tmp_path / "nope.mp4", tmp_path / "o.mkv")
    _fails(res, "no such file")
    _no_leftovers(tmp_path, [])


def test_file_that_is_neither_video_nor_image(tmp_path):
    (tmp_path / "notes.mp4").write_text("this is not a video\n" * 50)
    res = run_cli("convert", tmp_path / "notes.mp4", tmp_path / "o.mkv")
    _fails(res, "not a video or image")
    _no_leftovers(tmp_path, ["notes.mp4"])


def test_truncated_stream(tmp_path):
    src = make_sdr_clip(tmp_path / "full.mkv", frames=48, audio=False)
    data = src.read_bytes()
    (tmp_path / "cut.mkv").write_bytes(data[: len(data) // 2])
    src.unlink()
    res = run_cli("convert", tmp_path / "cut.mkv", tmp_path / "o.mkv", "--quiet")
    _fails(res, "truncated")
    _no_leftovers(tmp_path, ["cut.mkv"])


def test_corrupt_container_header(tmp_path):
    src = make_sdr_clip(tmp_path / "c.mp4", frames=12, audio=False)
    data = bytearray(src.read_bytes())
    data[:64] = b"\x00" * 64
    src.write_bytes(bytes(data))
    res = run_cli("convert", src, tmp_path / "o.mkv", "--quiet")
    _fails(res, f"not a video or image file, or unreadable: {src}")
    _no_leftovers(tmp_path, ["c.mp4"])


def test_input_that_is_already_hdr(tmp_path, sdr_clip):
    first = run_cli("convert", sdr_clip, tmp_path / "hdr.mkv", "--quiet", "--max-frames", "4", "--method", "bt2408")
    assert first.returncode == 0, first.stderr
    res = run_cli("convert", tmp_path / "hdr.mkv", tmp_path / "again.mkv")
    _fails(res, "already HDR")
    _no_leftovers(tmp_path, ["hdr.mkv"])


def test_stream_with_zero_frames(tmp_path):
    out = av.open(str(tmp_path / "empty.mkv"), "w")
    vs = out.add_stream("libx264", rate=24)
    vs.width, vs.height, vs.pix_fmt = 64, 64, "yuv420p"
    out.start_encoding()
    out.close()
    res = run_cli("convert", tmp_path / "empty.mkv", tmp_path / "o.mkv", "--quiet")
    _fails(res, "no frames")
    _no_leftovers(tmp_path, ["empty.mkv"])


def test_output_directory_that_does_not_exist(tmp_path, sdr_clip):
    res = run_cli("convert", sdr_clip, tmp_path / "missing" / "o.mkv")
    _fails(res, "output directory does not exist")
    assert not (tmp_path / "missing").exists()


def test_existing_output_needs_overwrite(tmp_path, sdr_clip):
    (tmp_path / "o.mkv").write_bytes(b"keep me")
    res = run_cli("convert", sdr_clip, tmp_path / "o.mkv", "--quiet")
    _fails(res, "--overwrite")
    assert (tmp_path / "o.mkv").read_bytes() == b"keep me"
    res = run_cli("convert", sdr_clip, tmp_path / "o.mkv", "--quiet", "--overwrite", "--max-frames", "3",
                  "--method", "bt2408")
    assert res.returncode == 0, res.stderr
    assert (tmp_path / "o.mkv").stat().st_size > 1000


def test_unknown_option_and_bad_values_are_one_line(tmp_path, sdr_clip):
    _fails(run_cli("convert", sdr_clip, tmp_path / "o.mkv", "--method", "magic"), "invalid choice")
    _fails(run_cli("convert", sdr_clip, tmp_path / "o.mkv", "--qp", "99"), "--qp")
    _fails(run_cli("convert", sdr_clip, tmp_path / "o.txt"), "a video converts to")
    _no_leftovers(tmp_path, [])


@pytest.mark.parametrize("suffix", [".png", ".exr"])
def test_hdr_image_input_is_refused(tmp_path, suffix):
    import numpy as np

    from sdr2hdr.io import write_exr, write_png16

    src = tmp_path / f"hdr{suffix}"
    (write_png16 if suffix == ".png" else write_exr)(src, np.full((8, 8, 3), 0.5, np.float32))
    _fails(run_cli("convert", src, tmp_path / "o.png"), "already HDR")
    _no_leftovers(tmp_path, [src.name])
