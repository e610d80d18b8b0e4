"""engine.adaptive: the per-frame estimate smoothed, reset at cuts, baked into the code table or run in float."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from clip_tools import sample_planes

from sdr2hdr.color import pq_inverse_eotf, rgb_to_yuv420, yuv420_to_rgb
from sdr2hdr.engine.adaptive import AdaptiveStream, AdaptiveTable, PriorTracker, views_from_planes
from sdr2hdr.models import create
from sdr2hdr.models.adaptive_itm import views

PQ_PEAK = float(pq_inverse_eotf(np.array([1000.0]))[0])


@pytest.fixture(scope="module")
def model():
    """adaptive_itm with seeded random weights, its zero-initialised output layer included: the estimate then
    depends on the picture, as a trained model's does."""
    torch.manual_seed(0)
    m = create("adaptive_itm").eval()
    with torch.no_grad():
        torch.nn.init.normal_(m.estimator.mlp[-1].weight, std=0.05)
        torch.nn.init.normal_(m.estimator.mlp[-1].bias, std=0.2)
    return m


@pytest.fixture(scope="module")
def planes():
    """Frame 30 of the bundled sample as 8-bit BT.709 limited 4:2:0 planes, scaled to 320x180 (a real picture)."""
    return sample_planes(30, (320, 180))


def rgb_of(planes_):
    return yuv420_to_rgb(*planes_, matrix="bt709", bits=8, full_range=False)


def darker(planes_, gain=0.15):
    """The same picture much darker (a different shot as far as the histogram goes)."""
    rgb = rgb_of(planes_) ** 2.4 * gain
    return tuple(p.astype(np.uint8) for p in rgb_to_yuv420(rgb ** (1 / 2.4), matrix="bt709", bits=8, full_range=False))


def tensor_views(planes_):
    x = torch.from_numpy(rgb_of(planes_)).permute(2, 0, 1)[None]
    return views(x)


# --- PriorTracker --------------------------------------------------------------------------------------------

def test_steady_shot_builds_once(model, planes):
    tr = PriorTracker(model, min_gap=3)
    flags = [tr.update(*tensor_views(planes))[1] for _ in range(12)]
    assert flags == [True] + [False] * 11
    assert tr.builds == 1 and tr.cuts == 0


def test_hard_cut_resets_and_rebuilds(model, planes):
    dark, bright = tensor_views(darker(planes)), tensor_views(planes)
    tr = PriorTracker(model)
    for _ in range(3):
        tr.update(*dark)
    smooth, rebuild = tr.update(*bright)
    assert rebuild and tr.cuts == 1 and tr.builds == 2
    # the estimate after a cut is the new shot's own, not a blend with the last one
    with torch.no_grad():
        raw = model.estimator(*bright)
    torch.testing.assert_close(smooth, raw)
    assert not torch.allclose(raw, model.estimator(*dark))
    # and the next frame of the new shot is steady again
    assert tr.update(*bright)[1] is False


def test_estimate_is_smoothed_with_the_half_life(model, planes):
    a = tensor_views(planes)
    b = tensor_views(tuple(np.ascontiguousarray(np.roll(p, 2, axis=1)) for p in planes))  # a small pan
    with torch.no_grad():
        pa, pb = model.estimator(*a), model.estimator(*b)
    assert not torch.allclose(pa, pb)
    tr = PriorTracker(model, half_life=4.0)
    tr.update(*a)
    smooth, rebuild = tr.update(*b)
    assert tr.cuts == 0 and not rebuild
    k = 1 - 0.5 ** (1 / 4.0)
    torch.testing.assert_close(smooth, pa + k * (pb - pa))
    # after one half-life of frames of b, half of the way is left
    for _ in range(3):
        smooth, _ = tr.update(*b)
    torch.testing.assert_close(smooth - pb, 0.5 * (pa - pb), rtol=1e-4, atol=1e-6)


def test_drift_rebuilds_after_min_gap_only_when_the_mapping_moved(model, planes):
    a = tensor_views(planes)
    brighter = tuple(p.astype(np.uint8) for p in rgb_to_yuv420(rgb_of(planes) ** 0.95, matrix="bt709", bits=8,
                                                                full_range=False))
    b = tensor_views(brighter)
    for drift, want in ((0.25, True), (1000.0, False)):
        tr = PriorTracker(model, half_life=1.0, drift_codes=drift, min_gap=3)
        flags = [tr.update(*a)[1]] + [tr.update(*b)[1] for _ in range(5)]
        assert tr.cuts == 0
        assert flags[:3] == [True, False, False]  # nothing before min_gap frames
        assert any(flags[3:]) is want, (drift, flags)


# --- the two paths -------------------------------------------------------------------------------------------

