"""--saturation, --contrast and --deband: measured effects in every mode, in the code table and on whole files."""

from __future__ import annotations

import numpy as np
import pytest
from clip_tools import run_cli, sample_planes

from sdr2hdr.api import make_mapper
from sdr2hdr.color import pq_eotf, pq_inverse_eotf, yuv420_to_rgb
from sdr2hdr.engine.deband import deband
from sdr2hdr.engine.look import MID_GREY, Look
from sdr2hdr.errors import InputError
from sdr2hdr.io.images import read_png, write_png8

Y2020 = np.array([0.2627, 0.6780, 0.0593])


@pytest.fixture(scope="module")
def frame():
    planes = sample_planes(30, (160, 90))
    return np.ascontiguousarray(yuv420_to_rgb(*planes, matrix="bt709", bits=8, full_range=False)), planes


def colourfulness(pq: np.ndarray) -> float:
    """Mean distance of linear light from its own luminance, relative to luminance (0 for grey)."""
    nits = np.asarray(pq_eotf(np.asarray(pq, np.float64)))
    y = nits @ Y2020
    keep = y > 1.0
    return float((np.abs(nits - y[..., None]).max(-1)[keep] / y[keep]).mean())


def spread(pq: np.ndarray) -> float:
    """Stops between the 95th and 5th percentile of lit luminance."""
    y = np.asarray(pq_eotf(np.asarray(pq, np.float64))) @ Y2020
    y = y[y > 0.5]
    return float(np.log2(np.percentile(y, 95) / np.percentile(y, 5)))


def test_look_keeps_mid_grey_and_moves_white_and_colour():
    pq = np.asarray(pq_inverse_eotf(np.array([[MID_GREY] * 3, [203.0] * 3, [300.0, 100.0, 50.0]])), np.float32)
    out = np.asarray(pq_eotf(Look(contrast=1.5)(pq)), np.float64)
    assert out[0] == pytest.approx([MID_GREY] * 3, rel=1e-3)
    assert out[1] == pytest.approx([MID_GREY * (203 / MID_GREY) ** 1.5] * 3, rel=1e-3)
    grey = np.asarray(pq_eotf(Look(saturation=0.0)(pq)), np.float64)
    assert np.ptp(grey[2]) < 1e-2 * grey[2].mean()
    assert grey[2] @ Y2020 == pytest.approx(np.asarray(pq_eotf(pq[2]), np.float64) @ Y2020, rel=1e-3)
    assert Look()(pq) is pq


MODES = {"classical": {"method": "bt2446a"}, "informed exact": {"source_tmo": "hable"},
         "informed + restoration": {"source_tmo": "bt2446a"}, "default": {}, "model": {"model": "hdrtvnet"}}


@pytest.mark.parametrize("mode", list(MODES))
def test_saturation_and_contrast_in_every_mode(frame, mode):
    rgb, planes = frame
    base = make_mapper(**MODES[mode]).mapper
    sat = make_mapper(**MODES[mode], saturation=1.6).mapper
    con = make_mapper(**MODES[mode], contrast=1.4).mapper
    b, s, c = base(rgb), sat(rgb), con(rgb)
    assert colourfulness(s) > 1.3 * colourfulness(b), mode
    assert spread(c) > 1.25 * spread(b), mode
    assert "saturation 1.6" in sat.description and "contrast 1.4" in con.description


@pytest.mark.parametrize("mode", ["classical", "default"])
def test_the_look_is_baked_into_the_code_table(frame, mode):
    _, planes = frame
    tables = [make_mapper(**MODES[mode], saturation=s).mapper.code_table("yuv420p", "bt709", False, None, True)
              for s in (1.0, 1.6)]
    (_, u0, _), (_, u1, _) = (t(*planes) for t in tables)  # chroma further from neutral, at no per-frame cost
    assert np.abs(u1.astype(int) - 512).mean() > 1.3 * np.abs(u0.astype(int) - 512).mean(), mode


def test_saturation_zero_gives_grey_video_through_the_code_table(sdr_clip, tmp_path):
    import av

    out = tmp_path / "grey.mkv"
    r = run_cli("convert", sdr_clip, out, "--saturation", "0", "--max-frames", "6", "--quiet")
    assert r.returncode == 0, r.stderr
    with av.open(str(out)) as c:
        f = next(c.decode(video=0))
        u = np.frombuffer(f.planes[1], np.uint16).reshape(f.planes[1].height, -1)[:, :f.width // 2]
    assert np.abs(u.astype(int) - 512).max() <= 2


def test_look_options_refuse_values_out_of_range():
    for opts in ({"saturation": 2.5}, {"contrast": 0.2}, {"saturation": float("nan")}):
        with pytest.raises(InputError):
            make_mapper(**opts)
    assert run_cli("convert", "a.mp4", "b.mkv", "--contrast", "3").returncode == 2


def gradient(width: int = 320, height: int = 32) -> np.ndarray:
    """An 8-bit sky: a slow ramp of 20 codes over the width, the way 8-bit skies band, plus a sharp edge."""
    ramp = np.linspace(0.45, 0.45 + 20 / 255, width)
    img = np.broadcast_to(ramp[None, :, None] * np.array([0.8, 0.9, 1.0]), (height, width, 3)).copy()
    img[:, -40:] = 0.1  # an edge that must stay sharp
    return np.rint(img * 255) / 255


def banding(pq: np.ndarray, cols: slice = slice(20, 260)) -> float:
    """The largest step between neighbouring pixels along the ramp, 10-bit codes of PQ green (median over rows)."""
    g = pq[:, cols, 1] * 1023
    return float(np.median(np.abs(np.diff(g, axis=1)).max(axis=1)))


def test_deband_removes_the_steps_of_an_8bit_ramp_and_keeps_edges(tmp_path):
    img = gradient()
    src = write_png8(tmp_path / "sky.png", img)
    got = {}
    for flag in ((), ("--deband",)):
        out = tmp_path / f"o{len(flag)}.png"
        assert run_cli("convert", src, out, "--method", "bt2446c", *flag).returncode == 0
        got[bool(flag)] = read_png(out)[0]
    print(f"banding (largest step, 10-bit codes): without {banding(got[False]):.2f}, with {banding(got[True]):.2f}")
    assert banding(got[False]) >= 1.5  # one 8-bit step, stretched by the expansion
    assert banding(got[True]) <= 0.5 * banding(got[False])
    edge = deband(img.astype(np.float32))[:, -42:-38, 1]
    assert np.abs(edge[:, -1] - img[:, -39, 1]).max() < 1e-3 and edge[:, 0].min() > 0.4  # the edge is not blurred


def test_deband_runs_in_the_video_and_model_modes(sdr_clip, tmp_path):
    out = tmp_path / "d.mkv"
    r = run_cli("convert", sdr_clip, out, "--deband", "--max-frames", "4", "--quiet")
    assert r.returncode == 0, r.stderr
    assert "debanded" in make_mapper(deband=True).mapper.description
    assert make_mapper(deband=True, method="bt2446a").mapper.code_table("yuv420p", "bt709", False, None, True) is None
