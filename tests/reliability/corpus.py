"""The reliability corpus: odd, broken and hostile inputs made with the ffmpeg command line, each with the
behaviour the converter must show (converted and checked with ffprobe, or refused on one line with status 2).

Inputs are tiny (64x48 .. 160x96, 3-6 frames) and made on first use into one folder per test session.
"""

from __future__ import annotations

import hashlib
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

SRC = "testsrc2=size={size}:rate={rate}"


@dataclass(frozen=True)
class Case:
    """One input and what `sdr2hdr convert` must do with it."""

    name: str
    ext: str  # the input file's extension
    make: tuple = ()  # ffmpeg output options after the lavfi video input ({size}, {rate} filled in)
    expect: str = "convert"  # "convert" or "refuse"
    message: str = ""  # refusals: a fragment of the one-line message
    size: str = "64x48"
    rate: int = 24
    frames: int = 4
    cli: tuple = ("--method", "bt2408")  # options after `convert IN OUT`
    out_ext: str = ".mkv"
    out_size: tuple | None = None  # expected (width, height) of the output; None: the input's, made even
    checks: dict = field(default_factory=dict)  # extra expectations on the output (see test_corpus)
    steps: tuple = ()  # further ffmpeg commands on "{prev}" -> "{out}" after the first (stream copies etc.)
    extra_inputs: tuple = ()  # more ffmpeg inputs before the output options (e.g. an audio source)
    signal: int | None = None  # send this signal mid-conversion instead of waiting for the end
    warn: str = ""  # a fragment the converter must print (a note or warning) on success
    source: str = SRC  # the lavfi video source ({size}, {rate} filled in)


H264 = ("-c:v", "libx264", "-preset", "ultrafast")
AUDIO = ("-f", "lavfi", "-i", "sine=frequency=440:duration=0.3")
# a raw stream declares no length, so the converter would build its 16M-code table (15 s) for 4 frames
EXACT = ("--method", "bt2408", "--exact")


def _containers() -> list[Case]:
    """Containers and codecs."""
    c: list[Case] = []
    add = c.append
    add(Case("mp4_h264", ".mp4", H264 + ("-pix_fmt", "yuv420p")))
    add(Case("mkv_h264", ".mkv", H264 + ("-pix_fmt", "yuv420p")))
    add(Case("mov_h264", ".mov", H264 + ("-pix_fmt", "yuv420p")))
    add(Case("ts_h264", ".ts", H264 + ("-pix_fmt", "yuv420p")))
    add(Case("webm_vp9", ".webm", ("-c:v", "libvpx-vp9", "-deadline", "realtime", "-pix_fmt", "yuv420p")))
    add(Case("webm_vp8", ".webm", ("-c:v", "libvpx", "-deadline", "realtime")))
    add(Case("avi_mjpeg_bt601", ".avi", ("-c:v", "mjpeg", "-pix_fmt", "yuvj420p")))
    add(Case("raw_h264_elementary", ".h264", H264 + ("-pix_fmt", "yuv420p", "-f", "h264"),
             checks={"spacing": 1 / 24}, cli=EXACT))
    add(Case("raw_hevc_elementary", ".hevc", ("-c:v", "libx265", "-preset", "ultrafast", "-x265-params",
                                                "log-level=error", "-f", "hevc"),
             checks={"spacing": 1 / 24}, cli=EXACT))
    add(Case("y4m_yuv420p", ".y4m", ("-pix_fmt", "yuv420p")))
    add(Case("mkv_hevc_8bit", ".mkv", ("-c:v", "libx265", "-preset", "ultrafast", "-x265-params",
                                         "log-level=error", "-pix_fmt", "yuv420p")))
    add(Case("mpg_mpeg2", ".mpg", ("-c:v", "mpeg2video", "-pix_fmt", "yuv420p"), rate=25))
    add(Case("mp4_mpeg4", ".mp4", ("-c:v", "mpeg4", "-pix_fmt", "yuv420p")))
    add(Case("mov_prores_422_10bit", ".mov", ("-c:v", "prores_ks", "-profile:v", "2",
                                                "-pix_fmt", "yuv422p10le")))
    add(Case("mkv_ffv1_yuv444p", ".mkv", ("-c:v", "ffv1", "-pix_fmt", "yuv444p")))
    add(Case("mkv_ffv1_rgb", ".mkv", ("-c:v", "ffv1", "-pix_fmt", "bgr0")))
    add(Case("nut_rawvideo_rgb24", ".nut", ("-c:v", "rawvideo", "-pix_fmt", "rgb24")))
    add(Case("mov_qtrle_argb", ".mov", ("-c:v", "qtrle", "-pix_fmt", "argb")))
    add(Case("gif_pal8", ".gif", ("-c:v", "gif",), rate=10))
    return c


