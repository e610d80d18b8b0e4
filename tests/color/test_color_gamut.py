"""Gamut matrices derived from the primaries: BT.2087 values, colour-science matrices, clipping, luminance."""

import colour
import numpy as np
import pytest
import torch

from sdr2hdr.color import (
    BT709_TO_BT2020,
    BT709_TO_XYZ,
    BT2020_TO_BT709,
    BT2020_TO_XYZ,
    P3D65_TO_XYZ,
    XYZ_TO_BT709,
    XYZ_TO_BT2020,
    apply_matrix,
    gamut_clip_2020_to_709,
    luminance,
)

RNG = np.random.default_rng(7)
SPACES = {"bt709": "ITU-R BT.709", "bt2020": "ITU-R BT.2020", "p3d65": "P3-D65"}


def test_bt2087_matrix_matches_the_documented_values():
    expected = [
        [0.6274039, 0.3292830, 0.0433131],
        [0.0690973, 0.9195404, 0.0113623],
        [0.0163914, 0.0880133, 0.8955953],
    ]
    np.testing.assert_allclose(BT709_TO_BT2020, expected, atol=1e-6)


@pytest.mark.parametrize(
    "mine, name",
    [(BT709_TO_XYZ, "bt709"), (BT2020_TO_XYZ, "bt2020"), (P3D65_TO_XYZ, "p3d65")],
)
def test_rgb_to_xyz_matrices_match_colour_science(mine, name):
    space = colour.RGB_COLOURSPACES[SPACES[name]]
    np.testing.assert_allclose(mine, space.matrix_RGB_to_XYZ, atol=1e-12)
    assert mine.dtype == np.float64 and mine.shape == (3, 3)


def test_inverse_matrices_match_colour_science():
    np.testing.assert_allclose(XYZ_TO_BT709, colour.RGB_COLOURSPACES["ITU-R BT.709"].matrix_XYZ_to_RGB, atol=1e-12)
    np.testing.assert_allclose(XYZ_TO_BT2020, colour.RGB_COLOURSPACES["ITU-R BT.2020"].matrix_XYZ_to_RGB, atol=1e-12)


def test_709_2020_conversion_matches_colour_science():
    s709, s2020 = (colour.RGB_COLOURSPACES[SPACES[k]] for k in ("bt709", "bt2020"))
    np.testing.assert_allclose(BT709_TO_BT2020, colour.matrix_RGB_to_RGB(s709, s2020), atol=1e-12)
    np.testing.assert_allclose(BT2020_TO_BT709, colour.matrix_RGB_to_RGB(s2020, s709), atol=1e-12)
    rgb = RNG.random((100, 3))
    np.testing.assert_allclose(apply_matrix(BT709_TO_BT2020, rgb), colour.RGB_to_RGB(rgb, s709, s2020), atol=1e-12)


def test_matrices_keep_white_and_are_read_only():
    np.testing.assert_allclose(BT709_TO_BT2020.sum(axis=1), 1.0, atol=1e-12)
    np.testing.assert_allclose(BT2020_TO_XYZ[1].sum(), 1.0, atol=1e-12)
    with pytest.raises(ValueError):
        BT709_TO_BT2020[0, 0] = 1.0


def test_apply_matrix_axis_and_torch_nchw():
    x = RNG.random((2, 3, 4, 5))
    ref = np.moveaxis(apply_matrix(BT709_TO_BT2020, np.moveaxis(x, 1, -1)), -1, 1)
    np.testing.assert_allclose(apply_matrix(BT709_TO_BT2020, x, axis=1), ref, atol=1e-14)
    got = apply_matrix(BT709_TO_BT2020, torch.from_numpy(x))
    np.testing.assert_allclose(got.numpy(), ref, atol=1e-14)
    assert apply_matrix(BT709_TO_BT2020, torch.from_numpy(x).float()).dtype == torch.float32
    assert apply_matrix(BT709_TO_BT2020, x.astype(np.float32), axis=1).dtype == np.float32
    with pytest.raises(ValueError):
        apply_matrix(BT709_TO_BT2020, RNG.random((4, 2)))


def test_gamut_clip_round_trips_709_colours_and_clips_the_rest():
    rgb709 = RNG.random((200, 3))
    back = gamut_clip_2020_to_709(apply_matrix(BT709_TO_BT2020, rgb709), upper=1.0)
    np.testing.assert_allclose(back, rgb709, atol=1e-12)
    pure_green_2020 = np.array([0.0, 1.0, 0.0])
    clipped = gamut_clip_2020_to_709(pure_green_2020)
    assert clipped.min() == 0.0 and clipped[1] > 1.0  # absolute: only negatives are clipped
    assert gamut_clip_2020_to_709(pure_green_2020, upper=1.0).max() == 1.0


def test_luminance_weights_and_colour_science():
    rgb = RNG.random((100, 3))
    for name in ("bt709", "bt2020"):
        space = colour.RGB_COLOURSPACES[SPACES[name]]
        ref = colour.RGB_luminance(rgb, space.primaries, space.whitepoint)
        # the standards' weights are the matrix row rounded to 4 decimals
        np.testing.assert_allclose(luminance(rgb, name)[..., 0], ref, atol=5e-5)
    np.testing.assert_allclose(luminance(np.eye(3), "bt2020")[:, 0], [0.2627, 0.6780, 0.0593], atol=1e-12)
    np.testing.assert_allclose(luminance(np.eye(3), "bt709")[:, 0], [0.2126, 0.7152, 0.0722], atol=1e-12)
    t = luminance(torch.ones(2, 3, 4, 4))
    assert t.shape == (2, 1, 4, 4)
    with pytest.raises(ValueError):
        luminance(rgb, "p3")
