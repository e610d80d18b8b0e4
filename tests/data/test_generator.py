"""The randomised generator (data.generator): its draws against the recipe, samples, x264/x265, the pool on disk."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import numpy as np
import pytest
import yaml

from sdr2hdr.color import pq_eotf
from sdr2hdr.data.build import plan
from sdr2hdr.data.generator import (
    FAMILIES,
    STANDARD_FAMILIES,
    build_pool,
    codec_roundtrip,
    draw_codec,
    draw_grade,
    draw_sdr,
    generate_sample,
    grade,
    load_pool,
    make_sdr,
)
from sdr2hdr.data.recipe import Recipe

from .data_helpers import textured_exr

ROOT = Path(__file__).resolve().parents[2]
RECIPE = yaml.safe_load((ROOT / "configs" / "data" / "generated.yaml").read_text())
N = 4000  # draws per distribution test: ranges reached to within a few per cent at the ends


def interval(text: str) -> tuple[float, float]:
    """'log-uniform [100, 300] cd/m2' -> (100.0, 300.0)."""
    m = re.search(r"\[\s*(-?[\d.]+)\s*,\s*(-?[\d.]+)\s*\]", text)
    assert m, text
    return float(m.group(1)), float(m.group(2))


def check_range(values, text: str, log: bool = False, reach: float = 0.05):
    """All values inside the recipe's interval, and both ends reached (within `reach` of the width)."""
    lo, hi = interval(text)
    v = np.asarray(values, dtype=np.float64)
    assert v.min() >= lo - 1e-9 and v.max() <= hi + 1e-9, (text, v.min(), v.max())
    if log:
        v, lo, hi = np.log(v), math.log(lo), math.log(hi)
    w = hi - lo
    assert v.min() < lo + reach * w and v.max() > hi - reach * w, (text, v.min(), v.max())
    if "uniform" in text:  # the middle too: uniform (in log for log-uniform) has its median at the centre
        assert abs(np.median(v) - (lo + hi) / 2) < 0.06 * w, (text, np.median(v))


def frequencies(items) -> dict:
    keys, counts = np.unique(np.asarray(items, dtype=object).astype(str), return_counts=True)
    return {k: c / counts.sum() for k, c in zip(keys, counts)}


