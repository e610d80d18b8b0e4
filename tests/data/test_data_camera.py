"""Virtual cameras: the perspective camera looks where its pose says; resampling does not ring."""

import numpy as np

from sdr2hdr.data.camera import (
    CameraPose,
    PanoPose,
    fov_for_zoom,
    pano_zoom,
    random_pano_path,
    random_path,
    render,
    render_equirect,
)


def _lonlat_pano(H=128, W=256):
    v, u = np.mgrid[0:H, 0:W].astype(np.float32)
    return np.stack([(u + 0.5) / W, (v + 0.5) / H, np.ones_like(u)], axis=-1)


def test_perspective_view_centre_looks_along_yaw_and_pitch():
    pano = _lonlat_pano()
    out = render_equirect(pano, PanoPose(yaw=90.0, pitch=30.0, fov=60.0), (33, 33))
    # yaw 90 deg right of the panorama centre -> u = 0.75; 30 deg up -> v = 0.5 - 30/180
    np.testing.assert_allclose(out[16, 16, :2], [0.75, 0.5 - 30 / 180], atol=2e-3)


def test_zoom_and_fov_are_inverse():
    assert abs(pano_zoom(1024, 256, fov_for_zoom(1024, 256, 1.3)) - 1.3) < 1e-9


def test_random_pano_path_respects_max_zoom():
    rng = np.random.default_rng(1)
    for _ in range(20):
        p = random_pano_path(rng, (256, 512), (128, 128), fov_range=(40, 110), max_zoom=1.2)
        for pose in (p.start, p.end):
            assert pano_zoom(512, 128, pose.fov) <= 1.2 + 1e-6


def test_render_of_a_spike_has_no_ringing_below_the_local_minimum():
    img = np.full((40, 40, 3), 0.1, np.float32)
    img[20, 20] = 300.0  # a highlight 3000x its surroundings
    out = render(img, CameraPose(20.3, 19.6, 1.7, 7.0), (32, 32))
    assert out.min() >= 0.1 - 1e-6
    out = render_equirect(np.tile(img, (1, 2, 1)), PanoPose(0, 0, 80), (32, 32))
    assert out.min() >= 0.1 - 1e-6


def test_random_path_keeps_the_view_inside_the_image():
    rng = np.random.default_rng(0)
    img = np.random.default_rng(1).random((100, 150, 3)).astype(np.float32) + 1
    for _ in range(10):
        path = random_path(rng, img.shape[:2], (32, 32))
        for t in (0.0, 0.5, 1.0):
            p = path.pose(t)
            assert 0 < p.cx < 150 and 0 < p.cy < 100


def test_negative_light_from_lossy_exr_is_filled_from_its_neighbours_not_clipped_to_black():
    from sdr2hdr.data.sources import fill_negative

    img = np.full((9, 9, 3), 2.0, np.float32)
    img[4, 4] = [-5.0, 1.0, 1.0]  # DWA undershoot beside a lamp
    out = fill_negative(img)
    np.testing.assert_allclose(out[4, 4], 2.0, rtol=1e-5)
    assert out.min() >= 0 and np.array_equal(out[0], img[0])
