"""experiments/detect_curves.py build: each source clip through the standard curves at their standard settings."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np

from sdr2hdr.color import pq_inverse_eotf
from sdr2hdr.data.degrade import sdr_encode, tone_map
from sdr2hdr.io.images import write_png_codes

SCRIPT = Path(__file__).resolve().parents[2] / "experiments" / "detect_curves.py"


def _module():
    spec = importlib.util.spec_from_file_location("detect_curves", SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    sys.modules["detect_curves"] = mod
    spec.loader.exec_module(mod)
    return mod


def test_build_codes_every_curve_at_every_qp_and_the_standard_ones_exactly(tmp_path):
    dc = _module()
    y, x = np.mgrid[0:32, 0:48] / 32.0
    nits = np.stack([np.stack([4 * 2 ** (7 * x + k * 0.1), 30 * (1 + y), 10 * (1 + x * y)], -1) for k in range(2)])
    base = tmp_path / "heldout" / "base" / "src-exr-000" / "hdr"
    for i, f in enumerate(nits):
        pq = np.asarray(pq_inverse_eotf(np.clip(f, 0, 1000)), dtype=np.float64)
        write_png_codes(base / f"{i:03d}.png", np.rint(pq * 65535).astype(np.uint16))
    dc.build(tmp_path / "heldout", tmp_path / "out", frames=2)
    got = sorted(p.name for p in (tmp_path / "out").glob("*.npz"))
    assert got == sorted(f"src-exr-000--{c}.npz" for c in (*dc.STANDARD, *dc.OTHERS))
    with np.load(tmp_path / "out" / "src-exr-000--bt2446a.npz") as z:
        assert {f"qp{q}" for q in dc.QPS} <= set(z.files)
        hdr = z["hdr"].astype(np.float32) / 65535.0
        lq = z["qp27"].astype(np.float32)
    from sdr2hdr.color import pq_eotf

    want = sdr_encode(tone_map(np.asarray(pq_eotf(hdr), dtype=np.float32), "bt2446a", {"Lhdr": 1000.0}))
    assert lq.shape == want.shape and np.abs(lq - want).mean() < 4.0  # x265 at QP 27 stays close to the curve's SDR
