"""Training adaptive_itm on the generator's pool: the estimator sees whole crops, the loss samples pixels.

The global mapping is a function of one pixel, so its loss needs only a sample of each crop's pixels, while the
estimator must see the whole crop (its thumbnail and histograms are what identify the curve). Sampling 4096
pixels of each 128x128 crop makes a step about four times cheaper than mapping every pixel, with the same
gradient in expectation. The local branch, when trained, sees whole crops.

- train_adaptive(pool, out, ...) -> the run folder: weights.safetensors, weights.json (its card), log.csv, checkpoint.pt
  (`resume=True` continues from the checkpoint exactly: model, optimiser, step, random state)
- Leave-one-curve-out: `exclude=("hable",)` drops every sample whose SDR was made by that family.
"""

from __future__ import annotations

import math
import platform
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import TextIO

import numpy as np
import torch
import torch.nn.functional as F
from torch.optim.lr_scheduler import LRScheduler

from sdr2hdr.errors import InputError
from sdr2hdr.models.adaptive_itm import REF_PEAK, REF_WHITE
from sdr2hdr.models.weights import check_fit, save_weights, write_card
from sdr2hdr.train.checkpoint import load_checkpoint, save_checkpoint

__all__ = ["train_adaptive"]


def _batch(sdr: np.ndarray, hdr: np.ndarray, idx: np.ndarray, rng: np.random.Generator):
    x = torch.from_numpy(sdr[idx]).permute(0, 3, 1, 2).float().div_(255.0)
    y = torch.from_numpy(hdr[idx].astype(np.float32)).permute(0, 3, 1, 2).div_(65535.0)
    if rng.random() < 0.5:
        x, y = x.flip(-1), y.flip(-1)
    if rng.random() < 0.5:
        x, y = x.flip(-2), y.flip(-2)
    return x.contiguous(), y.contiguous()


def grade_weights(recs: list[dict], spread: float | None) -> np.ndarray | None:
    """Sampling probabilities favouring the common grading convention, or None for uniform sampling.

    BT.2408 puts HDR reference white at 203 cd/m2 and most HDR10 masters use a 1000 cd/m2 display, so a sample's
    weight falls off as a Gaussian in log2 of its diffuse white over 203 (standard deviation `spread` stops) and
    of its peak over 1000 (twice that), with a floor of 0.1 so that every convention of the pool is still seen.
    """
    if spread is None:
        return None
    w = np.array([math.exp(-0.5 * (math.log2(r["grade"]["diffuse_white"] / 203.0) / spread) ** 2
                           - 0.5 * (math.log2(r["grade"]["peak"] / 1000.0) / (2 * spread)) ** 2) for r in recs])
    w = np.maximum(w, 0.1)
    return w / w.sum()


def cosine_adam(params: Iterable[torch.nn.Parameter], lr: float,
                steps: int) -> tuple[torch.optim.Optimizer, torch.optim.lr_scheduler.LambdaLR]:
    """Adam with a cosine decay of the learning rate to zero over `steps` (train_adaptive, train_informed)."""
    opt = torch.optim.Adam(params, lr=lr)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 0.5 * (1 + math.cos(math.pi * min(s, steps) / steps)))
    return opt, sched


def _start_model(model_name: str, init: str | Path | None, seed: int, grade_input: bool = True) -> torch.nn.Module:
    """The model, seeded; with init, its global path loaded from those weights (only local.* may be new)."""
    from safetensors.torch import load_file

    from sdr2hdr.models import create

    torch.manual_seed(seed)
    model = create(model_name, grade_input=grade_input)
    if init:
        # weights from before the grading-convention input fill it as load_weights does
        state = model.complete_state(load_file(str(init)))
        missing = check_fit(model, state, str(init), partial=True)
        if any(not k.startswith("local.") for k in missing):
            raise InputError(f"{init} does not fit {model_name}: tensor {missing[0]!r} is missing")
        model.load_state_dict(state, strict=False)
    return model


