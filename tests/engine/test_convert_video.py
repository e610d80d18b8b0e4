"""End to end: `sdr2hdr convert` on a real H.264 clip, checked with ffprobe and by decoding the output."""

import hashlib
import json
import signal
import subprocess
import sys
import time

import av
import numpy as np
import pytest
from clip_tools import ffprobe, make_sdr_clip, run_cli

from sdr2hdr.io import frame_to_rgb, measure_light_level, read_hdr10_metadata


@pytest.fixture(scope="module")
def converted(sdr_clip, tmp_path_factory):
    out = tmp_path_factory.mktemp("hdr") / "out.mkv"
    before = hashlib.sha256(sdr_clip.read_bytes()).hexdigest()
    res = run_cli("convert", sdr_clip, out, "--method", "bt2446c", "--quiet")
    assert res.returncode == 0, res.stderr
    assert hashlib.sha256(sdr_clip.read_bytes()).hexdigest() == before, "the input was modified"
    return out, res


def _stream(path, kind):
    info = json.loads(ffprobe("-show_streams", "-of", "json", path))
    return [s for s in info["streams"] if s["codec_type"] == kind]


def test_output_is_hevc_main10_with_hdr10_tags(converted):
    out, _ = converted
    (v,) = _stream(out, "video")
    assert (v["codec_name"], v["profile"], v["pix_fmt"]) == ("hevc", "Main 10", "yuv420p10le")
    assert (v["color_primaries"], v["color_transfer"], v["color_space"]) == ("bt2020", "smpte2084", "bt2020nc")
    assert v["color_range"] == "tv"
    assert (v["width"], v["height"]) == (322, 182)


def test_output_keeps_the_audio_stream_unchanged(converted, sdr_clip):
    out, _ = converted
    (a_out,) = _stream(out, "audio")
    (a_in,) = _stream(sdr_clip, "audio")
    assert a_out["codec_name"] == a_in["codec_name"] == "aac"
    assert (a_out["sample_rate"], a_out["channels"]) == (a_in["sample_rate"], a_in["channels"])
    count = lambda p: len(ffprobe("-select_streams", "a", "-show_entries", "packet=pts", "-of", "csv", p).split())  # noqa: E731
    assert count(out) == count(sdr_clip)


def test_output_has_the_same_48_frames_and_timestamps(converted, sdr_clip):
    out, _ = converted
    times = lambda p: [round(float(t.strip(",")), 3) for t in ffprobe(  # noqa: E731
        "-select_streams", "v", "-show_entries", "frame=pts_time", "-of", "csv=p=0", p).split()]
    t_in, t_out = times(sdr_clip), times(out)
    assert len(t_out) == 48
    assert [t - t_in[0] for t in t_in] == pytest.approx([t - t_out[0] for t in t_out], abs=1e-3)


def test_side_data_has_mastering_display_and_content_light_level(converted):
    out, _ = converted
    frames = json.loads(ffprobe("-select_streams", "v", "-read_intervals", "%+#1", "-show_frames", "-of", "json", out))
    side = {sd["side_data_type"]: sd for sd in frames["frames"][0]["side_data_list"]}
    md = side["Mastering display metadata"]
    assert md["max_luminance"] == "10000000/10000" and md["min_luminance"] == "1/10000"
    assert (md["red_x"], md["green_y"], md["white_point_x"]) == ("34000/50000", "34500/50000", "15635/50000")
    cll = side["Content light level metadata"]
    assert 0 < cll["max_average"] <= cll["max_content"] <= 1000


def test_maxcll_in_the_file_matches_the_decoded_output_within_5_percent(converted):
    out, res = converted
    meta = read_hdr10_metadata(out)["content_light_level"]
    with av.open(str(out)) as c:
        decoded = [frame_to_rgb(f, "bt2020", False) for f in c.decode(video=0)]
    max_cll, max_fall = measure_light_level(iter(decoded))
    assert meta["max_cll"] == pytest.approx(max_cll, rel=0.05)
    assert meta["max_fall"] == pytest.approx(max_fall, rel=0.05)
    assert f"MaxCLL {meta['max_cll']} cd/m2" in res.stdout


