"""limit_luma_420: a frame clipped to the peak in R'G'B' still decodes within the peak after 4:2:0."""

import numpy as np

from sdr2hdr.color import limit_luma_420, pq_inverse_eotf, rgb_to_yuv420, yuv420_to_rgb

PEAK = float(pq_inverse_eotf(np.array([1000.0]))[0])


def _saturated_edges(size: int = 64) -> np.ndarray:
    """Columns of pure primaries at the peak beside white at the peak: the worst case for chroma subsampling."""
    rgb = np.zeros((size, size, 3), dtype=np.float32)
    colours = [(1, 0, 0), (0, 1, 0), (0, 0, 1), (1, 1, 1), (1, 0, 1), (0, 1, 1)]
    for j in range(size):
        rgb[:, j] = np.array(colours[(j // 1) % len(colours)]) * PEAK
    rng = np.random.default_rng(0)
    return np.clip(rgb + rng.normal(0, 0.02, rgb.shape).astype(np.float32), 0, PEAK)


def test_without_the_limit_4_2_0_overshoots_the_peak():
    y, u, v = rgb_to_yuv420(_saturated_edges(), matrix="bt2020", bits=10)
    assert yuv420_to_rgb(y, u, v, matrix="bt2020", bits=10).max() > PEAK + 0.02


def test_limited_luma_decodes_within_the_peak():
    y, u, v = rgb_to_yuv420(_saturated_edges(), matrix="bt2020", bits=10)
    before = y.copy()
    limit_luma_420(y, u, v, PEAK)
    out = yuv420_to_rgb(y, u, v, matrix="bt2020", bits=10)
    assert out.max() <= PEAK + 1e-4
    assert (y <= before).all() and (y < before).any()


def test_pixels_far_below_the_peak_are_untouched():
    rgb = np.full((32, 32, 3), 0.4, dtype=np.float32)
    rgb[:, ::2, 0] = 0.5
    y, u, v = rgb_to_yuv420(rgb, matrix="bt2020", bits=10)
    before = y.copy()
    limit_luma_420(y, u, v, PEAK)
    assert np.array_equal(y, before)


def _dense_limit(y, u, v, peak):
    """The limit computed at every pixel from the decoder's interpolated chroma (``chroma_420_up``)."""
    from sdr2hdr.color import chroma_420_up, ycbcr_matrix
    from sdr2hdr.color.ycbcr import _code_scales

    ys, yo, cs, co = _code_scales(10, False)
    inv = np.linalg.inv(ycbcr_matrix("bt2020"))
    f32 = np.float32
    cb = (u.astype(f32) - f32(co)) * f32(1 / cs)
    cr = (v.astype(f32) - f32(co)) * f32(1 / cs)
    diff = np.maximum(np.maximum(f32(inv[0, 2]) * cr, f32(inv[1, 1]) * cb + f32(inv[1, 2]) * cr),
                      f32(inv[2, 1]) * cb)
    limit = np.asarray(chroma_420_up(diff, *y.shape)) * f32(-ys) + f32(ys * peak + yo)
    return np.minimum(y, np.clip(np.floor(limit), 0, 1023).astype(y.dtype))


def test_the_limit_computed_at_candidate_pixels_equals_the_dense_limit():
    # few bright pixels (the sparse path) and many (the dense one), even and odd sizes
    rng = np.random.default_rng(3)
    edges = _saturated_edges(8)
    for shape in ((48, 64), (33, 17), (7, 9)):
        for blocks in (1, 4, 40):
            rgb = (rng.random((*shape, 3)) * 0.55).astype(np.float32)
            for _ in range(blocks):  # patches of peak primaries beside peak white, on a dim picture
                i, j = rng.integers(0, shape[0] - 3), rng.integers(0, shape[1] - 3)
                patch = rgb[i:i + 8, j:j + 8]
                patch[...] = edges[: patch.shape[0], : patch.shape[1]]
            y, u, v = rgb_to_yuv420(rgb, matrix="bt2020", bits=10)
            want = _dense_limit(y.copy(), u, v, PEAK)
            assert (want < y).any()
            got = limit_luma_420(y.copy(), u, v, PEAK)
            assert np.array_equal(got, want), (shape, blocks)
