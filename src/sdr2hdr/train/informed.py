"""Training informed mode's restoration for one known curve, on the fixed builder's clips made with that curve.

The builder's clips follow one grading convention (diffuse white near 203 cd/m2, BT.2390 roll-off to 1000) and
make their SDR with the standard curves at their standard settings, which is what a broadcast round trip through
BT.2446 A or C is; the restoration learns what x265 at QPs 27-47, 8 bits and the BT.709 clip did after the curve.

- train_informed(data_dir, curve, out, steps, ...) -> the run folder (weights.safetensors and its card weights.json,
  log.csv, checkpoint.pt; `resume=True` continues)
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TextIO

import numpy as np
import torch
import torch.nn.functional as F

from sdr2hdr.errors import InputError
from sdr2hdr.train.adaptive import cosine_adam, resume_run, save_run, save_run_weights

__all__ = ["train_informed"]


def _load(data_dir, curve: str, qps) -> tuple[list, np.ndarray]:
    """LQ frames per QP and HDR targets of every training clip made with `curve` (uint8 / uint16 arrays)."""
    from sdr2hdr.data.datasets import ArrayCache, BuiltSet

    built = BuiltSet(data_dir, "train")
    cache = ArrayCache(data_dir)
    clips = [c for c in built.clips if c.get("tmo", {}).get("name") == curve]
    if not clips:
        raise InputError(f"{data_dir} has no training clip made with {curve!r}")
    lq = {qp: np.concatenate([cache.get(c, f"lq/qp{qp}/x1") for c in clips]) for qp in qps}
    hdr = np.concatenate([cache.get(c, "hdr") for c in clips])
    return lq, hdr


def _sample(lq: dict[int, np.ndarray], hdr: np.ndarray, inverse: Callable[[np.ndarray], np.ndarray],
            qps: Sequence[int], batch: int, patch: int, rng: np.random.Generator, cache: dict):
    """A batch of random patches at random QPs: (SDR input, its source inverse, HDR target), NCHW float in [0, 1].

    cache (kept by the caller) holds each whole frame's inverse once made (float16, about 0.4 MB a frame): the
    inverse is per pixel, so a patch of it is the inverse of the patch, and each frame is inverted once, not per step.
    """
    n, h, w = hdr.shape[:3]
    xs, ys, invs = [], [], []
    for _ in range(batch):
        k, qp = int(rng.integers(n)), qps[int(rng.integers(len(qps)))]
        y0, x0 = int(rng.integers(0, h - patch + 1)), int(rng.integers(0, w - patch + 1))
        xs.append(lq[qp][k, y0:y0 + patch, x0:x0 + patch])
        ys.append(hdr[k, y0:y0 + patch, x0:x0 + patch])
        if (k, qp) not in cache:
            cache[k, qp] = np.asarray(inverse(lq[qp][k].astype(np.float32) / 255.0), dtype=np.float16)
        invs.append(cache[k, qp][y0:y0 + patch, x0:x0 + patch].astype(np.float32))
    x = np.stack(xs).astype(np.float32) / 255.0
    inv = np.stack(invs)
    xt = torch.from_numpy(x).permute(0, 3, 1, 2)
    it = torch.from_numpy(inv).permute(0, 3, 1, 2)
    yt = torch.from_numpy(np.stack(ys).astype(np.float32) / 65535.0).permute(0, 3, 1, 2)
    return xt, it, yt


def _start_model(curve: str, init: str | Path | None, seed: int) -> torch.nn.Module:
    """informed_<curve>, seeded; with init, those weights loaded (a longer schedule on top of shipped ones)."""
    from sdr2hdr.models import create

    torch.manual_seed(seed)
    model = create(f"informed_{curve}")
    if init:
        from sdr2hdr.models.weights import load_weights

        load_weights(model, init)
    return model


def _log_step(logf: TextIO, curve: str, step: int, steps: int, loss: float, seconds: float, progress: bool) -> None:
    """A log.csv row, and the progress line (step, loss, rate, time left) when asked for."""
    logf.write(f"{step},{loss:.6f},{seconds:.1f}\n")
    logf.flush()
    if progress:
        rate = step / seconds
        print(f"\rinformed_{curve}: step {step}/{steps} L1 {loss:.5f} {rate:.2f} steps/s "
              f"{(steps - step) / rate:.0f} s left", end="", file=sys.stderr, flush=True)


def train_informed(data_dir: str | Path, curve: str, out: str | Path, steps: int = 2500, batch: int = 12,
                   patch: int = 96, lr: float = 5e-4, qps: Sequence[int] = (27, 32, 37, 42, 47), seed: int = 0,
                   resume: bool = False, log: Callable[[str], None] = print, progress: bool = True,
                   init: str | Path | None = None) -> Path:
    """Train the restoration of informed_<curve> on a built set's train split into the folder `out`.

    init: weights of informed_<curve> to start from (ignored when resuming a checkpoint, which holds its own).
    """
    from sdr2hdr.models import count_params
    from sdr2hdr.tonemap.source_inverse import source_inverse

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    lq, hdr = _load(data_dir, curve, qps)
    inverse = source_inverse(curve)
    model = _start_model(curve, init, seed)
    cache: dict = {}
    opt, sched = cosine_adam(model.restore.parameters(), lr, steps)
    rng = np.random.default_rng(seed)
    ckpt = out / "checkpoint.pt"
    step, wall, run = resume_run(ckpt, model, opt, sched, rng, log) if resume and ckpt.exists() else (0, 0.0, None)
    t0 = time.perf_counter() - wall
    logf = open(out / "log.csv", "a" if resume else "w")
    while step < steps:
        xt, it, yt = _sample(lq, hdr, inverse, qps, batch, patch, rng, cache)
        loss = F.l1_loss(model(xt, inv=it), yt)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        step += 1
        run = loss.item() if run is None else 0.98 * run + 0.02 * loss.item()
        if step % 50 == 0 or step == steps:
            _log_step(logf, curve, step, steps, run, time.perf_counter() - t0, progress)
        if step % 250 == 0 or step == steps:
            save_run(ckpt, model, opt, sched, rng, step, time.perf_counter() - t0, run)
    logf.close()
    wall = time.perf_counter() - t0
    n = hdr.shape[0]
    card = {"model": f"informed_{curve}", "params": count_params(model), "steps": steps, "batch": batch,
            "patch": patch, "lr": lr, "wall_seconds": round(wall, 1),
            "initialised_from": Path(init).name if init else None, "data": {"set": Path(data_dir).name,
            "split": "train", "curve": curve, "qps": list(qps), "frames": int(n)},
            "final_l1_pq": None if run is None else round(run, 6)}
    save_run_weights(out, model, card)
    log(f"informed_{curve}: {steps} steps in {wall:.0f} s, L1 {run if run is None else round(run, 5)} on {n} frames")
    return out