def test_sdr_white_lands_at_the_bt2446c_level(converted):
    """The clip's white square is SDR 100% (code 235): BT.2446 method C maps 100 cd/m2 to 332.383 cd/m2."""
    from sdr2hdr.color import pq_eotf

    out, _ = converted
    with av.open(str(out)) as c:
        first = frame_to_rgb(next(c.decode(video=0)), "bt2020", False)
    centre = first[182 // 4 + 12: 182 // 4 + 20, 12:20]  # inside the square of frame 0, away from its edges
    assert float(np.median(pq_eotf(centre))) == pytest.approx(332.383, rel=0.02)


def test_info_shows_streams_tags_and_hdr10_metadata(converted):
    out, _ = converted
    res = run_cli("info", out)
    assert res.returncode == 0, res.stderr
    for text in ("hevc", "smpte2084", "bt2020", "limited", "MaxCLL / MaxFALL", "mastering display", "aac"):
        assert text in res.stdout


def test_odd_frame_size_is_cropped_with_a_note(tmp_path):
    src = make_sdr_clip(tmp_path / "odd.mp4", width=323, height=181, frames=6, audio=False, pix_fmt="yuv444p")
    res = run_cli("convert", src, tmp_path / "odd.mkv", "--quiet", "--method", "bt2408")
    assert res.returncode == 0, res.stderr
    assert "cropped" in res.stdout and "322x180" in res.stdout
    (v,) = _stream(tmp_path / "odd.mkv", "video")
    assert (v["width"], v["height"]) == (322, 180)


def test_bt2408_maps_sdr_white_to_code_573(tmp_path):
    """A flat 100% white clip under BT.2408 decodes to 10-bit luma 573 (203 cd/m2)."""
    path = tmp_path / "white.mp4"
    out = av.open(str(path), "w")
    vs = out.add_stream("libx264", rate=24)
    vs.width, vs.height, vs.pix_fmt = 64, 64, "yuv420p"
    vs.options = {"qp": "0", "preset": "ultrafast"}
    for i in range(4):
        f = av.VideoFrame(64, 64, "yuv420p")
        for p, val in zip(f.planes, (235, 128, 128)):
            p.update(bytes([val]) * p.buffer_size)
        f.pts = i
        for pkt in vs.encode(f):
            out.mux(pkt)
    for pkt in vs.encode(None):
        out.mux(pkt)
    out.close()
    res = run_cli("convert", path, tmp_path / "w.mkv", "--method", "bt2408", "--qp", "0", "--quiet")
    assert res.returncode == 0, res.stderr
    with av.open(str(tmp_path / "w.mkv")) as c:
        f = next(c.decode(video=0))
        y = np.frombuffer(memoryview(f.planes[0]), "<u2").reshape(64, -1)[:, :64]
    assert abs(float(np.median(y)) - 573) <= 1


def test_ctrl_c_leaves_no_partial_output(tmp_path):
    src = make_sdr_clip(tmp_path / "long.mp4", width=640, height=360, frames=400, audio=False)
    out = tmp_path / "o.mkv"
    # as from a terminal: SIGINT at its default, whatever the test process inherited (a child keeps an ignored one)
    proc = subprocess.Popen([sys.executable, "-m", "sdr2hdr.cli", "convert", str(src), str(out), "--quiet",
                             "--preset", "slow"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.monotonic() + 120
    # interrupt mid-conversion: once its hidden temporary output exists, not after a fixed guess
    while not any(p.name.startswith(".") for p in tmp_path.iterdir()):
        assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
        time.sleep(0.05)
    time.sleep(0.3)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "interrupted" in err and "Traceback" not in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["long.mp4"]


def test_subtitles_are_copied_unchanged(tmp_path, sdr_clip):
    (tmp_path / "s.srt").write_text("1\n00:00:00,000 --> 00:00:01,000\nHello HDR\n\n"
                                    "2\n00:00:01,000 --> 00:00:01,900\nSecond line\n")
    src = tmp_path / "subs.mkv"
    subprocess.run(["ffmpeg", "-v", "error", "-i", str(sdr_clip), "-i", str(tmp_path / "s.srt"), "-map", "0",
                    "-map", "1", "-c", "copy", "-c:s", "srt", "-metadata:s:s:0", "language=eng", str(src)],
                   check=True)
    res = run_cli("convert", src, tmp_path / "out.mkv", "--quiet", "--preset", "ultrafast")
    assert res.returncode == 0, res.stderr
    (sub,) = _stream(tmp_path / "out.mkv", "subtitle")
    assert sub["codec_name"] == "subrip" and sub["tags"]["language"] == "eng"
    srt = lambda p: subprocess.run(["ffmpeg", "-v", "error", "-i", str(p), "-map", "0:s", "-f", "srt", "-"],  # noqa: E731
                                   capture_output=True, text=True, check=True).stdout
    assert "Hello HDR" in srt(tmp_path / "out.mkv") and "Second line" in srt(tmp_path / "out.mkv")
    assert srt(tmp_path / "out.mkv") == srt(src)


def test_subtitles_a_container_cannot_hold_are_refused_clearly(tmp_path, sdr_clip):
    # SubRip and mov_text are converted into each other (test_delivery); styled ASS has no MP4 form
    src = tmp_path / "subs.mkv"
    (tmp_path / "s.srt").write_text("1\n00:00:00,000 --> 00:00:01,000\nHello\n")
    subprocess.run(["ffmpeg", "-v", "error", "-i", str(sdr_clip), "-i", str(tmp_path / "s.srt"), "-map", "0",
                    "-map", "1", "-c", "copy", "-c:s", "ass", str(src)], check=True)
    res = run_cli("convert", src, tmp_path / "out.mp4", "--quiet")
    assert res.returncode == 2 and "Traceback" not in res.stderr
    assert "cannot copy subtitle stream" in res.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.srt", "subs.mkv"]


@pytest.mark.parametrize("ext", [".mkv", ".mp4"])
def test_a_one_piece_conversion_keeps_the_input_rotation(tmp_path, sdr_clip, ext):
    # the reader learns the display matrix from the first decoded frame, so the writer must be given it after
    # the frames went through, not when it is opened (a rotated phone clip came out upright-less)
    rotated = tmp_path / "rotated.mp4"
    subprocess.run(["ffmpeg", "-v", "error", "-i", str(sdr_clip), "-c", "copy", "-metadata:s:v:0", "rotate=90",
                    str(rotated)], check=True)
    out = tmp_path / f"out{ext}"
    res = run_cli("convert", rotated, out, "--method", "bt2408", "--quiet", "--max-frames", "4")
    assert res.returncode == 0, res.stderr
    # the remux that writes the matrix copies packets: no encoder may open and log to the terminal
    assert "x265 [" not in res.stderr, res.stderr
    (v,) = _stream(out, "video")
    assert [abs(int(sd["rotation"])) for sd in v.get("side_data_list", []) if "rotation" in sd] == [90]
