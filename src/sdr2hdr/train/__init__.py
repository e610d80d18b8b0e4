"""Training: typed configs with presets, the loop (losses, schedules, checkpoints, exact resume, DDP), exports.

Public surface: load_config(path, preset, overrides), Config, Trainer(cfg, out, ...).run(), the `train`
command (commands.register), average_state_dicts(paths) for multi-checkpoint averaging.
"""

from .checkpoint import average_state_dicts
from .config import Config, load_config
from .trainer import RunResult, Trainer

__all__ = ["Config", "RunResult", "Trainer", "average_state_dicts", "load_config"]
