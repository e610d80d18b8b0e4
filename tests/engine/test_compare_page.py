"""`sdr2hdr compare --html`: a self-contained wipe page, rendered in headless Chromium."""

import base64
import re
import shutil
import subprocess

import cv2
import numpy as np
import pytest
from clip_tools import make_sdr_clip, run_cli

from sdr2hdr.color import pq_inverse_eotf
from sdr2hdr.engine.preview import LIGHT_BANDS, false_colour, light_over_time, sdr_view
from sdr2hdr.io.images import png_chunks, write_png8, write_png16

SDR_RGB = (0.75, 0.15, 0.2)  # a red no other part of the page has
HDR_NITS = 600.0


def _embedded(page: str) -> list[bytes]:
    return [base64.b64decode(m) for m in re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', page)]


def _screenshot(page, out, tmp_path, size=(900, 700)):
    chromium = shutil.which("chromium")
    assert chromium, "Debian chromium is needed (make setup installs it)"
    subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync", "--no-first-run",
                    f"--user-data-dir={tmp_path / 'profile'}", f"--screenshot={out}",
                    f"--window-size={size[0]},{size[1]}", page.as_uri()],
                   capture_output=True, timeout=120, check=True)
    shot = cv2.imread(str(out), cv2.IMREAD_COLOR)
    assert shot is not None and shot.shape[:2] == (size[1], size[0])
    return shot[..., ::-1].astype(int)


@pytest.mark.slow  # starts a headless Chromium
def test_image_page_renders_with_the_wipe_in_chromium(tmp_path):
    sdr = write_png8(tmp_path / "sdr.png", np.broadcast_to(np.array(SDR_RGB), (180, 320, 3)))
    pq = np.full((180, 320, 3), float(pq_inverse_eotf(np.array([HDR_NITS]))[0]))
    hdr = write_png16(tmp_path / "hdr.png", pq)
    page = tmp_path / "page.html"
    res = run_cli("compare", sdr, hdr, "--html", page)
    assert res.returncode == 0, res.stderr
    text = page.read_text()
    assert 'type="range"' in text and "http" not in text.replace("http-equiv", "")  # nothing fetched from outside
    images = _embedded(text)
    assert len(images) == 4  # wipe (2), false colour, HDR
    hdr_chunks = dict(png_chunks(images[3]))
    assert hdr_chunks[b"cICP"] == bytes([9, 16, 0, 1]) and hdr_chunks[b"IHDR"][8] == 16

    shot = _screenshot(page, tmp_path / "shot.png", tmp_path)[:, :880]  # the page scrolls: its scroll bar left out
    assert shot.std() > 10  # not blank
    want_left = np.rint(np.array(SDR_RGB) * 255)
    want_right = np.rint(sdr_view(pq[:1, :1])[0, 0] * 255)
    assert np.abs(want_left - want_right).max() > 40
    left = np.abs(shot - want_left).max(-1) <= 6
    right = np.abs(shot - want_right).max(-1) <= 6
    # the wipe starts at 50%: half the 320x180 picture each side of the bar
    half = 160 * 180
    assert 0.85 * half < left.sum() < 1.1 * half, left.sum()
    assert 0.85 * half < right.sum() < 1.1 * half, right.sum()
    ys, xs = np.nonzero(left)
    yr, xr = np.nonzero(right)
    assert xs.max() < xr.min() + 3  # SDR left of the bar, tone-mapped HDR right of it, in the same rows
    assert abs(np.median(ys) - np.median(yr[yr < ys.max()])) < 20
    bar = (shot[:, :, 0] > 200) & (shot[:, :, 1] > 200) & (shot[:, :, 2] < 60)
    assert bar.sum() >= 150  # the yellow wipe bar between them


def test_video_frame_page(tmp_path):
    clip = make_sdr_clip(tmp_path / "in.mp4", 64, 48, 6, audio=False)
    out = tmp_path / "hdr.mkv"
    assert run_cli("convert", clip, out, "--method", "bt2446c", "--quiet").returncode == 0
    pages = {}
    for frame in (0, 4):
        page = tmp_path / f"f{frame}.html"
        res = run_cli("compare", clip, out, "--html", page, "--frame", frame, "--tonemap", "bt2446a")
        assert res.returncode == 0, res.stderr
        pages[frame] = _embedded(page.read_text())
        hdr = dict(png_chunks(pages[frame][3]))
        assert hdr[b"cICP"] == bytes([9, 16, 0, 1])
        assert int.from_bytes(hdr[b"IHDR"][:4], "big") == 64 and int.from_bytes(hdr[b"IHDR"][4:8], "big") == 48
    assert pages[0][1] != pages[4][1] and pages[0][3] != pages[4][3]  # the square moved: another frame
    res = run_cli("compare", clip, out, "--html", tmp_path / "x.html", "--frame", 6)
    assert res.returncode == 2 and "past its end" in res.stderr and not (tmp_path / "x.html").exists()
    res = run_cli("compare", out, clip, "--html", tmp_path / "x.html")
    assert res.returncode == 2 and "SDR side is HDR" in res.stderr


def test_false_colour_bands_follow_luminance():
    nits = np.array([0.5, 5.0, 20.0, 50.0, 150.0, 300.0, 600.0, 4000.0])
    pq = np.repeat(np.asarray(pq_inverse_eotf(nits), np.float32)[:, None], 3, axis=1)
    got = false_colour(pq)
    assert [tuple(c) for c in got] == [tuple(np.float32(v) for v in b[1]) for b in LIGHT_BANDS]


@pytest.mark.slow
def test_several_frames_false_colour_and_light_over_time_in_chromium(tmp_path):
    clip = make_sdr_clip(tmp_path / "in.mp4", 320, 180, 24, audio=False)
    out = tmp_path / "hdr.mkv"
    assert run_cli("convert", clip, out, "--method", "bt2446a", "--quiet").returncode == 0
    page = tmp_path / "p.html"
    res = run_cli("compare", clip, out, "--html", page, "--frames", "3", "--width", "480")
    assert res.returncode == 0, res.stderr
    text = page.read_text()
    assert 'id="frame"' in text and text.count('class="frame"') == 6  # 3 sections + 3 HDR pictures
    assert text.count("<polyline") == 2 and 'data-f2="frame 23"' in text
    cll, fall = light_over_time(out)
    assert len(cll) == 24 and (cll >= fall).all() and fall.max() > 0
    assert f"MaxCLL {cll.max():.0f} cd/m2" in text
    shot = _screenshot(page, tmp_path / "shot.png", tmp_path, size=(900, 1400))[:, :880]
    # the false-colour map: the moving white square is lit above 203 cd/m2 (a 203-400 or 400-1000 band colour)
    bands = [np.rint(np.array(b[1]) * 255) for b in LIGHT_BANDS]
    hits = [int((np.abs(shot - c).max(-1) <= 6).sum()) for c in bands]
    assert hits[5] + hits[6] >= 0.5 * 32 * 32 * 1.5, hits  # the square at 480/320 scale, at least half of it
    assert sum(h > 200 for h in hits) >= 3, hits  # several bands show
    red = (np.abs(shot - (255, 64, 96)).max(-1) <= 10).sum()
    blue = (np.abs(shot - (64, 160, 255)).max(-1) <= 10).sum()
    assert red > 100 and blue > 100, (red, blue)  # both curves and their labels are drawn
    # only the first frame's section is visible
    assert text.count(' hidden>') == 4
