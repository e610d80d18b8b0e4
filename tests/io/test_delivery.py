"""Delivery formats end to end: codecs, HLG, container-level HDR10 metadata read back by ffprobe, mkvinfo and an
MP4 box walk, the declared MaxCLL against the decoded output, and the refusals of combinations."""

from __future__ import annotations

import json
import struct
import subprocess

import av
import colour
import numpy as np
import pytest
from clip_tools import ffprobe, make_sdr_clip, run_cli

from sdr2hdr.color import hlg_inverse_eotf, pq_eotf
from sdr2hdr.io.frames import frame_to_rgb
from sdr2hdr.io.hdr10 import measure_light_level

FRAMES = 12


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    return make_sdr_clip(tmp_path_factory.mktemp("delivery") / "in.mp4", frames=FRAMES)


def _convert(clip, out, *extra):
    r = run_cli("convert", clip, out, "--method", "bt2446c", "--quiet", *extra)
    assert r.returncode == 0, r.stderr
    return out


def _stream(path, kind="v"):
    data = json.loads(ffprobe("-select_streams", kind, "-count_packets", "-show_streams", "-of", "json", path))
    return data["streams"]


def _side_data(stream):
    return {sd["side_data_type"]: sd for sd in stream.get("side_data_list", [])}


def _decoded_light(path):
    with av.open(str(path)) as c:
        return measure_light_level(frame_to_rgb(f, "bt2020", False) for f in c.decode(video=0))


def test_hlg_inverse_eotf_matches_colour_science():
    light = np.array([[1000.0, 1000.0, 1000.0], [203.0, 203.0, 203.0], [500.0, 100.0, 20.0], [0.5, 2.0, 0.1],
                      [12.0, 0.0, 800.0]])
    ours = hlg_inverse_eotf(light)
    ref = colour.models.eotf_inverse_BT2100_HLG(light, L_W=1000.0)
    np.testing.assert_allclose(ours, ref, atol=1e-7)
    assert ours[1, 0] == pytest.approx(0.75, abs=1e-3)  # BT.2408: 203 cd/m2 reference white at 75 % HLG


@pytest.mark.parametrize("name, extra, codec, pix_fmt", [
    ("hevc.mkv", (), "hevc", "yuv420p10le"),
    ("hevc.mp4", (), "hevc", "yuv420p10le"),
    ("av1.mp4", ("--codec", "av1"), "av1", "yuv420p10le"),
    ("prores.mov", ("--codec", "prores"), "prores", "yuv422p10le"),
    ("prores4444.mkv", ("--codec", "prores4444"), "prores", None),
])
def test_pq_outputs_carry_true_hdr10_metadata_in_the_container(clip, tmp_path, name, extra, codec, pix_fmt):
    out = _convert(clip, tmp_path / name, *extra)
    video, = _stream(out)
    assert video["codec_name"] == codec
    if pix_fmt:
        assert video["pix_fmt"] == pix_fmt
    assert (video["color_primaries"], video["color_transfer"], video["color_space"]) == \
        ("bt2020", "smpte2084", "bt2020nc")
    assert int(video["nb_read_packets"]) == FRAMES
    audio, = _stream(out, "a")
    assert audio["codec_name"] == "aac"
    sd = _side_data(video)
    cll = sd["Content light level metadata"]["max_content"]
    peak = sd["Mastering display metadata"]["max_luminance"]
    assert eval(peak) == pytest.approx(1000.0)  # noqa: S307 - ffprobe's "10000000/10000" fraction
    measured, _ = _decoded_light(out)
    assert abs(cll - measured) <= max(10, 0.01 * measured), (cll, measured)


def test_matroska_metadata_reads_back_in_mkvinfo(clip, tmp_path):
    out = _convert(clip, tmp_path / "o.mkv", "--codec", "av1", "--peak-nits", "600")
    text = subprocess.run(["mkvinfo", str(out)], capture_output=True, text=True, check=True).stdout
    cll = _side_data(_stream(out)[0])["Content light level metadata"]["max_content"]
    assert f"Maximum content light: {cll}" in text
    assert "Maximum luminance: 600" in text and "Minimum luminance: 0.0001" in text
    assert "Red color coordinate x: 0.68" in text and "Color transfer: 16" in text


def _boxes(data, start, end):
    pos = start
    while pos + 8 <= end:
        size, kind = struct.unpack(">I4s", data[pos: pos + 8])
        yield kind, pos, size
        pos += size