def _pixel_formats() -> list[Case]:
    """Pixel formats."""
    c: list[Case] = []
    add = c.append
    add(Case("h264_yuvj420p", ".mkv", H264 + ("-pix_fmt", "yuvj420p")))
    add(Case("h264_yuv422p", ".mkv", H264 + ("-pix_fmt", "yuv422p")))
    add(Case("mjpeg_yuvj422p", ".mkv", ("-c:v", "mjpeg", "-pix_fmt", "yuvj422p")))
    add(Case("h264_yuv444p", ".mkv", H264 + ("-pix_fmt", "yuv444p")))
    add(Case("hevc_yuv420p10le", ".mkv", ("-c:v", "libx265", "-preset", "ultrafast", "-x265-params",
                                            "log-level=error", "-pix_fmt", "yuv420p10le")))
    add(Case("ffv1_yuv420p10le", ".mkv", ("-c:v", "ffv1", "-pix_fmt", "yuv420p10le")))
    add(Case("ffv1_gray", ".mkv", ("-c:v", "ffv1", "-pix_fmt", "gray")))
    add(Case("ffv1_gray10le", ".mkv", ("-c:v", "ffv1", "-pix_fmt", "gray10le")))
    add(Case("rawvideo_nv12", ".nut", ("-c:v", "rawvideo", "-pix_fmt", "nv12")))
    add(Case("rawvideo_pal8", ".avi", ("-c:v", "rawvideo", "-pix_fmt", "pal8")))
    add(Case("rawvideo_monob", ".nut", ("-c:v", "rawvideo", "-pix_fmt", "monob")))
    add(Case("rawvideo_monow", ".nut", ("-c:v", "rawvideo", "-pix_fmt", "monow")))
    add(Case("ffv1_yuva420p", ".mkv", ("-c:v", "ffv1", "-pix_fmt", "yuva420p")))
    return c


def _colour_tags() -> list[Case]:
    """Colour tags."""
    c: list[Case] = []
    add = c.append
    add(Case("tag_smpte170m", ".mp4", H264 + ("-pix_fmt", "yuv420p", "-colorspace", "smpte170m",
                                             "-color_primaries", "smpte170m", "-color_trc", "smpte170m")))
    add(Case("tag_bt470bg", ".mkv", H264 + ("-pix_fmt", "yuv420p", "-colorspace", "bt470bg",
                                           "-color_primaries", "bt470bg")))
    add(Case("tag_bt709_full", ".mkv", H264 + ("-pix_fmt", "yuv420p", "-colorspace", "bt709",
                                              "-color_range", "pc")))
    add(Case("tag_bt2020_sdr", ".mkv", H264 + ("-pix_fmt", "yuv420p", "-colorspace", "bt2020nc",
                                              "-color_primaries", "bt2020", "-color_trc", "bt2020-10")))
    add(Case("untagged", ".mkv", H264 + ("-pix_fmt", "yuv420p")))
    add(Case("hdr_pq_input", ".mkv", ("-c:v", "libx265", "-preset", "ultrafast", "-pix_fmt", "yuv420p10le",
                                       "-x265-params", "log-level=error:colorprim=bt2020:transfer=smpte2084:"
                                       "colormatrix=bt2020nc"), expect="refuse", message="already HDR"))
    add(Case("hdr_hlg_input", ".mkv", ("-c:v", "libx265", "-preset", "ultrafast", "-pix_fmt", "yuv420p10le",
                                        "-x265-params", "log-level=error:colorprim=bt2020:transfer=arib-std-b67:"
                                        "colormatrix=bt2020nc"), expect="refuse", message="already HDR"))
    return c


