"""Learning-rate schedules as pure functions of the step, so a resumed run lands on exactly the same rate.

Defines:
    lr_factor(cfg, step, total)   multiplier of the base rate after `step` optimiser steps of a stage of `total`.
    build_scheduler(optimizer, cfg, total)   a LambdaLR over lr_factor (its state is the step count alone).

Kinds: constant; multistep (x gamma at each milestone: KPNet 200k/300k/400k/500k, HDRTVNet and HDRUNet
200k/400k/600k/800k); step_after (x gamma at `start`, then every `every` steps: DIDNet halves every 60k after
100k); cosine (from the base rate to min_lr over the stage, closed form rather than torch's recursive
CosineAnnealingLR, whose rounding drifts). An optional linear warm-up scales the first `warmup` steps.
"""

from __future__ import annotations

import math

from torch.optim import Optimizer
from torch.optim.lr_scheduler import LambdaLR

from .config import ScheduleConfig


def lr_factor(cfg: ScheduleConfig, step: int, total: int, base_lr: float) -> float:
    """Multiplier of base_lr for the update after `step` updates of a stage lasting `total` steps."""
    if cfg.kind == "constant":
        factor = 1.0
    elif cfg.kind == "multistep":
        factor = cfg.gamma ** sum(step >= m for m in cfg.milestones)
    elif cfg.kind == "step_after":
        factor = 1.0 if step < cfg.start else cfg.gamma ** (1 + (step - cfg.start) // cfg.every)
    elif cfg.kind == "cosine":
        floor = cfg.min_lr / base_lr
        t = min(step, total) / max(total, 1)
        factor = floor + (1.0 - floor) * 0.5 * (1.0 + math.cos(math.pi * t))
    else:
        raise ValueError(f"unknown schedule {cfg.kind!r}")
    if cfg.warmup and step < cfg.warmup:
        factor *= (step + 1) / cfg.warmup
    return factor


def build_scheduler(optimizer: Optimizer, cfg: ScheduleConfig, total: int, base_lr: float) -> LambdaLR:
    """LambdaLR applying lr_factor to every parameter group (groups keep their own base rates)."""
    return LambdaLR(optimizer, lambda step: lr_factor(cfg, step, total, base_lr))
