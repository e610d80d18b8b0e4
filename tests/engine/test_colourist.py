"""sdr2hdr calibrate, convert --calibration and sdr2hdr lut, checked with real files, x265/x264 and ffmpeg lut3d."""

from __future__ import annotations

import json
import subprocess

import numpy as np
import pytest
from clip_tools import SAMPLE, run_cli

from sdr2hdr.bench.scores import score
from sdr2hdr.color import pq_inverse_eotf
from sdr2hdr.data.degrade import draw_tmo, hdr_master, sdr_encode, tone_map
from sdr2hdr.engine.cube import read_cube
from sdr2hdr.engine.preview import load_frame
from sdr2hdr.io.images import read_png, write_png8, write_png16

# What a 33-point .cube applied by ffmpeg lut3d (tetrahedral) differs from `convert` by, in 10-bit codes of PQ
# R'G'B', over every channel sample of a real picture (docs/usage.md states the figures measured): the 99.9th
# percentile and the mean. Single samples differ more (up to tens of codes) where the mapping bends faster than
# the lattice can follow: near black, and at saturated colours whose luminance is tiny.
LUT_P999_CODES = 4.0
LUT_MEAN_CODES = 1.5


def _pair(dir, k: int, index: int, curve: str = "hable"):
    """A matched pair from frame `index` of the sample clip: an HDR master and its SDR made by `curve`."""
    import cv2

    sdr = load_frame(SAMPLE, index).pixels
    sdr = cv2.resize(sdr, (240, 136), interpolation=cv2.INTER_AREA)
    nits = hdr_master(np.clip(3.0 * np.asarray(sdr, np.float32) ** 4.8, 0, None))
    rng = np.random.default_rng(0)  # the same curve parameters for every picture: one pipeline
    _, params = draw_tmo(rng, {curve: 1.0})
    s8 = sdr_encode(tone_map(nits, curve, params, rng))
    write_png16(dir / f"hdr{k}.png", np.asarray(pq_inverse_eotf(nits), dtype=np.float32))
    write_png8(dir / f"sdr{k}.png", s8.astype(np.float32) / 255.0)
    return dir / f"sdr{k}.png", dir / f"hdr{k}.png"


@pytest.fixture(scope="module")
def pairs(tmp_path_factory):
    """Two pairs (frames 0 and 40) of one pipeline, and a calibration fitted on the first."""
    d = tmp_path_factory.mktemp("pairs")
    a, b = _pair(d, 0, 0), _pair(d, 1, 40)
    r = run_cli("calibrate", a[0], a[1], "-o", d / "cal.json")
    assert r.returncode == 0, r.stderr
    return d, a, b, d / "cal.json"


@pytest.mark.slow
def test_calibration_reproduces_the_pipeline_on_another_picture(pairs):
    d, a, b, cal = pairs
    data = json.loads(cal.read_text())
    assert data["format"] == "sdr2hdr-calibration" and len(data["params"]) == 43
    assert data["report"]["psnr"] > 40
    for extra, name in (((), "fast"), (("--quality", "balanced"), "balanced")):
        out = d / f"cal_{name}.png"
        assert run_cli("convert", b[0], out, "--calibration", cal, *extra).returncode == 0
        got = score(read_png(out)[0], read_png(b[1])[0], ("psnr",))["psnr"]
        assert got > 40, name
    blind = d / "blind.png"
    assert run_cli("convert", b[0], blind).returncode == 0
    assert score(read_png(blind)[0], read_png(b[1])[0], ("psnr",))["psnr"] < got - 5


def test_calibration_refuses_material_that_does_not_match(pairs, tmp_path):
    d, a, b, _ = pairs
    cases = [((a[0], b[1]), "do not match"),  # two shots of one scene
             ((a[1], a[1]), "SDR side is HDR"),
             ((a[0], a[0]), "is SDR"),
             ((a[0], d), "alike")]
    for (sdr, hdr), words in cases:
        r = run_cli("calibrate", sdr, hdr, "-o", tmp_path / "x.json")
        assert r.returncode == 2 and words in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr
        assert not (tmp_path / "x.json").exists()
    bad = tmp_path / "bad.json"
    bad.write_text('{"format": "other"}')
    r = run_cli("convert", b[0], tmp_path / "o.png", "--calibration", bad)
    assert r.returncode == 2 and "not a calibration file" in r.stderr