def smooth_linear(h=64, w=64, seed=0):
    """Scene-linear BT.2020 picture: smooth colours over ~6 stops and a few bright spots."""
    import cv2

    rng = np.random.default_rng(seed)
    noise = cv2.GaussianBlur(rng.standard_normal((h, w, 3)).astype(np.float32), (0, 0), 4)
    img = np.exp2(3 * noise / (np.abs(noise).max() + 1e-6)) * 0.18
    img[h // 4:h // 4 + 4, w // 4:w // 4 + 4] = 8.0
    return img.astype(np.float32)


# --- the recipe file -------------------------------------------------------------------------------------------

def test_recipe_file_is_yaml_and_names_every_family():
    fam = RECIPE["sdr"]["families"]
    assert tuple(fam) == FAMILIES or set(fam) == set(FAMILIES)
    assert "aces" in RECIPE["never drawn"] and "log_shoulder" in RECIPE["never drawn"]


# --- draws ---------------------------------------------------------------------------------------------------

def test_draw_grade_matches_the_recipe():
    rng = np.random.default_rng(0)
    grades = [draw_grade(rng) for _ in range(N)]
    g = RECIPE["grade"]
    check_range([x["diffuse_white"] for x in grades], g["diffuse_white"], log=True)
    check_range([x["peak"] for x in grades], g["peak"], log=True)
    check_range([x["key_stops"] for x in grades], g["key_stops"])
    f = frequencies([x["rolloff"] for x in grades])
    assert set(f) == set(g["rolloff"])
    for k, p in g["rolloff"].items():
        assert abs(f[k] - p) < 0.03, (k, f[k], p)


def test_draw_sdr_families_and_parameters_match_the_recipe():
    rng = np.random.default_rng(1)
    draws = [draw_sdr(rng) for _ in range(3 * N)]
    s = RECIPE["sdr"]
    weights = s["families"]
    total = sum(weights.values())
    f = frequencies([fam for fam, _ in draws])
    assert set(f) == set(FAMILIES)
    for fam, w in weights.items():
        assert abs(f[fam] - w / total) < 0.03, (fam, f[fam])
    by = {fam: [p for fm, p in draws if fm == fam] for fam in FAMILIES}
    fl = by["filmic"]
    for key in ("contrast", "white", "toe"):
        check_range([p[key] for p in fl], s["filmic"][key])
    check_range([p["shoulder"] for p in fl], s["filmic"]["shoulder"], log=True)
    assert s["filmic"]["exposure"].startswith("2^")  # 2^uniform[lo, hi]
    check_range([math.log2(p["exposure"]) for p in fl], s["filmic"]["exposure"].replace("2^", ""), reach=0.06)
    mode = frequencies([p["mode"] for p in fl])
    assert set(mode) == set(s["filmic"]["mode"]) and abs(mode["channel"] - 0.5) < 0.04
    check_range([p["alpha"] for p in by["bt2446c"]], s["bt2446c"]["alpha"], reach=0.1)
    assert set(frequencies([p["mode"] for p in by["bt2390"]])) == set(s["bt2390"]["mode"])
    check_range([p["exposure"] for p in by["hable"]], s["hable"]["exposure"], reach=0.1)
    check_range([p["exposure"] for p in by["reinhard"]], s["reinhard"]["exposure"], log=True, reach=0.1)
    cam = by["camera"]
    assert {p["gain"] for p in cam} == {float(g) for g in s["camera"]["gain"]}
    check_range([p["exposure"] / p["gain"] for p in cam], s["camera"]["exposure"], log=True, reach=0.12)
    check_range([p["offset"] for p in cam], s["camera"]["offset"], reach=0.12)
    check_range([p["noise_sigma"] / math.sqrt(p["gain"]) for p in cam], s["camera"]["noise_sigma"], reach=0.12)
    check_range([p["gamma"] for p in cam], s["camera"]["gamma"], reach=0.12)
    assert all(set(p) == {"saturation"} for p in by["bt2446a"])  # no parameter beyond the grade's peak
    # saturation: 1 with p 0.6, else uniform [0.75, 1.25]
    sat = np.array([p["saturation"] for _, p in draws])
    assert abs(np.mean(sat == 1.0) - 0.6) < 0.03
    check_range(sat[sat != 1.0], s["saturation"])


def test_draw_codec_matches_the_recipe():
    rng = np.random.default_rng(2)
    specs = [draw_codec(rng) for _ in range(N)]
    c = RECIPE["codec"]
    assert abs(np.mean([x is None for x in specs]) - 0.1) < 0.02  # p 0.1 uncoded
    coded = [x for x in specs if x is not None]
    assert set(frequencies([x["codec"] for x in coded])) == set(c["codec"])
    assert set(frequencies([x["preset"] for x in coded])) == set(c["preset"])
    qps = [x["qp"] for x in coded if "qp" in x]
    crfs = [x["crf"] for x in coded if "crf" in x]
    assert len(qps) + len(crfs) == len(coded) and abs(len(qps) / len(coded) - 0.5) < 0.04
    lo, hi = interval(c["rate"]["qp"])
    assert (min(qps), max(qps)) == (lo, hi)  # integers: both ends drawn
    lo, hi = interval(c["rate"]["crf"])
    assert (min(crfs), max(crfs)) == (lo, hi)


@pytest.mark.parametrize("keep", [("filmic",), ("hable", "camera"), STANDARD_FAMILIES])
def test_draw_sdr_never_returns_a_family_left_out(keep):
    rng = np.random.default_rng(3)
    got = {draw_sdr(rng, families=keep)[0] for _ in range(600)}
    assert got == set(keep)


def test_draw_sdr_with_no_family_left_refuses():
    with pytest.raises(ValueError, match="no SDR family"):
        draw_sdr(np.random.default_rng(0), families=("aces",))  # held-out curves are not families


# --- grading and SDR making ------------------------------------------------------------------------------------

@pytest.mark.parametrize("rolloff", ["bt2390", "shoulder", "clip"])
def test_grade_places_the_key_and_respects_the_peak(rolloff):
    lin = smooth_linear()
    g = {"diffuse_white": 150.0, "peak": 800.0, "rolloff": rolloff, "key_stops": 0.5}
    nits = grade(lin, g)
    assert nits.shape == lin.shape and nits.max() <= 800.0 * 1.001
    assert nits.max() > 500.0  # the bright spots reach up towards the peak
    # a mid-grey pixel (far below the knee) lands on 18 % of diffuse white x 2^key_stops, scaled by the scene key
    from sdr2hdr.data.degrade import log_average

    key = log_average(lin)
    probe = np.full((2, 2, 3), key, np.float32)
    assert float(grade(probe, g, scene_key=key)[0, 0, 0]) == pytest.approx(0.18 * 150 * 2 ** 0.5, rel=2e-3)


@pytest.mark.parametrize("family", FAMILIES)
def test_make_sdr_gives_usable_relative_sdr(family):
    rng = np.random.default_rng(4)
    _, params = draw_sdr(np.random.default_rng(11), families=(family,))
    g = {"diffuse_white": 203.0, "peak": 1000.0, "rolloff": "bt2390", "key_stops": 0.0}
    nits = np.full((4, 4, 3), 203.0, np.float32)
    sdr = make_sdr(nits, family, params, g, rng)
    assert sdr.dtype == np.float32 and sdr.shape == nits.shape and sdr.min() >= 0
    # diffuse white lands in the upper half of the SDR range, as broadcast SDR puts it
    assert 0.15 < float(sdr.mean()) < 1.2, (family, params, float(sdr.mean()))


# --- samples ---------------------------------------------------------------------------------------------------

def test_generate_sample_shapes_types_and_ranges():
    lin = smooth_linear(48, 64)
    seen = set()
    for seed in range(6):
        sdr, hdr, rec = generate_sample(lin, np.random.default_rng(seed))
        assert sdr.dtype == np.uint8 and sdr.shape == (48, 64, 3)
        assert hdr.dtype == np.float32 and hdr.shape == (48, 64, 3)
        assert 0.0 <= hdr.min() and hdr.max() <= 1.0
        # PQ: the HDR target never goes above its grade's peak
        assert float(np.asarray(pq_eotf(hdr)).max()) <= rec["grade"]["peak"] * 1.001
        assert rec["family"] in FAMILIES and set(rec) >= {"grade", "family", "params", "codec", "resampled"}
        json.dumps(rec)  # records go into the shards as JSON
        assert sdr.std() > 2  # a picture, not a flat field
        seen.add(rec["family"])
    assert len(seen) >= 2


def test_generate_sample_is_deterministic_for_a_seed():
    lin = smooth_linear(32, 32, seed=2)
    for seed in (5, 8):  # 5 is coded by libx265 and 8 by libx264 (see below), so both codecs are covered
        a = generate_sample(lin, np.random.default_rng(seed))
        b = generate_sample(lin, np.random.default_rng(seed))
        assert a[2] == b[2]
        np.testing.assert_array_equal(a[0], b[0])
        np.testing.assert_array_equal(a[1], b[1])
    codecs = {generate_sample(lin, np.random.default_rng(s))[2]["codec"]["codec"] for s in (5, 8)}
    assert codecs == {"libx264", "libx265"}
    c = generate_sample(lin, np.random.default_rng(6))
    assert not np.array_equal(a[1], c[1])


def test_generate_sample_respects_the_families():
    lin = smooth_linear(32, 32)
    for seed in range(4):
        assert generate_sample(lin, np.random.default_rng(seed), families=("reinhard",))[2]["family"] == "reinhard"


@pytest.mark.parametrize("codec", ["libx264", "libx265"])
def test_codec_roundtrip_keeps_the_shape_and_degrades_with_qp(codec):
    import cv2

    rng = np.random.default_rng(0)
    frames = np.stack([np.clip(cv2.GaussianBlur(rng.uniform(0, 255, (64, 96, 3)).astype(np.float32), (0, 0), 3)
                               * 4 - 380, 0, 255).astype(np.uint8) for _ in range(2)])
    errs = {}
    for rate in ({"qp": 0}, {"qp": 12}, {"qp": 45}, {"crf": 18}, {"crf": 40}):
        out = codec_roundtrip(frames, {"codec": codec, "preset": "ultrafast", **rate})
        assert out.dtype == np.uint8 and out.shape == frames.shape
        errs[next(iter(rate.items()))] = np.abs(out.astype(int) - frames).mean()
    # QP 0 leaves only the 4:2:0 step; a low QP adds little, a high QP changes the picture visibly
    assert errs[("qp", 0)] < 2.5
    assert errs[("qp", 12)] < errs[("qp", 0)] + 1.0
    assert errs[("qp", 45)] > 4 * errs[("qp", 0)] and errs[("qp", 45)] > 6.0
    assert errs[("crf", 40)] > 2 * errs[("crf", 18)]  # the CRF is passed to the encoder too


# --- the pool --------------------------------------------------------------------------------------------------

def _write_shard(path: Path, families: list[str], size: int = 8, seed: int = 0) -> None:
    """A shard in the format _shard writes: sdr uint8 NHWC, hdr uint16 NHWC, records as a JSON string."""
    rng = np.random.default_rng(seed)
    n = len(families)
    sdr = rng.integers(0, 256, (n, size, size, 3), dtype=np.uint8)
    hdr = rng.integers(0, 65536, (n, size, size, 3), dtype=np.uint16)
    sdr[:, 0, 0, 0] = np.arange(n)  # mark each sample so the order can be checked
    recs = [{"family": f, "source": f"s{i}", "grade": {}, "params": {}, "codec": None, "resampled": None}
            for i, f in enumerate(families)]
    np.savez(path, sdr=sdr, hdr=hdr, records=np.array(json.dumps(recs)))


def test_load_pool_drops_the_excluded_families(tmp_path):
    _write_shard(tmp_path / "shard-0000.npz", ["filmic", "hable", "bt2446a", "hable"], seed=0)
    _write_shard(tmp_path / "shard-0001.npz", ["camera", "filmic", "hable"], seed=1)
    _write_shard(tmp_path / "shard-0002.tmp.npz", ["reinhard"], seed=2)  # an unfinished shard is not read
    sdr, hdr, recs = load_pool(tmp_path)
    assert sdr.shape == (7, 8, 8, 3) and hdr.shape == (7, 8, 8, 3)
    assert sdr.dtype == np.uint8 and hdr.dtype == np.uint16
    assert [r["family"] for r in recs] == ["filmic", "hable", "bt2446a", "hable", "camera", "filmic", "hable"]
    sdr2, hdr2, recs2 = load_pool(tmp_path, exclude=("hable",))
    assert [r["family"] for r in recs2] == ["filmic", "bt2446a", "camera", "filmic"]
    assert sdr2.shape[0] == hdr2.shape[0] == 4
    # the arrays stay paired with their records
    assert sdr2[:, 0, 0, 0].tolist() == [0, 2, 0, 1]
    np.testing.assert_array_equal(hdr2[1], hdr[2])
    _, _, recs3 = load_pool(tmp_path, exclude=("hable", "filmic", "camera"))
    assert [r["family"] for r in recs3] == ["bt2446a"]


def test_load_pool_of_an_empty_folder_says_so(tmp_path):
    with pytest.raises(FileNotFoundError, match="no pool shards"):
        load_pool(tmp_path)


@pytest.fixture(scope="module")
def sources(tmp_path_factory) -> Path:
    """Three small EXR photographs, big enough for the default recipe (256 px): two train, one test."""
    root = tmp_path_factory.mktemp("gen_sources")
    for k in range(3):
        textured_exr(root / f"photo{k}.exr", seed=10 + k, hw=(256, 272))
    return root


def test_build_pool_writes_resumable_shards_from_training_sources_only(sources, tmp_path):
    p = plan(Recipe(), sources)
    train = {s for s, split in p.splits.items() if split == "train"}
    test = {s for s, split in p.splits.items() if split == "test"}
    assert len(train) == 2 and len(test) == 1
    out = build_pool(sources, tmp_path / "pool", count=10, size=32, seed=1, shard_size=4, workers=1,
                     log=lambda *_: None)
    assert sorted(p.name for p in out.glob("shard-*.npz")) == ["shard-0000.npz", "shard-0001.npz", "shard-0002.npz"]
    meta = json.loads((out / "pool.json").read_text())
    assert meta["count"] == 10 and meta["size"] == 32 and meta["recipe"] == "configs/data/generated.yaml"
    sdr, hdr, recs = load_pool(out)
    assert sdr.shape == (10, 32, 32, 3) and hdr.shape == (10, 32, 32, 3) and hdr.dtype == np.uint16
    assert {r["source"] for r in recs} <= train  # never a test source
    assert all(r["family"] in FAMILIES for r in recs)
    # resumable: a finished shard is kept as it is, a missing one is made again, identically
    first = (out / "shard-0000.npz").stat().st_mtime_ns
    gone = (out / "shard-0001.npz").read_bytes()
    (out / "shard-0001.npz").unlink()
    build_pool(sources, out, count=10, size=32, seed=1, shard_size=4, workers=1, log=lambda *_: None)
    assert (out / "shard-0000.npz").stat().st_mtime_ns == first
    with np.load(out / "shard-0001.npz") as z, np.load(__import__("io").BytesIO(gone)) as y:
        np.testing.assert_array_equal(z["sdr"], y["sdr"])
        np.testing.assert_array_equal(z["hdr"], y["hdr"])
        assert str(z["records"]) == str(y["records"])
    _, _, kept = load_pool(out, exclude=("filmic",))
    assert len(kept) == sum(r["family"] != "filmic" for r in recs)