def resume_run(ckpt: Path, model: torch.nn.Module, opt: torch.optim.Optimizer, sched: LRScheduler,
               rng: np.random.Generator, log: Callable[[str], None]) -> tuple[int, float, float | None]:
    """Restore a run from the checkpoint save_run wrote: (step, wall seconds so far, running loss)."""
    state = load_checkpoint(ckpt)
    model.load_state_dict(state["model"])
    opt.load_state_dict(state["opt"])
    sched.load_state_dict(state["sched"])
    rng.bit_generator.state = state["rng"]
    if "torch_rng" in state:  # informed runs' checkpoints held no torch stream before they shared this one
        torch.set_rng_state(state["torch_rng"])
    log(f"resumed at step {state['step']}")
    return state["step"], state["wall"], state.get("loss")


def save_run(ckpt: Path, model: torch.nn.Module, opt: torch.optim.Optimizer, sched: LRScheduler,
             rng: np.random.Generator, step: int, wall: float, loss: float | None) -> None:
    """The checkpoint resume_run reads back: weights, optimiser, schedule, both random streams, step, time, loss."""
    save_checkpoint(ckpt, {"model": model.state_dict(), "opt": opt.state_dict(), "sched": sched.state_dict(),
                           "rng": rng.bit_generator.state, "torch_rng": torch.get_rng_state(), "step": step,
                           "wall": wall, "loss": loss})


def _loss(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, local: bool, rng: np.random.Generator,
          pixels: int, grade: torch.Tensor | None = None) -> torch.Tensor:
    """L1 in PQ: over the whole crop with a local branch, else over `pixels` random pixels of the global curve.

    grade: (N, 2) diffuse white and peak (cd/m2) of each target's grading convention, for a model that takes it.
    """
    prior = model.prior(x, grade=grade)
    if local:
        return F.l1_loss(model(x, prior=prior), y)
    h, w = x.shape[-2:]
    pick = torch.from_numpy(rng.integers(0, h * w, pixels))
    return F.l1_loss(model.global_pq(x.flatten(2)[:, :, pick], prior), y.flatten(2)[:, :, pick])


def _log_step(logf: TextIO, name: str, step: int, steps: int, loss: float, lr: float, seconds: float,
              progress: bool) -> None:
    """A log.csv row, and the progress line (step, loss, rate, time left) when asked for."""
    logf.write(f"{step},{loss:.6f},{lr:.3e},{seconds:.1f}\n")
    logf.flush()
    if progress:
        rate = step / max(seconds, 1e-9)
        print(f"\r{name}: step {step}/{steps} loss {loss:.5f} {rate:.1f} steps/s "
              f"{(steps - step) / max(rate, 1e-9):.0f} s left", end="", file=sys.stderr, flush=True)


def save_run_weights(out: Path, model: torch.nn.Module, card: dict) -> Path:
    """A finished run's weights.safetensors in `out` with its card beside it (train_adaptive, train_informed)."""
    path = save_weights(model, out / "weights.safetensors")
    write_card(path, card)
    return path


def _card(model: torch.nn.Module, model_name: str, pool: str | Path, recs: list[dict], steps: int, batch: int,
          lr: float, pixels: int | None, wall: float, exclude, grade_spread: float | None, run_loss: float | None,
          init: str | Path | None) -> dict:
    from sdr2hdr.models import count_params

    return {"model": model_name, "params": count_params(model), "steps": steps, "batch": batch, "lr": lr,
            "pixels_per_crop": pixels, "wall_seconds": round(wall, 1),
            "machine": f"{platform.machine()} CPU, {torch.get_num_threads()} threads",
            "data": {"pool": Path(pool).name, "recipe": "configs/data/generated.yaml", "samples": len(recs),
                     "families": sorted({r["family"] for r in recs}), "left_out": sorted(exclude),
                     "grade_prior": None if grade_spread is None else
                     f"Gaussian in log2 stops around 203 cd/m2 white (sd {grade_spread}) and 1000 cd/m2 peak "
                     f"(sd {2 * grade_spread}), floor 0.1"},
            "grade_input": getattr(getattr(model, "estimator", None), "grade", None) is not None,
            "final_loss_l1_pq": None if run_loss is None else round(float(run_loss), 6),
            "initialised_from": str(Path(init).name) if init else None}


