"""The training loop: stages, loss, Adam and schedule, clipping, validation, checkpoints, exact resume, DDP, exports.

Defines:
    Trainer(cfg, out, ...).run() -> RunResult
    validate_psnr(model, loader, device)   mean PSNR (dB) of clamped PQ outputs against the HDR targets.
    weights_fingerprint(model)             SHA-256 of the weights (DDP ranks must agree bit for bit).

Output folder:
    checkpoints/step_XXXXXXXX.pt   model, optimiser, scheduler, every process's RNG, stage, best so far
    log.csv                        step, stage, epoch, lr, losses, grad norm, speed, validation PSNR
    weights/{last,best,averaged}.safetensors + .json   exported weights and their cards
    summary.json                   the run's outcome (steps, losses, exports, per-rank weight fingerprints)
Only rank 0 writes. A run stopped by --max-steps (or killed) continues with --resume: the next step sees
the same weights, optimiser moments, learning rate, batch and dropout masks as an uninterrupted run.
"""

from __future__ import annotations

import csv
import hashlib
import json
import math
import os
import random
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import torch
from torch import Tensor, nn
from torch.utils.data import Dataset
from tqdm import tqdm

from sdr2hdr.errors import InputError
from sdr2hdr.models.weights import card_summary, check_fit, save_weights, write_card

from . import distributed as D
from .checkpoint import (
    average_state_dicts,
    checkpoint_path,
    list_checkpoints,
    load_checkpoint,
    prune_checkpoints,
    rng_state,
    save_checkpoint,
    set_rng_state,
)
from .config import Config, StageConfig, config_to_dict
from .data import CentreCrop, PatchPairs, ResumableBatchSampler, build_datasets, make_loader, make_val_loader
from .losses import TrainingLoss
from .schedules import build_scheduler

#: config keys a resumed run may change: bookkeeping, not the maths of the run
RESUMABLE_CHANGES = {"description", "train.steps", "train.log_every", "train.ckpt_every", "train.val_every",
                     "train.keep_ckpts", "train.average_last", "train.device", "data.num_workers", "data.root",
                     "data.val_items", "data.val_crop",
                     # a check on the data set, made again whenever the data is loaded; absent from older checkpoints
                     "data.require_intra"}


@dataclass
class RunResult:
    out: Path
    step: int
    stage: str
    losses: list[float] = field(default_factory=list)
    val_psnr: float | None = None
    best: dict | None = None
    exported: dict[str, Path] = field(default_factory=dict)
    fingerprints: list[str] = field(default_factory=list)