def _find(data, path):
    """The body of the box at a path of box names (sample entries: their children after the 78-byte header)."""
    start, end = 0, len(data)
    for kind in path:
        pos, size = next((p, s) for k, p, s in _boxes(data, start, end) if k == kind)
        skip = {b"stsd": 16, b"hvc1": 8 + 78}.get(kind, 8)
        start, end = pos + skip, pos + size
    return data[start:end]


def test_mp4_boxes_hold_mdcv_and_clli(clip, tmp_path):
    out = _convert(clip, tmp_path / "o.mp4")
    entry = _find(out.read_bytes(), (b"moov", b"trak", b"mdia", b"minf", b"stbl", b"stsd", b"hvc1"))
    kids = {kind: entry[pos + 8: pos + size] for kind, pos, size in _boxes(entry, 0, len(entry))}
    gx, gy, bx, by, rx, ry, wx, wy, lmax, lmin = struct.unpack(">8H2I", kids[b"mdcv"])
    assert (rx, ry, wx, wy) == (34000, 16000, 15635, 16450) and (lmax, lmin) == (10_000_000, 1)
    cll, fall = struct.unpack(">2H", kids[b"clli"])
    assert cll == _side_data(_stream(out)[0])["Content light level metadata"]["max_content"] and 0 < fall <= cll


def test_ffv1_keeps_12_bits_losslessly_within_the_peak(clip, tmp_path):
    out = _convert(clip, tmp_path / "o.mkv", "--codec", "ffv1", "--bits", "12")
    video, = _stream(out)
    assert (video["codec_name"], video["pix_fmt"], video["bits_per_raw_sample"]) == ("ffv1", "yuv420p12le", "12")
    assert int(video["nb_read_packets"]) == FRAMES and _stream(out, "a")
    measured, _ = _decoded_light(out)
    assert measured <= 1000  # lossless: the limiter's peak holds exactly in the decoded file


def _rgb_frames(path):
    with av.open(str(path)) as c:
        return [frame_to_rgb(f, "bt2020", False) for f in c.decode(video=0)]


def test_hlg_output_is_the_pq_grade_through_bt2100_hlg(clip, tmp_path):
    pq = _convert(clip, tmp_path / "pq.mkv", "--codec", "ffv1")
    hlg = _convert(clip, tmp_path / "hlg.mkv", "--codec", "ffv1", "--transfer", "hlg")
    video, = _stream(hlg)
    assert video["color_transfer"] == "arib-std-b67" and not _side_data(video)  # HLG: no static metadata
    for a, b in zip(_rgb_frames(pq)[::4], _rgb_frames(hlg)[::4]):
        ref = colour.models.eotf_inverse_BT2100_HLG(np.minimum(pq_eotf(a.astype(np.float64)), 1000.0), L_W=1000.0)
        # 4:2:0 is subsampled again in the HLG signal, so edges differ by a little: compare the bulk
        err = np.abs(ref - b)
        assert np.median(err) < 2 / 1023 and np.percentile(err, 99) < 0.03


def test_hlg_alternative_transfer_sei_keeps_bt2020_in_the_header(clip, tmp_path):
    out = _convert(clip, tmp_path / "o.mp4", "--transfer", "hlg", "--alt-transfer-sei")
    assert _stream(out)[0]["color_transfer"] == "bt2020-10"
    frames = json.loads(ffprobe("-select_streams", "v", "-read_intervals", "%+#1", "-show_frames",
                                "-show_entries", "frame=color_transfer", "-of", "json", out))["frames"]
    assert frames[0]["color_transfer"] == "arib-std-b67"  # the decoder takes the preferred transfer from the SEI


@pytest.mark.parametrize("out, extra, words", [
    ("o.ts", ("--codec", "av1"), "cannot hold AV1"),
    ("o.mp4", ("--codec", "ffv1"), "write .mkv"),
    ("o.mkv", ("--codec", "av1", "--bits", "12"), "--bits 12"),
    ("o.mkv", ("--alt-transfer-sei",), "--transfer hlg"),
    ("o.hevc", ("--hdr10plus",), "write .mkv, .mp4 or .ts"),
    ("o.mkv", ("--codec", "prores", "--hdr10plus"), "--codec hevc"),
    ("o.mkv", ("--codec", "av1", "--resume"), "HEVC PQ pieces"),
])
def test_bad_combinations_are_refused_on_one_line_before_any_work(clip, tmp_path, out, extra, words):
    r = run_cli("convert", clip, tmp_path / out, "--method", "bt2446c", *extra)
    assert r.returncode == 2 and words in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert not (tmp_path / out).exists() and "Traceback" not in r.stderr