def _load_pool(pool: str | Path, exclude: Sequence[str], grade_spread: float | None):
    """The pool's pairs less the left-out families: (SDR, HDR, records, sampling probabilities or None, grades).

    grades: (N, 2) float tensor of each sample's diffuse white and peak in cd/m2, the estimator's grade input.
    """
    from sdr2hdr.data.generator import FAMILIES, load_pool

    unknown = [f for f in exclude if f not in FAMILIES]
    if unknown:
        raise InputError(f"cannot leave out {unknown[0]!r}: the generator's families are {', '.join(FAMILIES)}")
    sdr, hdr, recs = load_pool(pool, exclude=tuple(exclude))
    # a record without a grade (a pool made another way) stands for BT.2408's convention, the converter's default
    grades = torch.tensor([[r.get("grade", {}).get("diffuse_white", REF_WHITE),
                            r.get("grade", {}).get("peak", REF_PEAK)] for r in recs], dtype=torch.float32)
    return sdr, hdr, recs, grade_weights(recs, grade_spread), grades


def train_adaptive(pool: str | Path, out: str | Path, model_name: str = "adaptive_itm", steps: int = 3000,
                   batch: int = 32, lr: float = 2e-3, pixels: int = 4096, exclude: Sequence[str] = (), seed: int = 0,
                   resume: bool = False, init: str | Path | None = None, log: Callable[[str], None] = print,
                   progress: bool = True, grade_spread: float | None = None, grade_input: bool = True) -> Path:
    """Train on the pool at `pool` (data.generator.build_pool) into the folder `out`.

    grade_input: the estimator is told each target's grading convention (diffuse white, peak), so it learns to
    make the convention asked for instead of guessing an average of the pool's (False: the earlier model).
    """
    sdr, hdr, recs, probs, grades = _load_pool(pool, exclude, grade_spread)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    model = _start_model(model_name, init, seed, grade_input)
    local = getattr(model, "local", None) is not None
    # the local branch trains on top of a trained global path: only its own weights move
    params = list(model.local.parameters()) if (local and init) else list(model.parameters())
    opt, sched = cosine_adam(params, lr, steps)
    rng = np.random.default_rng(seed)
    ckpt = out / "checkpoint.pt"
    step, wall, run_loss = resume_run(ckpt, model, opt, sched, rng, log) if resume and ckpt.exists() else (0, 0.0, None)
    logf = open(out / "log.csv", "a" if resume else "w")
    if not resume or step == 0:
        logf.write("step,loss,lr,seconds\n")
    model.train()
    t0 = time.perf_counter() - wall
    n = len(sdr)
    while step < steps:
        idx = rng.choice(n, batch, p=probs) if probs is not None else rng.integers(0, n, batch)
        x, y = _batch(sdr, hdr, idx, rng)
        loss = _loss(model, x, y, local, rng, pixels, grades[idx])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        sched.step()
        step += 1
        # run_loss is None until a step is taken (a finished run resumed takes none)
        run_loss = loss.item() if run_loss is None else 0.98 * run_loss + 0.02 * loss.item()
        if step % 50 == 0 or step == steps:
            _log_step(logf, out.name, step, steps, run_loss, sched.get_last_lr()[0], time.perf_counter() - t0,
                      progress)
        if step % 500 == 0 or step == steps:
            save_run(ckpt, model, opt, sched, rng, step, time.perf_counter() - t0, run_loss)
    if progress:
        print(file=sys.stderr)
    logf.close()
    wall = time.perf_counter() - t0
    save_run_weights(out, model, _card(model, model_name, pool, recs, steps, batch, lr, None if local else pixels,
                                       wall, exclude, grade_spread, run_loss, init))
    loss_text = "n/a" if run_loss is None else f"{run_loss:.5f}"
    log(f"{out}: {steps} steps in {wall:.0f} s, L1 {loss_text} on {n} samples "
        f"({', '.join(sorted({r['family'] for r in recs}))})")
    return out
