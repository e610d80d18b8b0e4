"""NaN and infinity through the transfer functions, numpy and torch alike (as colour-science tests its own).

NaN in gives NaN out: a transfer function never turns a missing value into a plausible light level. +inf and
-inf follow each function's documented clip (PQ clips both ends, BT.1886's inverse clips to [0, 1], the
unclipped OETFs let +inf through).
"""

import math
import warnings

import numpy as np
import pytest
import torch

from sdr2hdr.color import transfer as T

NAN, INF = float("nan"), float("inf")

# function -> (value at +inf, value at -inf); None where the function leaves the infinity as it is
EXPECTED = {
    "pq_eotf": (10000.0, 0.0),
    "pq_inverse_eotf": (1.0, T.PQ_C1**T.PQ_M2),  # no light at all is the PQ toe, c1^m2
    "hlg_oetf": (INF, 0.0),
    "hlg_inverse_oetf": (INF, 0.0),
    "bt1886_eotf": (INF, 0.0),
    "bt1886_inverse_eotf": (1.0, 0.0),
    "bt709_oetf": (INF, -INF),
    "bt709_inverse_oetf": (INF, -INF),
}


def _run(name: str, values: list[float], kind: str) -> list[float]:
    x = np.array(values) if kind == "numpy" else torch.tensor(values, dtype=torch.float64)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # numpy's overflow notes on the unused branch
        out = getattr(T, name)(x)
    return [float(v) for v in (out if kind == "numpy" else out.numpy())]


@pytest.mark.parametrize("kind", ["numpy", "torch"])
@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_nan_in_gives_nan_out_and_infinities_follow_the_documented_clip(name, kind):
    nan_out, pos, neg, finite = _run(name, [NAN, INF, -INF, 0.5], kind)
    assert math.isnan(nan_out), f"{name}({kind}) turned NaN into {nan_out}"
    assert pos == EXPECTED[name][0] or math.isclose(pos, EXPECTED[name][0]), pos
    assert neg == EXPECTED[name][1] or math.isclose(neg, EXPECTED[name][1]), neg
    assert math.isfinite(finite)


@pytest.mark.parametrize("name", ["hlg_ootf", "hlg_eotf"])
def test_a_nan_channel_makes_the_pixel_nan_in_the_hlg_system_functions(name):
    out = getattr(T, name)(np.array([[NAN, 0.5, 0.5], [0.5, 0.5, 0.5]]))
    assert np.isnan(out[0]).all() and np.isfinite(out[1]).all()
