"""Y'CbCr: BT.709 / BT.2020 NCL matrices, code values against colour-science, 4:2:0 resampling, the video hot path."""

import colour
import numpy as np
import pytest
import torch

from sdr2hdr.color import (
    KR_KB,
    chroma_420_down,
    chroma_420_up,
    decode_ycbcr,
    encode_ycbcr,
    rgb_to_ycbcr,
    rgb_to_yuv420,
    ycbcr_matrix,
    ycbcr_to_rgb,
    yuv420_to_rgb,
)

RNG = np.random.default_rng(3)
COLOUR_K = {"bt709": "ITU-R BT.709", "bt2020": "ITU-R BT.2020", "bt601": "ITU-R BT.601"}


def test_luma_coefficients_and_chroma_divisors():
    assert KR_KB == {"bt709": (0.2126, 0.0722), "bt2020": (0.2627, 0.0593), "bt601": (0.299, 0.114)}
    m = ycbcr_matrix("bt2020")
    np.testing.assert_allclose(m[0], [0.2627, 0.6780, 0.0593], atol=1e-15)
    # BT.2020 NCL: Cb = (B' - Y') / 1.8814, Cr = (R' - Y') / 1.4746
    rgb = RNG.random((50, 3))
    y, cb, cr = np.moveaxis(rgb_to_ycbcr(rgb, "bt2020"), -1, 0)
    np.testing.assert_allclose(cb, (rgb[:, 2] - y) / 1.8814, atol=1e-14)
    np.testing.assert_allclose(cr, (rgb[:, 0] - y) / 1.4746, atol=1e-14)
    with pytest.raises(ValueError):
        ycbcr_matrix("smpte240m")


@pytest.mark.parametrize("matrix", ["bt709", "bt2020", "bt601"])
def test_ycbcr_analogue_matches_colour_science_and_inverts(matrix):
    rgb = RNG.random((200, 3))
    K = colour.WEIGHTS_YCBCR[COLOUR_K[matrix]]
    ref = colour.RGB_to_YCbCr(rgb, K=K, out_legal=False, out_int=False)
    np.testing.assert_allclose(rgb_to_ycbcr(rgb, matrix), ref, atol=1e-14)
    np.testing.assert_allclose(ycbcr_to_rgb(ref, matrix), rgb, atol=1e-14)


@pytest.mark.parametrize("bits", [8, 10, 16])
@pytest.mark.parametrize("full_range", [False, True])
@pytest.mark.parametrize("matrix", ["bt709", "bt2020"])
def test_code_values_match_colour_science(bits, full_range, matrix):
    rgb = RNG.random((2000, 3))
    K = colour.WEIGHTS_YCBCR[COLOUR_K[matrix]]
    ref = colour.RGB_to_YCbCr(rgb, K=K, out_bits=bits, out_legal=not full_range, out_int=True)
    codes = encode_ycbcr(rgb_to_ycbcr(rgb, matrix), bits=bits, full_range=full_range)
    assert codes.dtype == np.uint16
    np.testing.assert_array_equal(codes, ref)
    back = colour.YCbCr_to_RGB(ref, K=K, in_bits=bits, in_legal=not full_range, in_int=True)
    np.testing.assert_allclose(ycbcr_to_rgb(decode_ycbcr(codes, bits, full_range), matrix), back, atol=1e-12)


def test_narrow_and_full_range_formulas():
    ycc = np.array([[1.0, 0.5, -0.5], [0.0, 0.0, 0.0]])
    # narrow: Y = (219 E + 16) 2^(n-8), C = (224 E + 128) 2^(n-8)
    assert encode_ycbcr(ycc, bits=8).tolist() == [[235, 240, 16], [16, 128, 128]]
    assert encode_ycbcr(ycc, bits=10).tolist() == [[940, 960, 64], [64, 512, 512]]
    assert encode_ycbcr(ycc, bits=16).tolist() == [[60160, 61440, 4096], [4096, 32768, 32768]]
    # full (H.273): Y = (2^n - 1) E, C = (2^n - 1) E + 2^(n-1), clipped to the code range
    assert encode_ycbcr(ycc, bits=10, full_range=True).tolist() == [[1023, 1023, 0], [0, 512, 512]]
    assert encode_ycbcr(np.array([2.0, 1.0, -1.0]), bits=10).tolist() == [1023, 1023, 0]
    with pytest.raises(ValueError):
        encode_ycbcr(ycc, bits=17)


def test_bt2408_codes_round_trip_through_decode():
    codes = np.array([[64, 512, 512], [940, 960, 64]])
    np.testing.assert_array_equal(encode_ycbcr(decode_ycbcr(codes, 10), 10), codes)
    np.testing.assert_allclose(decode_ycbcr(codes, 10)[0], [0.0, 0.0, 0.0], atol=1e-15)


def test_torch_ycbcr_nchw_matches_numpy_and_returns_float_codes():
    x = RNG.random((2, 3, 4, 6))
    t = torch.from_numpy(x)
    hwc = np.moveaxis(x, 1, -1)
    ycc_t = rgb_to_ycbcr(t, "bt2020")
    np.testing.assert_allclose(np.moveaxis(ycc_t.numpy(), 1, -1), rgb_to_ycbcr(hwc, "bt2020"), atol=1e-14)
    codes_t = encode_ycbcr(ycc_t, bits=10)
    assert codes_t.dtype == torch.float64
    np.testing.assert_array_equal(np.moveaxis(codes_t.numpy(), 1, -1), encode_ycbcr(rgb_to_ycbcr(hwc, "bt2020")))
    back = ycbcr_to_rgb(decode_ycbcr(codes_t, bits=10), "bt2020")
    assert back.shape == t.shape
    assert float((back - t).abs().max()) < 2e-3