def _sizes() -> list[Case]:
    """Sizes."""
    c: list[Case] = []
    add = c.append
    # testsrc, not testsrc2: testsrc2 rounds its size down to even, which left this case a 64x48 input
    add(Case("odd_size", ".mkv", ("-c:v", "ffv1", "-pix_fmt", "yuv444p"), size="65x49", out_size=(64, 48),
             source="testsrc=size={size}:rate={rate}"))
    add(Case("size_160x96", ".mp4", H264, size="160x96"))
    add(Case("size_16x16", ".mkv", ("-c:v", "ffv1", "-pix_fmt", "yuv420p"), size="16x16"))
    add(Case("size_8x8", ".mkv", ("-c:v", "ffv1", "-pix_fmt", "yuv420p"), size="8x8", expect="refuse",
             message="too small"))
    add(Case("size_1x1", ".nut", ("-vf", "scale=1:1", "-c:v", "rawvideo", "-pix_fmt", "rgb24"), expect="refuse",
             message="too small"))
    add(Case("size_64x10", ".mkv", ("-c:v", "ffv1", "-pix_fmt", "yuv420p"), size="64x10", expect="refuse",
             message="too small"))
    return c


def _timestamps() -> list[Case]:
    """Timestamps."""
    c: list[Case] = []
    add = c.append
    add(Case("vfr", ".mkv", H264 + ("-vf", "select='not(between(n\\,1\\,3))'", "-fps_mode", "vfr"), frames=5))
    add(Case("bframes", ".mp4", ("-c:v", "libx264", "-bf", "3", "-g", "6"), frames=6))
    add(Case("mp4_edit_list", ".mp4", H264, frames=6, steps=(("-ss", "0.05", "-i", "{prev}", "-c", "copy"),)))
    add(Case("mp4_negative_start", ".mp4", H264, frames=6,
             steps=(("-itsoffset", "-0.1", "-i", "{prev}", "-c", "copy"),)))
    add(Case("ts_offset_start", ".ts", H264 + ("-output_ts_offset", "10")))
    add(Case("single_frame", ".mkv", H264, frames=1))
    add(Case("resolution_change", ".ts", H264, expect="refuse", message="size changes",
             steps=(("-f", "lavfi", "-i", "testsrc2=size=96x64:rate=24", "-frames:v", "3", "-c:v", "libx264",
                     "-preset", "ultrafast", "-f", "mpegts", "{part}"),
                    ("-i", "concat:{prev}|{part}", "-c", "copy"))))
    add(Case("interlaced", ".mkv", H264 + ("-flags", "+ildct+ilme", "-x264opts", "tff=1", "-field_order", "tt"),
             warn="interlaced"))
    return c


def _side_data() -> list[Case]:
    """Side data."""
    c: list[Case] = []
    add = c.append
    add(Case("rotation_90", ".mp4", H264, steps=(("-i", "{prev}", "-c", "copy", "-metadata:s:v:0", "rotate=90"),),
             checks={"rotation": 90}))
    add(Case("sar_4_3", ".mp4", H264 + ("-vf", "setsar=4/3"), checks={"sar": "4:3"}))
    return c


def _streams() -> list[Case]:
    """Streams."""
    c: list[Case] = []
    add = c.append
    add(Case("audio_aac_mp4", ".mp4", H264 + ("-c:a", "aac", "-shortest"), extra_inputs=AUDIO,
             checks={"audio": 1}, out_ext=".mp4"))
    add(Case("audio_opus_mkv", ".mkv", H264 + ("-c:a", "libopus", "-shortest"), extra_inputs=AUDIO,
             checks={"audio": 1}))
    add(Case("subtitles_srt_mkv", ".mkv", H264 + ("-map", "0", "-map", "1", "-c:s", "srt"),
             extra_inputs=("-i", "{srt}"), checks={"subtitle": 1}))
    add(Case("subtitles_srt_to_ts", ".mkv", H264 + ("-map", "0", "-map", "1", "-c:s", "srt"),
             extra_inputs=("-i", "{srt}"), out_ext=".ts", checks={"subtitle": 0, "data": 0}, warn="subtitle"))
    add(Case("cover_art_audio_only", ".m4a", ("-map", "1", "-map", "0", "-c:a", "aac", "-c:v", "mjpeg",
                                                "-disposition:v", "attached_pic", "-frames:v", "1"),
             extra_inputs=AUDIO, expect="refuse", message="no video stream", source=SRC + ":duration=0.05"))
    add(Case("cover_art_beside_video", ".mkv", H264 + ("-map", "0", "-map", "0", "-c:v:1", "mjpeg",
                                                      "-disposition:v:1", "attached_pic"),
             checks={"video": 1}))
    add(Case("no_video_wav", ".wav", ("-map", "1", "-c:a", "pcm_s16le"), extra_inputs=AUDIO,
             expect="refuse", message="no video stream"))
    add(Case("two_video_streams", ".mkv", H264 + ("-map", "0", "-map", "0"), checks={"video": 1}))
    return c


