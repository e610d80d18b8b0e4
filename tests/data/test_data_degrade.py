"""Degradations: mastering levels, the HQ SDR encoding, TMO draws, x265 at fixed QPs."""

import numpy as np
import pytest

from sdr2hdr.color import pq_eotf
from sdr2hdr.data.degrade import TMO_NAMES, draw_tmo, master, sdr_encode, tone_map, x265_roundtrip
from sdr2hdr.data.show import psnr8


def test_master_leaves_light_below_the_peak_alone_and_rolls_off_above():
    nits = np.array([[[203.0, 203.0, 203.0], [4000.0, 4000.0, 4000.0]]], np.float32)
    out = np.asarray(pq_eotf(master(nits, peak=1000.0)))
    assert abs(out[0, 0, 0] - 203.0) < 0.05
    assert 900 < out[0, 1, 0] <= 1000.0 + 1e-3


def test_sdr_white_is_code_255_and_black_is_0():
    px = sdr_encode(np.array([[[1.0, 1.0, 1.0], [0.0, 0.0, 0.0]]], np.float32))
    assert px.tolist() == [[[255, 255, 255], [0, 0, 0]]]


@pytest.mark.parametrize("name", TMO_NAMES)
def test_every_tmo_maps_reference_white_into_the_upper_sdr_range(name):
    rng = np.random.default_rng(0)
    _, params = draw_tmo(np.random.default_rng(5), {name: 1.0})
    white = np.full((4, 4, 3), 203.0, np.float32)
    code = sdr_encode(tone_map(white, name, params, rng)).mean()
    assert 120 < code < 250, (name, params, code)


def test_draw_tmo_is_deterministic():
    w = dict.fromkeys(TMO_NAMES, 1.0)
    assert draw_tmo(np.random.default_rng(9), w) == draw_tmo(np.random.default_rng(9), w)


def test_higher_qp_is_further_from_the_original_and_intra_only_works(tmp_path):
    import cv2

    rng = np.random.default_rng(0)
    base = cv2.GaussianBlur(rng.integers(0, 256, (80, 80, 3), dtype=np.uint8), (0, 0), 1.5)
    frames = np.stack([base[i:i + 64, i:i + 64] for i in range(4)])
    lq27, n27 = x265_roundtrip(frames, 27, preset="ultrafast")
    lq42, n42 = x265_roundtrip(frames, 42, preset="ultrafast", bitstream_path=tmp_path / "b.hevc")
    assert psnr8(lq42, frames) < psnr8(lq27, frames) - 2 and n42 < n27
    assert (tmp_path / "b.hevc").stat().st_size == n42
    intra, _ = x265_roundtrip(frames, 27, intra_only=True, preset="ultrafast")
    assert intra.shape == frames.shape and intra.dtype == np.uint8


def test_scene_exposure_places_the_key_and_holds_back_low_key_scenes():
    from sdr2hdr.data.degrade import scene_exposure

    grey = np.full((10, 10, 3), 0.5, np.float32)
    gain, stats = scene_exposure(grey, key_nits=36.54, highlight_nits=4000.0)
    assert abs(gain * 0.5 - 36.54) < 1e-3 and stats["limited_by"] == "key"
    candle = np.full((100, 100, 3), 0.001, np.float32)
    candle[:5] = 1.0  # 5 % of the picture is flame: exposing the dark table to mid-grey would blow it out
    gain, stats = scene_exposure(candle, key_nits=36.54, highlight_nits=4000.0)
    assert abs(gain - 4000.0) < 1e-2 and stats["limited_by"].startswith("p99")
