"""The reliability issue's findings that need more than the corpus's converted-or-refused check: colour values,
light-level metadata, write failures, concurrent runs and untrusted checkpoint files."""

from __future__ import annotations

import ast
import json
import os
import re
import resource
import signal
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np
import pytest
from clip_tools import run_cli, run_cli_process

from sdr2hdr.color import ycbcr_matrix
from sdr2hdr.io.reader import VideoReader

ROOT = Path(__file__).resolve().parents[2]


def _flat_clip(path: Path, pix_fmt: str, planes: tuple, codec: str = "ffv1", frames: int = 2, **tags) -> Path:
    """A lossless clip whose every frame has the given constant plane values."""
    out = av.open(str(path), "w")
    vs = out.add_stream(codec, rate=24)
    vs.width, vs.height, vs.pix_fmt = 64, 48, pix_fmt
    for key, value in tags.items():
        setattr(vs.codec_context, key, value)
    for i in range(frames):
        frame = av.VideoFrame(64, 48, pix_fmt)
        for plane, value in zip(frame.planes, planes):
            np.frombuffer(memoryview(plane), np.uint8)[:] = value
        for key, value in tags.items():
            if hasattr(frame, key):
                setattr(frame, key, value)
        frame.pts = i
        for packet in vs.encode(frame):
            out.mux(packet)
    for packet in vs.encode(None):
        out.mux(packet)
    out.close()
    return path


def _first_rgb(path: Path) -> np.ndarray:
    with VideoReader(path) as reader:
        for kind, item in reader.items():
            if kind == "frame":
                return reader.rgb(item)
    raise AssertionError("no frame")


def test_bt601_matrix_is_colour_sciences() -> None:
    import colour

    rgb = np.random.default_rng(1).random((50, 3))
    ref = colour.RGB_to_YCbCr(rgb, K=colour.WEIGHTS_YCBCR["ITU-R BT.601"], out_range=(0, 1, -0.5, 0.5))
    np.testing.assert_allclose(rgb @ ycbcr_matrix("bt601").T, ref, atol=1e-12)


def test_smpte170m_video_is_decoded_with_the_bt601_matrix(tmp_path) -> None:
    import colour

    src = _flat_clip(tmp_path / "sd.mkv", "yuv444p", (120, 90, 180), colorspace=6)
    ref = colour.YCbCr_to_RGB(np.array([120, 90, 180]), K=colour.WEIGHTS_YCBCR["ITU-R BT.601"], in_bits=8,
                              in_legal=True, in_int=True)
    np.testing.assert_allclose(_first_rgb(src)[10, 10], np.clip(ref, 0, 1), atol=1e-5)


def test_full_range_422_is_range_converted_once(tmp_path) -> None:
    raw = tmp_path / "j422.yuv"
    planes = [np.full((48, 64), 200, np.uint8), np.full((48, 32), 128, np.uint8), np.full((48, 32), 128, np.uint8)]
    raw.write_bytes(b"".join(p.tobytes() for p in planes) * 2)
    src = tmp_path / "j422.avi"  # MJPEG: the full-range 4:2:2 real files have
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "rawvideo", "-pix_fmt", "yuvj422p", "-s", "64x48", "-i",
                    str(raw), "-c:v", "mjpeg", "-q:v", "1", str(src)], check=True)
    # once: 200/255 (a JPEG DC step or two aside); twice: (200 - 16) / 219 = 0.840
    np.testing.assert_allclose(_first_rgb(src)[20, 20], [200 / 255] * 3, atol=3 / 255)


def test_one_bit_frames_read_as_black_and_white(tmp_path) -> None:
    src = tmp_path / "mono.nut"
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=size=64x48", "-frames:v", "2",
                    "-c:v", "rawvideo", "-pix_fmt", "monow", str(src)], check=True)
    rgb = _first_rgb(src)
    assert set(np.unique(rgb).tolist()) <= {0.0, 1.0} and rgb.min() == 0.0 and rgb.max() == 1.0


def _written_light_level(path: Path) -> tuple[int, int]:
    res = subprocess.run(["ffprobe", "-v", "error", "-select_streams", "v", "-read_intervals", "%+#1",
                          "-show_frames", "-of", "json", str(path)], capture_output=True, text=True, check=True)
    for sd in json.loads(res.stdout)["frames"][0].get("side_data_list", []):
        if "max_content" in sd:
            return int(sd["max_content"]), int(sd["max_average"])
    raise AssertionError("no content light level in the output")


def test_black_clip_light_level_written_is_the_one_printed(tmp_path) -> None:
    src = tmp_path / "black.mkv"
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", "color=black:size=64x48:rate=24",
                    "-frames:v", "3", "-c:v", "libx264", "-pix_fmt", "yuv420p", str(src)], check=True)
    for ext in (".mkv", ".mp4", ".ts"):
        res = run_cli("convert", src, tmp_path / f"o{ext}", "--method", "bt2408", "--quiet")
        assert res.returncode == 0, res.stderr
        printed = tuple(int(v) for v in re.search(r"MaxCLL (\d+) cd/m2, MaxFALL (\d+)", res.stdout).groups())
        assert _written_light_level(tmp_path / f"o{ext}") == printed
        assert printed[0] <= 1 and printed[1] == 0, printed