def test_views_from_planes_match_the_models_views(planes):
    t1, g1 = views_from_planes(*planes, matrix="bt709", full_range=False)
    t2, g2 = tensor_views(planes)
    assert t1.shape == t2.shape == (1, 3, 64, 64) and g1.shape == g2.shape
    # thumbnails: averaging Y'CbCr then converting = converting then averaging, up to clipping and chroma siting
    assert (t1 - t2).abs().mean() < 0.01
    # grid: the same pixels, chroma nearest from 4:2:0 instead of interpolated
    assert (g1 - g2).abs().median() < 0.01


@pytest.fixture(scope="module")
def table_run(model, planes):
    """A sequence through AdaptiveTable: 3 frames of a dark shot, then 2 of the bright one (a cut)."""
    dark = darker(planes)
    table = AdaptiveTable(model, matrix="bt709", full_range=False, pq_peak=PQ_PEAK)
    outs = [table(*dark) for _ in range(3)] + [table(*planes) for _ in range(2)]
    return table, outs


def test_table_rebuilds_at_the_cut_only(table_run):
    table, outs = table_run
    assert table.tracker.builds == 2 and table.tracker.cuts == 1
    assert table.table.cbits == 7 and table.table._rgb is not None  # chroma_step 2, decoded codes kept
    for o in outs:
        assert [p.dtype for p in o] == [np.uint16] * 3
        assert o[0].shape == (180, 320) and o[1].shape == (90, 160)
    np.testing.assert_array_equal(outs[0][0], outs[2][0])  # a steady shot keeps its table
    assert outs[3][0].mean() > outs[0][0].mean() + 50


def test_table_after_a_cut_equals_a_fresh_table_on_the_new_shot(model, planes, table_run):
    _, outs = table_run
    fresh = AdaptiveTable(model, matrix="bt709", full_range=False, pq_peak=PQ_PEAK)(*planes)
    for a, b in zip(outs[3], fresh):
        np.testing.assert_array_equal(a, b)


def test_table_is_within_a_few_codes_of_the_float_path(model, planes, table_run):
    _, outs = table_run
    got = outs[4]
    stream = AdaptiveStream("adaptive_itm", model, PQ_PEAK)
    pq = stream(rgb_of(planes))
    assert pq.shape == (180, 320, 3) and pq.max() <= PQ_PEAK + 1e-6
    want = rgb_to_yuv420(pq, matrix="bt2020", bits=10, full_range=False)
    # the table takes each 2x2 block's chroma sample as it is (the float path interpolates it) and every other
    # chroma code; the estimate comes from views of the planes: luma within a code or two, chroma a few at edges
    for name, a, b in zip("YUV", got, want):
        d = np.abs(a.astype(int) - b.astype(int))
        assert d.mean() < (0.5 if name == "Y" else 1.0), (name, d.mean())
        assert np.percentile(d, 99) <= (2 if name == "Y" else 6), (name, np.percentile(d, 99))
    assert got[0].std() > 20  # a picture, not a flat field


def test_stream_push_smooths_and_still_call_forgets(model, planes):
    dark_rgb, bright_rgb = rgb_of(darker(planes)), rgb_of(planes)
    stream = AdaptiveStream("adaptive_itm", model, PQ_PEAK)
    (first,) = stream.push(bright_rgb)
    np.testing.assert_array_equal(stream(bright_rgb), first)  # a still: its own estimate
    stream.push(dark_rgb)  # a cut: reset
    (again,) = stream.push(bright_rgb)  # and another cut back: this frame's own estimate again
    np.testing.assert_array_equal(again, first)
    assert stream.tracker.cuts == 2
    assert stream.flush() == []


def test_the_shipped_default_grades_for_the_peak_asked_for(planes):
    """--peak-nits reaches the estimate: the shipped model asked for a 4000 cd/m2 display takes the brightest
    pixels past 1000 cd/m2 instead of clipping them there, and keeps mid-tones (BT.2408's 203 cd/m2 white either
    way) about where they were."""
    from sdr2hdr.color import pq_eotf
    from sdr2hdr.engine.convert import model_mapper

    rgb = np.ascontiguousarray(yuv420_to_rgb(*planes, matrix="bt709", bits=8, full_range=False), dtype=np.float32)
    out = {}
    for peak in (1000.0, 4000.0):
        mapper = model_mapper("adaptive_itm", device="cpu", peak_nits=peak)
        assert mapper.model.target_grade == (203.0, peak)
        out[peak] = np.asarray(pq_eotf(mapper(rgb)), dtype=np.float64).max(-1)
    assert out[1000.0].max() <= 1000.5
    assert out[4000.0].max() > 1200.0
    mid = (rgb.max(-1) > 0.3) & (rgb.max(-1) < 0.6)
    assert abs(np.log2(np.median(out[4000.0][mid]) / np.median(out[1000.0][mid]))) < 0.5