def _options() -> list[Case]:
    """Options."""
    c: list[Case] = []
    add = c.append
    for bad in ("nan", "inf", "1e12", "20000", "-5", "50"):
        add(Case(f"peak_nits_{bad}", ".mkv", H264, cli=("--method", "bt2408", "--peak-nits", bad),
                 expect="refuse", message="--peak-nits"))
    add(Case("peak_nits_4000", ".mkv", H264, cli=("--method", "bt2408", "--peak-nits", "4000")))
    add(Case("crf_52", ".mkv", H264, cli=("--method", "bt2408", "--crf", "52"), expect="refuse", message="--crf"))
    add(Case("qp_minus_1", ".mkv", H264, cli=("--method", "bt2408", "--qp", "-1"), expect="refuse", message="--qp"))
    add(Case("qp_0", ".mkv", H264, cli=("--method", "bt2408", "--qp", "0")))
    add(Case("crf_51", ".mkv", H264, cli=("--method", "bt2408", "--crf", "51")))
    add(Case("existing_output", ".mkv", H264, expect="refuse", message="output exists",
             checks={"existing_output": True}))
    add(Case("missing_output_dir", ".mkv", H264, expect="refuse", message="output directory does not exist",
             checks={"output_dir": "missing"}))
    add(Case("output_extension_avi", ".mkv", H264, expect="refuse", message="a video converts to",
             out_ext=".avi"))
    add(Case("output_mp4", ".mkv", H264, out_ext=".mp4"))
    add(Case("output_ts", ".mkv", H264, out_ext=".ts"))
    add(Case("output_mov", ".mkv", H264, out_ext=".mov"))
    add(Case("output_name_244", ".mkv", H264, checks={"out_name": "o" * 240 + ".mkv"}))
    add(Case("input_named_pipe0", ".mp4", H264, checks={"in_name": "pipe:0.mp4"}))
    add(Case("exact_per_pixel", ".mkv", H264 + ("-pix_fmt", "yuv420p"), cli=("--method", "bt2446c", "--exact")))
    return c


def _signals() -> list[Case]:
    """Signals: a longer clip, interrupted once its temporary file exists."""
    c: list[Case] = []
    add = c.append
    for sig in (2, 15, 1):
        add(Case(f"signal_{sig}", ".mkv", H264, size="160x96", frames=96, cli=("--method", "bt2408", "--exact",
                                                                                  "--preset", "slow"),
                 expect="signal", signal=sig))
    return c


def _cases() -> list[Case]:
    groups = (_containers, _pixel_formats, _colour_tags, _sizes, _timestamps, _side_data, _streams, _options,
              _signals)
    return [case for group in groups for case in group()]


CASES = _cases()


def _run(cmd: list[str]) -> None:
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    if res.returncode != 0:
        raise RuntimeError(f"corpus: {' '.join(cmd)} failed: {res.stderr[-2000:]}")


def make_input(case: Case, folder: Path) -> Path:
    """The case's input file in folder, made with ffmpeg the first time it is asked for."""
    out = folder / f"{case.name}{case.ext}"
    if out.exists():
        return out
    srt = folder / "subs.srt"
    srt.write_text("1\n00:00:00,000 --> 00:00:00,100\nhello\n\n2\n00:00:00,100 --> 00:00:00,160\nworld\n")
    ff = ["ffmpeg", "-v", "error", "-nostdin", "-y"]
    fill = {"size": case.size, "rate": str(case.rate), "srt": str(srt)}
    video = ["-f", "lavfi", "-i", case.source.format(**fill)]
    extra = [a.format(**fill) for a in case.extra_inputs]
    first = out if not case.steps else folder / f"{case.name}.step0{case.ext}"
    _run(ff + video + extra + ["-frames:v", str(case.frames)] + [a.format(**fill) for a in case.make]
         + [str(first)])
    prev, part = first, folder / f"{case.name}.part{case.ext}"
    for i, step in enumerate(case.steps):
        target = out if i == len(case.steps) - 1 else folder / f"{case.name}.step{i + 1}{case.ext}"
        args = [a.format(prev=prev, part=part, **fill) for a in step]
        if "{part}" in step:
            _run(ff + args)  # builds the second piece; prev is unchanged
            continue
        _run(ff + args + [str(target)])
        prev = target
    return out


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()