def test_calibration_from_videos_paired_by_time(sdr_clip, tmp_path):
    hdr = tmp_path / "hdr.mkv"
    assert run_cli("convert", sdr_clip, hdr, "--method", "bt2446a", "--quiet").returncode == 0
    r = run_cli("calibrate", sdr_clip, hdr, "-o", tmp_path / "cal.json", "--frames", "4")
    assert r.returncode == 0, r.stderr
    assert json.loads((tmp_path / "cal.json").read_text())["report"]["pairs"] == 4
    short = tmp_path / "short.mkv"
    assert run_cli("convert", sdr_clip, short, "--method", "bt2446a", "--quiet", "--max-frames", "24").returncode == 0
    r = run_cli("calibrate", sdr_clip, short, "-o", tmp_path / "c2.json")
    assert r.returncode == 2 and "cannot be paired" in r.stderr
    r = run_cli("calibrate", hdr, sdr_clip, "-o", tmp_path / "c3.json")
    assert r.returncode == 2 and "SDR side is HDR" in r.stderr


def _lut3d(src, cube, dst) -> np.ndarray:
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(src), "-vf",
                    f"format=rgb48le,lut3d=file={cube}:interp=tetrahedral", "-pix_fmt", "rgb48be", str(dst)],
                   check=True)
    return read_png(dst)[0]


@pytest.mark.parametrize("mapping", ["method", "informed", "calibration", "default"])
def test_cube_applied_by_ffmpeg_matches_convert(pairs, tmp_path, mapping):
    _, _, b, cal = pairs
    opts = {"method": ["--method", "bt2446a"], "informed": ["--source-tmo", "hable"],
            "calibration": ["--calibration", str(cal)], "default": []}[mapping]
    cube = tmp_path / "m.cube"
    lut_opts = opts if mapping != "default" else ["--input", str(b[0])]
    r = run_cli("lut", cube, *lut_opts, "--size", "33", "--saturation", "1.2")
    assert r.returncode == 0, r.stderr
    if mapping == "default":
        assert "0,0,0.000,m-000.cube" in (tmp_path / "m-shots.csv").read_text()
        cube = tmp_path / "m-000.cube"
    text = cube.read_text()
    assert "BT.1886" in text and "SMPTE ST 2084" in text and "saturation 1.2" in text
    assert read_cube(cube)[0] == 33
    out = tmp_path / "c.png"
    exact = ["--exact"] if mapping != "default" else []  # the default on a still is already per pixel
    assert run_cli("convert", b[0], out, *opts, "--saturation", "1.2", *exact).returncode == 0
    diff = np.abs(_lut3d(b[0], cube, tmp_path / "f.png") - read_png(out)[0]) * 1023
    print(f"{mapping}: lut3d vs convert, 10-bit codes: mean {diff.mean():.2f}, p99.9 {np.percentile(diff, 99.9):.2f}, "
          f"max {diff.max():.2f}")
    assert np.percentile(diff, 99.9) <= LUT_P999_CODES
    assert diff.mean() <= LUT_MEAN_CODES


def test_lut_refuses_without_a_mapping_and_bad_sizes(tmp_path):
    r = run_cli("lut", tmp_path / "a.cube")
    assert r.returncode == 2 and "say which mapping" in r.stderr
    r = run_cli("lut", tmp_path / "a.cube", "--method", "bt2446a", "--size", "20")
    assert r.returncode == 2
    r = run_cli("lut", tmp_path / "a.txt", "--method", "bt2446a")
    assert r.returncode == 2 and ".cube" in r.stderr
    assert not list(tmp_path.iterdir())


def test_calibration_converts_videos_and_exr(pairs, sdr_clip, tmp_path):
    _, _, b, cal = pairs
    video = tmp_path / "cal.mkv"
    r = run_cli("convert", sdr_clip, video, "--calibration", cal, "--max-frames", "4", "--contrast", "1.2")
    assert r.returncode == 0 and "calibrated from cal.json" in r.stdout and "contrast 1.2" in r.stdout, r.stderr
    import av

    with av.open(str(video)) as c:
        assert c.streams.video[0].codec_context.color_trc == 16 and len(list(c.decode(video=0))) == 4
    exr = tmp_path / "cal.exr"
    assert run_cli("convert", b[0], exr, "--calibration", cal).returncode == 0 and exr.stat().st_size > 1000
    r = run_cli("convert", b[0], tmp_path / "x.png", "--calibration", cal, "--method", "bt2446a")
    assert r.returncode == 2


def test_quality_best_is_not_offered_while_no_weights_are_shipped():
    r = run_cli("convert", "--help")
    assert r.returncode == 0 and "{fast,balanced}" in r.stdout and "best" not in r.stdout
