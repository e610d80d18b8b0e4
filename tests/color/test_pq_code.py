"""pq_code: a peak's PQ value, one number, against colour-science and the sites' old array spelling."""

import colour
import numpy as np
import pytest

from sdr2hdr.color import pq_code, pq_inverse_eotf


@pytest.mark.parametrize("nits", [0.0, 0.1, 100.0, 203.0, 600.0, 1000.0, 4000.0, 10000.0])
def test_pq_code_is_the_st2084_inverse_eotf(nits):
    assert pq_code(nits) == pytest.approx(float(colour.models.eotf_inverse_ST2084(nits)), rel=1e-12, abs=1e-15)


@pytest.mark.parametrize("nits", [100, 1000.0, np.float32(1000.0), np.float64(4000.0)])
def test_pq_code_is_a_float_equal_to_the_float64_array_spelling(nits):
    # the spelling every call site used before: exactly the same number, so no output moves by a code value
    code = pq_code(nits)
    assert type(code) is float
    assert code == float(pq_inverse_eotf(np.array([float(nits)], dtype=np.float64))[0])


def test_pq_code_clips_to_the_pq_range():
    assert pq_code(-5.0) == pq_code(0.0) == pytest.approx(7.3095590e-7)
    assert pq_code(20000.0) == pq_code(np.inf) == 1.0
