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
