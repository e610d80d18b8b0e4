"""engine.detect: the features of a shot and the conservative curve detector."""

from __future__ import annotations

import numpy as np
import pytest

from sdr2hdr.data.degrade import sdr_encode, tone_map
from sdr2hdr.engine.detect import CLASSES, CurveDetector, frame_features, shot_features


def _scene(seed: int) -> np.ndarray:
    """A smooth HDR picture (cd/m2, BT.2020) with highlights up to 1000 and coloured regions."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:90, 0:160] / 90.0
    base = 5.0 * 2 ** (8 * (0.5 * x + 0.5 * y * rng.uniform(0.5, 1.0)))
    tint = np.stack([1 + 0.5 * np.sin(3 * x + seed), 1 + 0.5 * np.cos(2 * y), 1 + 0.3 * np.sin(x * y)], -1)
    return np.clip(base[..., None] * tint, 0, 1000).astype(np.float32)


def test_features_tell_a_standard_curve_from_a_filmic_one_on_the_same_picture():
    nits = _scene(0)
    a = frame_features(sdr_encode(tone_map(nits, "bt2446a", {"Lhdr": 1000.0})) / 255.0)
    h = frame_features(sdr_encode(tone_map(nits, "hable", {"exposure": 2.0, "white": 1000.0})) / 255.0)
    assert a.shape == h.shape and np.all(np.isfinite(a))
    assert np.abs(a - h).sum() > 1.0
    frames = [sdr_encode(tone_map(nits, "bt2446a", {"Lhdr": 1000.0})) / 255.0] * 2
    np.testing.assert_allclose(shot_features(frames), a, rtol=1e-5)


def test_detector_learns_separable_classes_and_stays_conservative(tmp_path):
    rng = np.random.default_rng(0)
    centres = rng.normal(0, 3, (len(CLASSES), 6))
    y = np.repeat(np.arange(len(CLASSES)), 40)
    x = (centres[y] + rng.normal(0, 0.3, (len(y), 6))).astype(np.float32)
    det = CurveDetector.fit(x, y, threshold=0.9)
    got = [det.predict(v)[0] for v in x]
    assert np.mean([g == CLASSES[k] for g, k in zip(got, y)]) > 0.95
    # halfway between two standard curves: no class is 0.9 likely, so the switch does not fire
    mid = (centres[0] + centres[1]) / 2
    assert det.predict(mid)[0] == "other"
    det.save(tmp_path / "d.json")
    back = CurveDetector.load(tmp_path / "d.json")
    np.testing.assert_allclose(back.proba(x[:5]), det.proba(x[:5]), rtol=1e-4, atol=1e-6)
    assert back.threshold == pytest.approx(0.9)