def seed_all(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def weights_fingerprint(model: nn.Module) -> str:
    """SHA-256 over every tensor's name and bytes."""
    h = hashlib.sha256()
    for k, v in model.state_dict().items():
        h.update(k.encode())
        h.update(v.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()


@torch.no_grad()
def validate_psnr(model: nn.Module, loader: Iterable[dict[str, Tensor]], device: torch.device) -> float:
    """Mean over items of PSNR (dB, peak 1) between the clamped PQ output and the target.

    Only for choosing the best weights; sdr2hdr.metrics is the reference for reported figures.
    """
    was_training = model.training
    model.eval()
    values = []
    for batch in loader:
        out = model(batch["lq"].to(device)).clamp(0, 1)
        mse = torch.mean((out - batch["hdr"].to(device)) ** 2, dim=(1, 2, 3))
        values.extend((10 * torch.log10(1.0 / mse.clamp_min(1e-12))).tolist())
    model.train(was_training)
    return float(np.mean(values)) if values else float("nan")


class _WithAux(nn.Module):
    """forward = forward_with_aux, so DistributedDataParallel (which hooks forward) sees the training call."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, x: Tensor) -> dict[str, Tensor]:
        return self.model.forward_with_aux(x)


def _flatten(d: dict, prefix: str = "") -> dict:
    out = {}
    for k, v in d.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict) and k not in ("kwargs", "model_kwargs"):
            out.update(_flatten(v, key + "."))
        else:
            out[key] = v
    return out


def load_matching(model: nn.Module, state: dict[str, Tensor], source: str, prefix: str = "") -> list[str]:
    """Load the tensors of state into model (names prefixed), refusing any that do not fit (models.weights.check_fit).

    Returns the model's tensors the state did not provide (new in this stage, or outside the prefix).
    """
    state = {prefix + k: v for k, v in state.items()}
    missing = check_fit(model, state, source, partial=True)
    model.load_state_dict(state, strict=False)
    return missing


class _CsvLog:
    """log.csv, rewritten up to the resumed step so a resumed run's log reads like an uninterrupted one."""

    def __init__(self, path: Path, columns: list[str], resume_step: int | None) -> None:
        self.path, self.columns = path, columns
        rows = []
        if resume_step is not None and path.is_file():
            with path.open(newline="") as f:
                rows = [r for r in csv.DictReader(f) if r.get("step") and int(r["step"]) <= resume_step]
        path.parent.mkdir(parents=True, exist_ok=True)
        self.file = path.open("w", newline="")
        self.writer = csv.DictWriter(self.file, fieldnames=columns, extrasaction="ignore")
        self.writer.writeheader()
        for r in rows:
            self.writer.writerow(r)
        self.file.flush()

    def write(self, row: dict) -> None:
        # repr: the shortest text that reads back as the same float, so equal logs mean equal bits
        self.writer.writerow({k: "" if v is None else repr(v) if isinstance(v, float) else v for k, v in row.items()})
        self.file.flush()

    def close(self) -> None:
        self.file.close()


@dataclass
class _State:
    """What changes as a run goes on: position, the model of the current stage, its optimiser, the best so far."""

    info: D.DistInfo
    step: int
    stage: int
    model: nn.Module
    opt: torch.optim.Optimizer
    sched: torch.optim.lr_scheduler.LRScheduler
    wrapped: nn.Module
    best: dict | None = None
    elapsed0: float = 0.0  # training seconds before this process started (a resumed run)
    grad_norm: float | None = None
    t_start: float = field(default_factory=time.perf_counter)

    def elapsed(self) -> float:
        return self.elapsed0 + time.perf_counter() - self.t_start


class _Meter:
    """Running sums of the loss and its terms between two log rows, and the steps per second over them."""

    def __init__(self, terms: int) -> None:
        self.sums = np.zeros(1 + terms)
        self.count, self.tick = 0, time.perf_counter()

    def add(self, loss: float, terms: list[float]) -> None:
        self.sums += [loss, *terms]
        self.count += 1

    def means(self) -> list[float]:
        return [float(v) for v in self.sums / max(self.count, 1)]

    def rate(self) -> float:
        return round(self.count / max(time.perf_counter() - self.tick, 1e-9), 3)

    def reset(self) -> None:
        self.sums[:] = 0
        self.count, self.tick = 0, time.perf_counter()


class Trainer:
    """One training run of a resolved Config into an output folder.

    train_set / val_set: data sets to use instead of build_datasets(cfg.data) (tests, notebooks); any
    Dataset whose items follow sdr2hdr.train.data's contract works, the loop does not care where they come from.
    """

    def __init__(self, cfg: Config, out: str | Path, *, train_set: Dataset | None = None,
                 val_set: Dataset | None = None, data_root: str | None = None,
                 resume: bool = False, max_steps: int | None = None, ddp: bool = False, progress: bool = True,
                 config_file: str = "", preset: str = "") -> None:
        self.cfg, self.out = cfg, Path(out)
        self.train_set, self.val_set, self.data_root = train_set, val_set, data_root
        self.resume, self.max_steps, self.ddp, self.progress = resume, max_steps, ddp, progress
        self.config_file, self.preset = config_file, preset
        self.stages = cfg.resolved_stages()
        # global step at which each stage ends
        self.bounds = list(np.cumsum([s.steps for s in self.stages]))
        self.loss_fn = TrainingLoss(cfg.loss)

    # ------------------------------------------------------------------------------------------ model pieces

    def _build_model(self, stage: int) -> nn.Module:
        from sdr2hdr.models import create

        kwargs = {**self.cfg.model.kwargs, **self.stages[stage].model_kwargs}
        # a fixed seed per stage: every process builds identical weights, independent of the training RNG stream
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(self.cfg.train.seed + 7919 * stage)
            return create(self.cfg.model.name, **kwargs)

    def _freeze(self, model: nn.Module, stage: StageConfig) -> None:
        unused = set(model.unused_parameters()) if hasattr(model, "unused_parameters") else set()
        for name, p in model.named_parameters():
            trainable = stage.trainable is None or any(name.startswith(pre) for pre in stage.trainable)
            # parameters forward never uses stay frozen: DDP would otherwise wait for their gradients forever
            p.requires_grad_(trainable and name not in unused)

    def _optimizer(self, model: nn.Module, stage: int):
        o = self.cfg.optim
        named = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
        if o.bias_lr_mult != 1.0:
            groups = [{"params": [p for n, p in named if not n.endswith("bias")], "lr": o.lr},
                      {"params": [p for n, p in named if n.endswith("bias")], "lr": o.lr * o.bias_lr_mult}]
            groups = [g for g in groups if g["params"]]
        else:
            groups = [{"params": [p for _, p in named], "lr": o.lr}]
        cls = torch.optim.AdamW if o.name == "adamw" else torch.optim.Adam
        # foreach: one fused call per step instead of a Python loop over tensors (PyTorch enables it on CUDA only)
        opt = cls(groups, lr=o.lr, betas=tuple(o.betas), eps=o.eps, weight_decay=o.weight_decay, foreach=True)
        sched = build_scheduler(opt, self.cfg.schedule, self.stages[stage].steps, o.lr)
        return opt, sched

    def _wrap(self, model: nn.Module, info: D.DistInfo) -> nn.Module:
        module = _WithAux(model)
        if not info.active:
            return module
        from torch.nn.parallel import DistributedDataParallel as DDP

        aux_trained = {a.output for a in self.cfg.loss.aux}
        # an auxiliary head outside the loss gets no gradient; only then pay for DDP's unused-parameter search
        find_unused = bool(set(getattr(model, "aux_outputs", ())) - aux_trained)
        ids = [info.device.index] if info.device.type == "cuda" else None
        return DDP(module, device_ids=ids, find_unused_parameters=find_unused)

    def _init_weights(self, model: nn.Module, log) -> None:
        m = self.cfg.model
        if m.init_weights is None:
            return
        from safetensors.torch import load_file

        path = Path(m.init_weights)
        if not path.is_file():
            raise InputError(f"model.init_weights: no such file {path}")
        missing = load_matching(model, load_file(str(path)), f"model.init_weights {path.name}", m.init_prefix)
        log(f"initialised from {path} ({len(model.state_dict()) - len(missing)} tensors"
            f"{', prefix ' + repr(m.init_prefix) if m.init_prefix else ''})")

    # --------------------------------------------------------------------------------------------- the run

    def run(self) -> RunResult:
        info = D.setup(self.ddp, self.cfg.train.device)
        try:
            return self._run(info)
        finally:
            D.teardown(info)

    def _check_resume_config(self, saved: dict) -> None:
        now, then = _flatten(config_to_dict(self.cfg)), _flatten(saved)
        for key in sorted(set(now) | set(then)):
            if key in RESUMABLE_CHANGES or now.get(key) == then.get(key):
                continue
            raise InputError(f"--resume: the config changed since the checkpoint: {key} was {then.get(key)!r}, "
                             f"now {now.get(key)!r} (use another --out for a new run)")

    def _logger(self, info: D.DistInfo) -> Callable[[str], None]:
        def log(msg: str) -> None:
            if info.is_main and self.progress:
                tqdm.write(msg, file=sys.stderr)

        return log

    def _per_process_batch(self, info: D.DistInfo) -> int:
        t = self.cfg.train
        if t.batch % info.world:
            raise InputError(f"train.batch {t.batch} does not split evenly over {info.world} processes")
        if t.deterministic and info.device.type == "cuda":
            # cuBLAS needs a fixed workspace for reproducible matrix products
            os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
            torch.use_deterministic_algorithms(True)
            torch.backends.cudnn.benchmark = False
        return t.batch // info.world

    def _resume_point(self, info: D.DistInfo) -> dict | None:
        """The checkpoint to continue from (None for a fresh run): rank 0 reads, every rank gets the same one.

        Nodes need not share a disk; an error found on rank 0 is raised on every rank.
        """
        ck, error = None, None
        if info.is_main:
            found = list_checkpoints(self.out / "checkpoints")
            try:
                if self.resume:
                    if not found:
                        raise InputError(f"--resume: no checkpoint in {self.out / 'checkpoints'}")
                    ck = load_checkpoint(found[-1][1])
                    self._check_resume_config(ck["config"])
                elif found:
                    raise InputError(f"{self.out} already holds a run: continue it with --resume, "
                                     "or pick another --out")
            except InputError as exc:
                error = str(exc)
        ck, error = D.broadcast_object(info, (ck, error))
        if error:
            raise InputError(error)
        return ck

    def _start_model(self, info: D.DistInfo, ck: dict | None, stage: int, log: Callable[[str], None]) -> nn.Module:
        model = self._build_model(stage)
        if ck:
            model.load_state_dict(ck["model"])
        elif stage == 0:
            self._init_weights(model, log)
        self._freeze(model, self.stages[stage])
        return model.to(info.device)

    def _loaders(self, info: D.DistInfo, model: nn.Module, per_batch: int, step: int):
        """(train loader, its resumable sampler, validation loader or None) for this process."""
        cfg, t = self.cfg, self.cfg.train
        train_set, val_set = self.train_set, self.val_set
        if train_set is None:
            train_set, val_set = build_datasets(cfg.data, model.scale, model.frames, t.patch, self.data_root,
                                                seed=t.seed, progress=info.is_main and self.progress)
        patches = PatchPairs(train_set, t.patch, model.scale, cfg.data.augment, t.seed)
        sampler = ResumableBatchSampler(patches, per_batch, t.seed, info.rank, info.world, start_step=step)
        loader = make_loader(patches, sampler, cfg.data.num_workers, pin_memory=info.device.type == "cuda")
        val_loader = None
        if val_set is not None and info.is_main:
            val_loader = make_val_loader(CentreCrop(val_set, cfg.data.val_crop, model.scale, cfg.data.val_items))
        return loader, sampler, val_loader

    def _restore_optimiser(self, st: _State, ck: dict | None, log: Callable[[str], None]) -> None:
        """Optimiser, schedule and random streams as the checkpoint left them (or freshly seeded)."""
        t, info = self.cfg.train, st.info
        if not ck:
            seed_all(t.seed + 1 + info.rank)
            return
        st.opt.load_state_dict(ck["optimizer"])
        st.sched.load_state_dict(ck["scheduler"])
        states = ck["rng"]
        if len(states) == info.world:
            set_rng_state(states[info.rank])
            return
        # another process count shares the samples out differently: weights, optimiser and schedule
        # carry over, the exact sequence of batches and dropout masks cannot
        log(f"resuming on {info.world} processes from a {len(states)}-process checkpoint: "
            "not bit-exact (samples and random streams are shared out differently)")
        seed_all(t.seed + 1 + info.rank + 104729 * st.step)

    def _run(self, info: D.DistInfo) -> RunResult:
        cfg, t = self.cfg, self.cfg.train
        log = self._logger(info)
        per_batch = self._per_process_batch(info)
        ck = self._resume_point(info)
        step, stage = (ck["step"], ck["stage"]) if ck else (0, 0)
        model = self._start_model(info, ck, stage, log)
        loader, sampler, val_loader = self._loaders(info, model, per_batch, step)
        opt, sched = self._optimizer(model, stage)
        st = _State(info, step, stage, model, opt, sched, self._wrap(model, info),
                    best=ck.get("best") if ck else None, elapsed0=ck.get("elapsed", 0.0) if ck else 0.0)
        self._restore_optimiser(st, ck, log)
        end = t.steps if self.max_steps is None else min(t.steps, self.max_steps)
        columns = ["step", "stage", "epoch", "lr", "loss", *(f"loss_{n}" for n in self.loss_fn.term_names),
                   "grad_norm", "steps_per_s", "elapsed_s", "val_psnr"]
        csv_log = _CsvLog(self.out / "log.csv", columns, step if ck else None) if info.is_main else None
        from sdr2hdr.models import count_params

        log(f"training {cfg.model.name} ({count_params(model):,} parameters) on {info.device}"
            f"{f' x {info.world} processes' if info.active else ''}: steps {step} -> {end} of {t.steps}, "
            f"batch {t.batch} ({per_batch} per process), patch {t.patch}, stage {self.stages[stage].name}; "
            f"output {self.out}")
        result = RunResult(out=self.out, step=step, stage=self.stages[stage].name, best=st.best)
        bar = tqdm(total=end, initial=step, unit="step", dynamic_ncols=True, file=sys.stderr,
                   disable=not (info.is_main and self.progress), desc=cfg.model.name)
        try:
            self._loop(st, iter(loader), sampler, val_loader, csv_log, end, result, bar, log)
        finally:
            bar.close()
            if csv_log is not None:
                csv_log.close()
        return self._finish(st, result, log)

    def _loop(self, st: _State, batches, sampler: ResumableBatchSampler, val_loader, csv_log: _CsvLog | None,
              end: int, result: RunResult, bar: tqdm, log: Callable[[str], None]) -> None:
        """Steps until `end`: stage changes, one optimiser step, then logging, validation and checkpoints as due."""
        t = self.cfg.train
        meter = _Meter(len(self.loss_fn.term_names))
        while st.step < end:
            if st.step == self.bounds[st.stage] and st.stage + 1 < len(self.stages):
                self._next_stage(st, log)
                result.stage = self.stages[st.stage].name
            value, parts, lr = self._train_step(st, next(batches))
            meter.add(value, [parts[n].item() for n in self.loss_fn.term_names])
            bar.update(1)
            row = None
            if st.step % t.log_every == 0 or st.step == end:
                row = self._log_row(st, meter, sampler, lr)
                result.losses.append(row["loss"])
                bar.set_postfix(loss=f"{row['loss']:.4g}", lr=f"{lr:.3g}", refresh=False)
            if val_loader is not None and (st.step % t.val_every == 0 or st.step == end):
                row = row or {"step": st.step, "stage": self.stages[st.stage].name}
                row["val_psnr"] = result.val_psnr = self._validate(st, val_loader, log)
            if row is not None and csv_log is not None:
                csv_log.write(row)
            if st.step % t.ckpt_every == 0 or st.step == end or st.step == self.bounds[st.stage]:
                self._save(st)

    def _next_stage(self, st: _State, log: Callable[[str], None]) -> None:
        """Rebuild the model for the next stage (e.g. with modulation), carry the weights over, fresh optimiser."""
        state = {k: v.cpu() for k, v in st.model.state_dict().items()}
        st.stage += 1
        st.model = self._build_model(st.stage)
        new = load_matching(st.model, state, f"stage {self.stages[st.stage - 1].name} weights")
        log(f"stage {self.stages[st.stage].name}: {len(new)} new tensors")
        self._freeze(st.model, self.stages[st.stage])
        st.model.to(st.info.device)
        st.opt, st.sched = self._optimizer(st.model, st.stage)
        st.wrapped = self._wrap(st.model, st.info)

    def _train_step(self, st: _State, batch: dict[str, Tensor]) -> tuple[float, dict[str, Tensor], float]:
        """One optimiser step on a batch: (loss, its terms, the learning rate the step used)."""
        batch = {k: v.to(st.info.device, non_blocking=True) for k, v in batch.items()}
        st.wrapped.train()
        loss, parts = self.loss_fn(st.wrapped(batch["lq"]), batch)
        value = loss.item()
        if not math.isfinite(value):
            raise RuntimeError(f"loss is {value} at step {st.step + 1} (stage {self.stages[st.stage].name}); "
                               f"lower optim.lr or set optim.grad_clip; the last checkpoint is intact")
        st.opt.zero_grad(set_to_none=True)
        loss.backward()
        params = [p for p in st.model.parameters() if p.requires_grad]
        clip = self.cfg.optim.grad_clip
        # without clipping the norm is only measured when a log row needs it
        st.grad_norm = float(torch.nn.utils.clip_grad_norm_(params, clip)) if clip is not None else None
        lr = st.opt.param_groups[0]["lr"]
        st.opt.step()
        st.sched.step()
        st.step += 1
        return value, parts, lr

    def _log_row(self, st: _State, meter: _Meter, sampler: ResumableBatchSampler, lr: float) -> dict:
        """The log.csv row of this step: losses averaged since the last row over every process, speed, norm."""
        if st.grad_norm is None:
            grads = [p.grad for p in st.model.parameters() if p.requires_grad and p.grad is not None]
            st.grad_norm = float(torch.nn.utils.get_total_norm(grads))
        means = D.all_mean(st.info, meter.means())
        terms = self.loss_fn.term_names
        row = {"step": st.step, "stage": self.stages[st.stage].name, "epoch": sampler.epoch_of(st.step - 1),
               "lr": lr, "loss": means[0], **{f"loss_{n}": m for n, m in zip(terms, means[1:])},
               "grad_norm": st.grad_norm, "steps_per_s": meter.rate(), "elapsed_s": round(st.elapsed(), 2)}
        meter.reset()
        return row

    def _validate(self, st: _State, val_loader, log: Callable[[str], None]) -> float:
        """Validation PSNR now; a new best is exported at once as weights/best."""
        psnr = validate_psnr(st.model, val_loader, st.info.device)
        if st.best is None or psnr > st.best["val_psnr"]:
            st.best = {"val_psnr": psnr, "step": st.step, "stage": self.stages[st.stage].name}
            self._export(st.model, "best", st.step, st.best, st.info, st.elapsed())
            log(f"step {st.step}: validation PSNR {psnr:.3f} dB (best)")
        return psnr

    def _save(self, st: _State) -> None:
        """A checkpoint for exact resume (every rank's RNG gathered; rank 0 writes), old ones pruned."""
        t = self.cfg.train
        rngs = D.gather_objects(st.info, rng_state())
        if not st.info.is_main:
            return
        ckpt_dir = self.out / "checkpoints"
        save_checkpoint(checkpoint_path(ckpt_dir, st.step), {
            "format": 1, "step": st.step, "stage": st.stage, "model": st.model.state_dict(),
            "optimizer": st.opt.state_dict(), "scheduler": st.sched.state_dict(), "rng": rngs,
            "best": st.best, "config": config_to_dict(self.cfg), "world": st.info.world, "elapsed": st.elapsed()})
        prune_checkpoints(ckpt_dir, max(t.keep_ckpts, t.average_last))

    def _finish(self, st: _State, result: RunResult, log: Callable[[str], None]) -> RunResult:
        """Exports (last, averaged, best), per-rank weight fingerprints and summary.json."""
        t, info = self.cfg.train, st.info
        result.step, result.best = st.step, st.best
        D.broadcast_buffers(info, st.model)
        elapsed = st.elapsed()
        if info.is_main:
            result.exported["last"] = self._export(st.model, "last", st.step, st.best, info, elapsed,
                                                   val=result.val_psnr)
            if t.average_last > 0:
                result.exported.update(self._export_average(st.model, st.stage, st.step, st.best, info, elapsed))
            if st.best is not None:
                result.exported["best"] = self.out / "weights" / "best.safetensors"
        result.fingerprints = D.gather_objects(info, weights_fingerprint(st.model))
        if info.is_main:
            summary = {"model": self.cfg.model.name, "preset": self.preset, "config_file": self.config_file,
                       "step": st.step, "steps": t.steps, "stage": result.stage, "world_size": info.world,
                       "device": str(info.device), "elapsed_s": round(elapsed, 2),
                       "last_loss": result.losses[-1] if result.losses else None, "val_psnr": result.val_psnr,
                       "best": st.best, "exported": {k: str(v) for k, v in result.exported.items()},
                       "weights_identical_across_ranks": len(set(result.fingerprints)) == 1,
                       "fingerprints": result.fingerprints}
            (self.out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
            log(f"done: step {st.step}, last loss {summary['last_loss']}, weights in {self.out / 'weights'}")
        D.barrier(info)
        return result

    # ---------------------------------------------------------------------------------------------- exports

    def _card(self, kind: str, model: nn.Module, step: int, best: dict | None, info: D.DistInfo, elapsed: float,
              val: float | None, extra: dict | None = None) -> dict:
        from sdr2hdr.models import count_params, get_summary

        cfg = self.cfg
        d = cfg.data
        val_on = ("generated pairs" if d.source == "synthetic" else f"split {d.val_split!r}" if d.val_split
                  else f"{d.val_sources} held-out training sources")
        card = {
            "name": cfg.model.name,
            "kind": kind,
            "summary": "",  # filled from the fields below, as card_summary reads any card
            "steps": step,
            "params": count_params(model),
            "val": {"psnr_db": val, "on": val_on, "qp": cfg.data.val_qp,
                    "items": cfg.data.val_items, "crop": cfg.data.val_crop},
            "best": best,
            "data": {"source": cfg.data.source, "root": self.data_root or cfg.data.root, "qp": cfg.data.qp},
            "preset": self.preset,
            "config_file": self.config_file,
            "paper_recipe": get_summary(cfg.model.name).paper_recipe,
            "train_seconds": round(elapsed, 1),
            "world_size": info.world,
            "device": str(info.device),
            "torch": torch.__version__,
            "created": datetime.now(UTC).isoformat(timespec="seconds"),
            "config": config_to_dict(cfg),
        }
        card.update(extra or {})
        card["summary"] = card_summary(card)
        return card

    def _write_weights(self, model_or_state, kind: str, card: dict, stage: int = 0) -> Path:
        folder = self.out / "weights"
        folder.mkdir(parents=True, exist_ok=True)
        model = model_or_state
        if isinstance(model_or_state, dict):
            model = self._build_model(stage)
            model.load_state_dict(model_or_state)
        meta = {"model": card["name"], "kind": kind, "steps": str(card["steps"]), "preset": card["preset"],
                "val": card["val"], "config": card["config"]}
        path = save_weights(model, folder / f"{kind}.safetensors", meta)
        card["weights"] = path.name
        write_card(path, card)
        return path

    def _export(self, model: nn.Module, kind: str, step: int, best: dict | None, info: D.DistInfo, elapsed: float,
                val: float | None = None) -> Path:
        if kind == "best":
            val = best["val_psnr"]
        return self._write_weights(model, kind, self._card(kind, model, step, best, info, elapsed, val))

    def _export_average(self, model: nn.Module, stage: int, step: int, best, info, elapsed) -> dict[str, Path]:
        """averaged.safetensors: mean of the last average_last checkpoints of the current stage."""
        k = self.cfg.train.average_last
        final = self.stages[stage].name
        ckpts = []
        for s, p in reversed(list_checkpoints(self.out / "checkpoints")):
            if len(ckpts) == k:
                break
            if s > step:
                continue
            stage_idx = int(np.searchsorted(self.bounds, s, side="left"))
            if self.stages[min(stage_idx, len(self.stages) - 1)].name != final:
                break
            ckpts.append((s, p))
        if not ckpts:
            return {}
        state = average_state_dicts([p for _, p in reversed(ckpts)])
        card = self._card("averaged", model, step, best, info, elapsed, None,
                          {"averaged_steps": sorted(s for s, _ in ckpts)})
        if len(ckpts) < k:
            card["summary"] += f"; only {len(ckpts)} of the {k} checkpoints asked for existed"
        return {"averaged": self._write_weights(state, "averaged", card, stage)}