def _limit_file_size() -> None:
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # so write() fails with EFBIG instead of killing the process
    resource.setrlimit(resource.RLIMIT_FSIZE, (20000, 20000))


@pytest.mark.parametrize("ext", [".png", ".exr"])
def test_image_write_failure_is_an_error_and_leaves_nothing(tmp_path, ext) -> None:
    src = tmp_path / "noise.png"
    cv2.imwrite(str(src), np.random.default_rng(0).integers(0, 256, (120, 160, 3), dtype=np.uint8))
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    # a process of its own: the file-size limit is set on it
    res = run_cli_process("convert", src, out_dir / f"o{ext}", "--method", "bt2408", preexec_fn=_limit_file_size)
    assert res.returncode == 2, (res.returncode, res.stdout, res.stderr)
    lines = [ln for ln in res.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and "cannot write" in lines[0], res.stderr
    assert list(out_dir.iterdir()) == []


def test_two_runs_writing_one_output_one_fails(tmp_path) -> None:
    src = tmp_path / "in.mkv"
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=size=160x96:rate=24",
                    "-frames:v", "48", "-c:v", "libx264", "-preset", "ultrafast", str(src)], check=True)
    out = tmp_path / "o.mkv"
    cmd = [sys.executable, "-m", "sdr2hdr.cli", "convert", str(src), str(out), "--method", "bt2408", "--quiet",
           "--exact"]
    procs = [subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    results = [(p.wait(timeout=300), p.stderr.read()) for p in procs]
    assert sorted(rc for rc, _ in results) == [0, 2], results
    assert "output exists" in [err for rc, err in results if rc == 2][0]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.mkv", "o.mkv"]


def _torch_load_calls(path: Path) -> list[str]:
    bad = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "load" \
                and getattr(node.func.value, "id", None) == "torch":
            ok = any(k.arg == "weights_only" and isinstance(k.value, ast.Constant) and k.value.value is True
                     for k in node.keywords)
            if not ok:
                bad.append(f"{path}:{node.lineno}")
    return bad


def test_no_torch_load_without_weights_only() -> None:
    files = list((ROOT / "src").rglob("*.py")) + list((ROOT / "experiments").rglob("*.py"))
    assert sum((_torch_load_calls(p) for p in files), []) == []


class _Payload:
    def __reduce__(self):
        return (os.system, (f"touch {os.environ['SDR2HDR_PWNED']}",))


def test_a_pickled_checkpoint_never_runs_code(tmp_path, monkeypatch) -> None:
    import torch

    from sdr2hdr.bench.methods import average_checkpoints
    from sdr2hdr.errors import InputError
    from sdr2hdr.models import create

    marker = tmp_path / "pwned"
    monkeypatch.setenv("SDR2HDR_PWNED", str(marker))
    folder = tmp_path / "ckpts"
    folder.mkdir()
    torch.save({"model": {"w": torch.zeros(1)}, "evil": _Payload()}, folder / "step_1.pt")
    with pytest.raises(InputError, match="cannot read checkpoint"):
        average_checkpoints(create("dncnn"), folder, 1)
    assert not marker.exists()


def test_raw_stream_times_are_frame_times(tmp_path) -> None:
    """Reader side of the raw H.264 fix: no frame leaves without a timestamp, and they follow the frame rate."""
    src = tmp_path / "raw.h264"
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=size=64x48:rate=25",
                    "-frames:v", "4", "-c:v", "libx264", "-f", "h264", str(src)], check=True)
    with VideoReader(src) as reader:
        pts = [item.pts for kind, item in reader.items() if kind == "frame"]
        tb = reader.stream.time_base
    assert [float(p * tb) for p in pts] == pytest.approx([0, 0.04, 0.08, 0.12], abs=1e-6)
    assert isinstance(tb, Fraction)


def test_bt2020_primaries_are_converted_to_the_mappers_bt709(tmp_path) -> None:
    import colour

    codes = np.array([140, 110, 150])  # a BT.2020 colour inside the BT.709 gamut
    src = _flat_clip(tmp_path / "p2020.mkv", "yuv444p", tuple(codes), colorspace=9, color_primaries=9,
                     color_trc=14)
    rgb2020 = colour.YCbCr_to_RGB(codes, K=colour.WEIGHTS_YCBCR["ITU-R BT.2020"], in_bits=8, in_legal=True,
                                  in_int=True)
    lin709 = colour.RGB_to_RGB(np.clip(rgb2020, 0, 1) ** 2.4, colour.RGB_COLOURSPACES["ITU-R BT.2020"],
                               colour.RGB_COLOURSPACES["ITU-R BT.709"])
    assert lin709.min() > 0  # inside BT.709: nothing is clipped
    np.testing.assert_allclose(_first_rgb(src)[4, 4], lin709 ** (1 / 2.4), atol=2e-4)
