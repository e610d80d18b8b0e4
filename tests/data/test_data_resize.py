"""MATLAB imresize bicubic: kernel values, hand-derived outputs, sizes and integer rounding."""

import numpy as np
import pytest

from sdr2hdr.data.resize import cubic, imresize, resize_weights


def test_cubic_kernel_matches_keys_a_minus_half():
    # (1.5|x|^3 - 2.5|x|^2 + 1) inside 1, (-0.5|x|^3 + 2.5|x|^2 - 4|x| + 2) from 1 to 2
    x = np.array([0.0, 0.25, 0.75, 1.0, 1.25, 1.75, 2.0, 2.5])
    assert cubic(x).tolist() == [1.0, 0.8671875, 0.2265625, 0.0, -0.0703125, -0.0234375, 0.0, 0.0]


def test_halving_a_ramp_gives_the_hand_derived_matlab_values():
    # x2 shrink: taps at distances 0.5, 1.5, 2.5, 3.5 weigh 0.5 * cubic(d / 2) = 0.43359375, 0.11328125,
    # -0.03515625, -0.01171875; the first output sits at u = 1.5 and mirrors [1..8] into 3 2 1 | 1 2 3 4 5:
    # -0.01171875*3 - 0.03515625*2 + 0.11328125*1 + 0.43359375*1 + 0.43359375*2 + 0.11328125*3
    # - 0.03515625*4 - 0.01171875*5 = 1.44921875 (MATLAB: imresize(1:8, 0.5) = 1.4492 3.4883 5.5117 7.5508)
    out = imresize(np.arange(1, 9, dtype=np.float64)[None, :], out_hw=(1, 4))
    np.testing.assert_allclose(out[0], [1.44921875, 3.48828125, 5.51171875, 7.55078125], atol=1e-6)


def test_quarter_weights_are_the_stretched_kernel():
    W = resize_weights(64, 16, 0.25)
    np.testing.assert_allclose(W.sum(axis=1), 1.0, atol=1e-12)
    # an interior output (index 8, 1-based 9) sits at u = 9 * 4 - 1.5 = 34.5: weight 0.25 * cubic(0.25 * d)
    u = 9 / 0.25 + 0.5 * (1 - 4)
    j = np.arange(1, 65)
    expected = 0.25 * cubic(0.25 * (u - j))
    np.testing.assert_allclose(W[8], expected / expected.sum(), atol=1e-12)


@pytest.mark.parametrize("scale,size", [(0.5, (32, 24)), (0.25, (16, 12))])
def test_downscaled_image_has_the_scaled_size(scale, size):
    img = np.random.default_rng(0).integers(0, 256, (64, 48, 3), dtype=np.uint8)
    out = imresize(img, scale)
    assert out.shape == size + (3,) and out.dtype == np.uint8


def test_constant_stays_constant_and_uint8_is_rounded_like_matlab():
    assert np.all(imresize(np.full((20, 20, 3), 77, np.uint8), 0.5) == 77)
    ramp = np.tile(np.arange(1, 9, dtype=np.uint8), (4, 1))
    assert imresize(ramp, 0.5)[0].tolist() == [1, 3, 6, 8]  # round(1.449), round(3.488), round(5.512), ...
