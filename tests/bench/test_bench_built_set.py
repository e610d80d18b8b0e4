"""The benchmark on a set made by the real builder (`sdr2hdr data build` on two tiny EXRs made here)."""

from __future__ import annotations

import numpy as np
import pytest

from sdr2hdr.bench.methods import classical_method
from sdr2hdr.bench.report import Summary
from sdr2hdr.bench.run import run_benchmark
from sdr2hdr.data.split import load_split


@pytest.fixture(scope="module")
def built_set(tmp_path_factory):
    import cv2

    from sdr2hdr.data.build import build
    from sdr2hdr.data.recipe import Recipe
    from sdr2hdr.io import write_exr

    src = tmp_path_factory.mktemp("sources")
    for seed in (0, 1):
        # two stops of smooth texture and no highlights: after exposure the scene stays under BT.2446 C's SDR white
        # (332 cd/m2), so its SDR is not clipped and the inverse curve can undo it
        rng = np.random.default_rng(seed)
        noise = cv2.GaussianBlur(rng.standard_normal((150, 200, 3)).astype(np.float32), (0, 0), 6)
        write_exr(src / f"still{seed}.exr", (0.2 * np.exp2(noise / np.abs(noise).max())).astype(np.float32),
                  half=False)
    recipe = Recipe(seed=1, size=(64, 96), frames=3, clips_per_source={"train": 1, "test": 1}, test_fraction=0.5,
                    qps=(27, 42), scales=(1, 2), x265_preset="ultrafast", exposure_stops=(0.0, 0.0),
                    tmo_weights={"bt2446c": 1.0})
    out = tmp_path_factory.mktemp("built")
    build(src, out, recipe, workers=1, progress=False, log=lambda *_: None)
    return out


def test_classical_bt2446c_is_nearly_exact_on_a_built_set_made_with_bt2446c(built_set):
    clips = load_split(built_set, "test")
    assert clips and {c.degradation for c in clips} == {"bt2446c"}
    assert clips[0].qps == [27, 42] and clips[0].scales(27) == [1, 2]
    methods = [classical_method(m) for m in ("bt2408", "bt2446a", "bt2446c")]
    result = run_benchmark(clips, methods, [27, 42], ["psnr", "delta_e_itp"], report_frames=0, progress=False)
    s = Summary(result)
    exact = s.get("bt2446c", "psnr", "bt2446c", 27)
    assert exact > 35.0, exact
    assert exact > max(s.get(m, "psnr", "bt2446c", 27) for m in ("bt2408", "bt2446a")) + 5.0
    assert s.get("bt2446c", "psnr", "bt2446c", 27) > s.get("bt2446c", "psnr", "bt2446c", 42)
