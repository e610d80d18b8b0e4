"""experiments/level_oracle.py: the default's held-out scores with an oracle's exposure trim, on a small real set."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from bench.bench_fixture import make_dataset

from sdr2hdr.color import pq_inverse_eotf, pq_trim
from sdr2hdr.data.heldout import CURVES, build_heldout

SCRIPT = Path(__file__).resolve().parents[2] / "experiments" / "level_oracle.py"


def _script():
    spec = importlib.util.spec_from_file_location("level_oracle_script", SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_stops_is_the_trim_that_matches_the_median_luminance():
    mod = _script()
    rng = np.random.default_rng(0)
    target = pq_inverse_eotf(rng.uniform(1.0, 500.0, (16, 16, 3))).astype(np.float32)
    dim = pq_trim(target, -1.3)
    assert mod._stops(dim, target) == pytest.approx(1.3, abs=1e-3)
    assert mod._stops(target, target) == pytest.approx(0.0, abs=1e-6)


@pytest.fixture(scope="module")
def heldout_set(tmp_path_factory):
    src = make_dataset(tmp_path_factory.mktemp("lo_src") / "set", tmos=("hable",), qps=(37,))
    return build_heldout(src, tmp_path_factory.mktemp("lo") / "set", qps=(37,), frames=2, progress=False)


def test_table_covers_every_curve_and_the_oracle_trim_helps(heldout_set, tmp_path):
    out = tmp_path / "level.md"
    res = subprocess.run([sys.executable, str(SCRIPT), "--data", str(heldout_set), "--frames", "0", "1",
                          "--out", str(out)], capture_output=True, text=True, timeout=900)
    assert res.returncode == 0, res.stderr
    text = out.read_text()
    rows = [line for line in text.splitlines() if line.startswith("| ") and not line.startswith("| curve")]
    assert [r.split(" |")[0][2:].split(" (")[0] for r in rows] == list(CURVES) + ["**mean**"]
    assert "(in training)" in rows[0] and "(never trained)" in rows[-2]  # no --loco: the shipped default
    mean = [float(cell.split(" / ")[0]) for cell in rows[-1].split(" | ")[1:]]
    # as estimated, per frame, per clip, per curve: a trim to the target's median can only be near or above
    assert all(np.isfinite(mean)) and mean[1] >= mean[0] - 0.05 and mean[2] >= mean[0] - 0.05
    assert f"Right trim per clip over all {len(CURVES)} clips" in text