def _srt_text(path):
    return subprocess.run(["ffmpeg", "-v", "error", "-i", str(path), "-map", "0:s", "-f", "srt", "-"],
                          capture_output=True, text=True, check=True).stdout


def _cues(path):
    """(text, start, duration) of each cue, the start taken from the video's first frame: a muxer may shift every
    stream alike (Matroska moves AAC's negative priming time to zero)."""
    text = [block.splitlines()[2:] for block in _srt_text(path).strip().split("\n\n")]
    video = float(_stream(path)[0]["start_time"])
    packets = json.loads(ffprobe("-select_streams", "s", "-show_packets", "-of", "json", path))["packets"]
    packets = [p for p in packets if int(p["size"]) > 2]  # mov_text's empty samples mark the gaps between cues
    return [(t, round(float(p["pts_time"]) - video, 3), round(float(p.get("duration_time", "nan")), 3))
            for t, p in zip(text, packets, strict=True)]


@pytest.mark.parametrize("codec, src_ext", [("mov_text", ".mp4"), ("srt", ".mkv")])
def test_text_subtitles_convert_to_both_mkv_and_mp4(clip, tmp_path, codec, src_ext):
    srt = tmp_path / "s.srt"
    srt.write_text("1\n00:00:00,000 --> 00:00:00,200\nHello HDR\n\n2\n00:00:00,250 --> 00:00:00,400\nSecond line\n")
    src = tmp_path / f"subs{src_ext}"
    subprocess.run(["ffmpeg", "-v", "error", "-i", str(clip), "-i", str(srt), "-map", "0", "-map", "1", "-c", "copy",
                    "-c:s", codec, "-metadata:s:s:0", "language=fra", str(src)], check=True)
    for out, expected in ((tmp_path / "o.mkv", "subrip"), (tmp_path / "o.mp4", "mov_text")):
        _convert(src, out)
        sub, = _stream(out, "s")
        assert sub["codec_name"] == expected and sub["tags"]["language"] == "fra"
        assert _cues(out) == _cues(src)  # the same text, no added styling, at the same times against the video


def _hdr10plus_blocks(path):
    """Every frame's HDR10+ side data as ffprobe prints it (the flat text form keeps repeated fields in order)."""
    text = ffprobe("-select_streams", "v", "-show_frames", "-show_entries", "frame=pts:frame_side_data", path)
    blocks = []
    for part in text.split("[SIDE_DATA]")[1:]:
        if "SMPTE2094-40" not in part:
            continue
        fields = [line.split("=", 1) for line in part.split("[/SIDE_DATA]")[0].strip().splitlines()]
        num = lambda v: int(v.split("/")[0])  # noqa: E731 - "3544/100000": the raw field in 0.1 cd/m2
        blocks.append({"maxscl": [num(v) for k, v in fields if k == "maxscl"],
                       "average_maxrgb": num(next(v for k, v in fields if k == "average_maxrgb")),
                       "index": [int(v) for k, v in fields if k == "distribution_maxrgb_percentage"],
                       "values": [num(v) for k, v in fields if k == "distribution_maxrgb_percentile"],
                       "target": next(v for k, v in fields if k == "targeted_system_display_maximum_luminance")})
    return blocks


@pytest.mark.parametrize("ext", [".mkv", ".ts"])  # NAL units with length fields, and with start codes
def test_hdr10plus_reads_back_on_every_frame_of_two_scenes_as_the_json_says(tmp_path, ext):
    a = make_sdr_clip(tmp_path / "a.mp4", frames=10, audio=False, seed=0)
    b = make_sdr_clip(tmp_path / "b.mp4", frames=10, audio=False, seed=5)
    (tmp_path / "list.txt").write_text(f"file '{a}'\nfile '{b}'\n")
    two = tmp_path / "two.mp4"
    subprocess.run(["ffmpeg", "-v", "error", "-f", "concat", "-safe", "0", "-i", str(tmp_path / "list.txt"), "-c",
                    "copy", str(two)], check=True)
    out = _convert(two, tmp_path / f"plus{ext}", "--hdr10plus")
    doc = json.loads((tmp_path / f"plus{ext}.hdr10plus.json").read_text())
    assert doc["SceneInfoSummary"] == {"SceneFirstFrameIndex": [0, 10], "SceneFrameNumbers": [10, 10]}
    blocks = _hdr10plus_blocks(out)
    assert len(blocks) == 20 == len(doc["SceneInfo"])
    for block, info in zip(blocks, doc["SceneInfo"]):
        lum = info["LuminanceParameters"]
        assert block == {"maxscl": lum["MaxScl"], "average_maxrgb": lum["AverageRGB"],
                         "index": lum["LuminanceDistributions"]["DistributionIndex"],
                         "values": lum["LuminanceDistributions"]["DistributionValues"], "target": "1000/1"}
    first, second = doc["SceneInfo"][0]["LuminanceParameters"], doc["SceneInfo"][10]["LuminanceParameters"]
    assert first != second  # two scenes, two sets of values
    cll, _ = _decoded_light(out)  # MaxSCL is the scenes' brightest component: the file's MaxCLL
    assert max(max(s["LuminanceParameters"]["MaxScl"]) for s in doc["SceneInfo"]) == pytest.approx(cll * 10, abs=10)
    info = run_cli("info", out)
    assert info.returncode == 0 and "HDR10+" in info.stdout and "ST 2094-40" in info.stdout



