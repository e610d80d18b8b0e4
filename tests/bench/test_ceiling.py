"""The fitted ceilings (bench.ceiling) and the level-aligned scores of the held-out protocol (bench.heldout)."""

from __future__ import annotations

import numpy as np
import torch

from sdr2hdr.bench.ceiling import apply_lut, fit_family, fit_lut33
from sdr2hdr.bench.heldout import _aligned
from sdr2hdr.bench.scores import score
from sdr2hdr.color import pq_inverse_eotf, pq_trim
from sdr2hdr.models.adaptive_itm import N_PARAMS, GlobalInverse


def _frames(n: int = 2, seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    base = rng.random((n, 24, 40, 3)).astype(np.float32)
    return list(base)


def _family_target(frames: list[np.ndarray], params: torch.Tensor) -> list[np.ndarray]:
    out = []
    for f in frames:
        t = torch.from_numpy(f).reshape(-1, 3).T[None]
        pq = pq_inverse_eotf(GlobalInverse()(t, params).clamp(0, 10000.0))
        out.append(pq[0].T.reshape(f.shape).numpy().astype(np.float32))
    return out


def test_the_lut_recovers_a_smooth_global_mapping():
    frames = _frames()
    target = [0.2 + 0.5 * f ** 2 * np.roll(f, 1, -1) ** 0.5 for f in frames]
    lut = fit_lut33(frames, target)
    got = [apply_lut(lut, f) for f in frames]
    assert np.mean([score(g, t, ["psnr"])["psnr"] for g, t in zip(got, target)]) > 45
    # not the identity: a flat LUT scores far lower
    flat = np.full_like(lut, 0.4)
    assert np.mean([score(apply_lut(flat, f), t, ["psnr"])["psnr"] for f, t in zip(frames, target)]) < 25


def test_the_family_fit_recovers_the_models_own_mapping():
    torch.manual_seed(0)
    params = 0.3 * torch.randn(1, N_PARAMS)
    frames = _frames(seed=1)
    target = _family_target(frames, params)
    fn = fit_family(frames, target, steps=300, pixels=4000)
    assert np.mean([score(fn(f), t, ["psnr"])["psnr"] for f, t in zip(frames, target)]) > 38


def test_aligned_scores_take_out_the_level_only():
    frames = _frames(seed=2)
    target = [np.clip(0.3 + 0.3 * f, 0, 1) for f in frames]
    bright = np.asarray(pq_trim(target[0], 1.0), dtype=np.float32)  # the right shape, one stop too bright
    log_ratio = float(np.log(2.0))
    got = _aligned(bright, target[0], log_ratio, 1.0, ("psnr",))
    assert got["level_stops"] == np.float64(1.0) or abs(got["level_stops"] - 1.0) < 1e-9
    assert got["psnr_aligned"] > 50 > score(bright, target[0], ["psnr"])["psnr"]