def test_ycbcr_gradcheck_float64():
    x = torch.rand(1, 3, 3, 3, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda v: rgb_to_ycbcr(v, "bt2020"), (x,))
    assert torch.autograd.gradcheck(lambda v: ycbcr_to_rgb(v, "bt709"), (x,))


def _smooth(H, W):
    yy, xx = np.mgrid[0:H, 0:W]
    return 0.5 + 0.3 * np.sin(xx / 17.0) * np.cos(yy / 23.0)


@pytest.mark.parametrize("H, W", [(64, 96), (33, 47), (1, 1), (2, 3), (5, 1)])
def test_chroma_420_sizes_and_constant_planes_are_exact(H, W):
    plane = np.full((H, W), 0.3125)
    down = chroma_420_down(plane)
    assert down.shape == ((H + 1) // 2, (W + 1) // 2)
    np.testing.assert_array_equal(down, 0.3125)
    up = chroma_420_up(down, H, W)
    assert up.shape == (H, W)
    np.testing.assert_array_equal(up, 0.3125)


@pytest.mark.parametrize("H, W", [(64, 96), (33, 47)])
def test_chroma_420_smooth_image_survives_down_up(H, W):
    plane = _smooth(H, W)
    err = np.abs(chroma_420_up(chroma_420_down(plane), H, W) - plane)
    # Second order inside; edge replication makes the border first order (half a sample of slope).
    assert err[1:-1, 1:-1].max() < 3e-3
    assert err.max() < 2e-2
    assert err.mean() < 1e-3


def test_chroma_420_siting_is_type0():
    # A horizontal ramp: the filtered sample sits exactly on the even column (co-sited).
    ramp_x = np.tile(np.arange(10.0), (4, 1))
    np.testing.assert_allclose(chroma_420_down(ramp_x)[:, 1:], np.tile([2.0, 4.0, 6.0, 8.0], (2, 1)))
    # A vertical ramp: the sample sits midway between two luma rows.
    ramp_y = np.tile(np.arange(8.0)[:, None], (1, 4))
    np.testing.assert_allclose(chroma_420_down(ramp_y)[:, 0], [0.5, 2.5, 4.5, 6.5])
    # Interpolating a linear ramp back is exact away from the edges.
    ramp = np.add.outer(np.arange(12.0) * 0.7, np.arange(16.0) * 0.3)
    up = chroma_420_up(chroma_420_down(ramp), 12, 16)
    np.testing.assert_allclose(up[1:-1, 2:-1], ramp[1:-1, 2:-1], atol=1e-12)


def test_chroma_420_torch_batched_matches_numpy():
    planes = RNG.random((2, 3, 9, 14))
    down_t = chroma_420_down(torch.from_numpy(planes))
    np.testing.assert_allclose(down_t.numpy(), chroma_420_down(planes), atol=1e-15)
    up_t = chroma_420_up(down_t, 9, 14)
    np.testing.assert_allclose(up_t.numpy(), chroma_420_up(chroma_420_down(planes), 9, 14), atol=1e-15)
    with pytest.raises(ValueError):
        chroma_420_up(planes, 9, 14)


@pytest.mark.parametrize("matrix, bits, full_range", [("bt709", 8, False), ("bt2020", 10, False),
                                                      ("bt2020", 10, True), ("bt709", 16, False)])
def test_yuv420_round_trip_smooth_frame(matrix, bits, full_range):
    H, W = 36, 50
    rgb = np.stack([_smooth(H, W), _smooth(H, W)[::-1], 0.4 + 0.2 * _smooth(H, W)[:, ::-1]], -1)
    Y, U, V = rgb_to_yuv420(rgb, matrix, bits, full_range)
    assert Y.dtype == U.dtype == V.dtype == np.uint16
    assert Y.shape == (H, W) and U.shape == V.shape == (H // 2, W // 2)
    back = yuv420_to_rgb(Y, U, V, matrix, bits, full_range)
    assert back.dtype == np.float32 and back.shape == (H, W, 3)
    err = np.abs(back - rgb)
    assert err[1:-1, 2:-1].max() < 2.0 / 2**bits + 4e-3  # quantisation plus second-order chroma error
    assert err.max() < 3e-2  # borders: edge replication
    # Luma codes are those of the 4:4:4 conversion.
    ref = encode_ycbcr(rgb_to_ycbcr(rgb.astype(np.float32), matrix), bits, full_range)
    assert np.abs(Y.astype(int) - ref[..., 0]).max() <= 1


def test_yuv420_constant_colour_matches_444_codes_and_odd_sizes():
    rgb = np.empty((7, 9, 3))
    rgb[...] = [0.8, 0.3, 0.1]
    Y, U, V = rgb_to_yuv420(rgb, "bt2020", 10, False)
    assert U.shape == (4, 5)
    codes = encode_ycbcr(rgb_to_ycbcr(rgb[0, 0], "bt2020"), 10)
    assert (Y == codes[0]).all() and (U == codes[1]).all() and (V == codes[2]).all()
    back = yuv420_to_rgb(Y, U, V, "bt2020", 10, False)
    np.testing.assert_allclose(back, rgb, atol=2e-3)
    assert back.min() >= 0 and back.max() <= 1


def test_yuv420_rejects_bad_shapes():
    with pytest.raises(ValueError):
        rgb_to_yuv420(np.zeros((4, 4)))
    with pytest.raises(ValueError):
        yuv420_to_rgb(np.zeros((4, 4)), np.zeros((3, 2)), np.zeros((3, 2)))
