"""Training: typed configs with presets, the loop (losses, schedules, checkpoints, exact resume, DDP), exports.

Public surface: load_config(path, preset, overrides), Config, Trainer(cfg, out, ...).run(), the `train`
command (commands.register), average_state_dicts(paths) for multi-checkpoint averaging. The names are imported on
first use, so the CLI can register `train.commands` without loading torch.
"""

from importlib import import_module

_WHERE = {"average_state_dicts": "checkpoint", "Config": "config", "load_config": "config",
          "RunResult": "trainer", "Trainer": "trainer"}

__all__ = ["Config", "RunResult", "Trainer", "average_state_dicts", "load_config"]


def __getattr__(name: str) -> object:
    # PEP 562: the module that defines the name is imported when the name is first asked for
    if name in _WHERE:
        return getattr(import_module(f"sdr2hdr.train.{_WHERE[name]}"), name)
    raise AttributeError(f"module 'sdr2hdr.train' has no attribute {name!r}")