@pytest.mark.parametrize("ext", [".mkv", ".mp4"])
def test_rotation_and_container_metadata_survive_together(clip, tmp_path, ext):
    rotated = tmp_path / "rot.mp4"
    subprocess.run(["ffmpeg", "-v", "error", "-i", str(clip), "-c", "copy", "-metadata:s:v:0", "rotate=90",
                    str(rotated)], check=True)
    sd = _side_data(_stream(_convert(rotated, tmp_path / f"o{ext}"))[0])
    assert {"Display Matrix", "Mastering display metadata", "Content light level metadata"} <= set(sd)
    assert abs(int(sd["Display Matrix"]["rotation"])) == 90


def test_hdr10plus_in_av1_reads_back_per_scene_through_dav1d(tmp_path):
    """Debian's ffprobe 5.1 does not export HDR10+ from AV1; FFmpeg 8's libdav1d wrapper (in PyAV) does: every
    frame carries it, equal within a scene and different across the cut."""
    a = make_sdr_clip(tmp_path / "a.mp4", frames=8, audio=False, seed=0)
    b = make_sdr_clip(tmp_path / "b.mp4", frames=8, audio=False, seed=5)
    (tmp_path / "list.txt").write_text(f"file '{a}'\nfile '{b}'\n")
    two = tmp_path / "two.mp4"
    subprocess.run(["ffmpeg", "-v", "error", "-f", "concat", "-safe", "0", "-i", str(tmp_path / "list.txt"), "-c",
                    "copy", str(two)], check=True)
    out = _convert(two, tmp_path / "plus.mkv", "--codec", "av1", "--hdr10plus")
    doc = json.loads((tmp_path / "plus.mkv.hdr10plus.json").read_text())
    assert doc["SceneInfoSummary"] == {"SceneFirstFrameIndex": [0, 8], "SceneFrameNumbers": [8, 8]}
    with av.open(str(out)) as c:
        stream = c.streams.video[0]
        dec = av.CodecContext.create("libdav1d", "r")
        dec.extradata = stream.codec_context.extradata
        frames = [f for p in c.demux(stream) if p.size for f in dec.decode(p)] + list(dec.decode(None))
    plus = [next(bytes(sd) for sd in f.side_data if "HDR_PLUS" in str(sd.type).upper()) for f in frames]
    assert len(plus) == 16 and len(set(plus[:8])) == 1 and len(set(plus[8:])) == 1 and plus[0] != plus[8]


def test_batch_refuses_a_codec_its_video_ext_cannot_hold_before_any_file(clip, tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    (src / "a.mp4").write_bytes(clip.read_bytes())
    r = run_cli("batch", src, tmp_path / "out", "--codec", "ffv1", "--video-ext", ".mp4")
    assert r.returncode == 2 and "write .mkv for --codec ffv1" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and not (tmp_path / "out").exists()


def test_a_film_past_the_journal_threshold_keeps_its_codec(tmp_path):
    # the journal's pieces are HEVC PQ: a film delivered otherwise converts in one run instead of being journaled
    # into pieces that would drop its codec
    clip = make_sdr_clip(tmp_path / "in.mp4", frames=24, audio=False)
    out = _convert(clip, tmp_path / "o.mkv", "--codec", "av1", "--journal-after", "0.2")
    (v,) = _stream(out)
    assert (v["codec_name"], int(v["nb_read_packets"])) == ("av1", 24)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.mp4", "o.mkv"]
