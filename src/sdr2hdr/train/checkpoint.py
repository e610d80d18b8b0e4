"""Checkpoints for exact resume (model, optimiser, scheduler, every process's RNG) and averaging of the last K.

Defines:
    rng_state() / set_rng_state(state)     Python, NumPy, torch (and CUDA) generator states of this process.
    save_checkpoint(path, state)           atomic torch.save (a crash mid-write never leaves a torn file).
    load_checkpoint(path)                  the dict back.
    checkpoint_path(folder, step)          folder/step_00001000.pt
    list_checkpoints(folder)               [(step, path)] oldest first.
    prune_checkpoints(folder, keep)        delete all but the newest `keep`.
    average_state_dicts(paths)             mean of the model weights of several checkpoints (DIDNet: last 6).
"""

from __future__ import annotations

import os
import random
import re
from pathlib import Path
from typing import Any

import numpy as np
import torch

from sdr2hdr.errors import InputError
from sdr2hdr.io.atomic import write_atomic
from sdr2hdr.models.weights import average_states

_NAME = re.compile(r"step_(\d+)\.pt$")


def rng_state() -> dict:
    """Every generator a training step may draw from in this process."""
    kind, keys, pos, has_gauss, gauss = np.random.get_state()
    # NumPy's key array travels as a tensor: the file then holds only what torch.load(weights_only=True) reads
    state = {"python": random.getstate(), "numpy": (kind, torch.from_numpy(keys.astype(np.int64)), int(pos),
                                                     int(has_gauss), float(gauss)),
             "torch": torch.get_rng_state()}
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict) -> None:
    random.setstate(state["python"])
    kind, keys, pos, has_gauss, gauss = state["numpy"]
    np.random.set_state((kind, np.asarray(keys, dtype=np.int64).astype(np.uint32), pos, has_gauss, gauss))
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def checkpoint_path(folder: str | os.PathLike, step: int) -> Path:
    return Path(folder) / f"step_{step:08d}.pt"


def save_checkpoint(path: str | os.PathLike, state: dict) -> Path:
    """torch.save to a temporary name, then rename: the newest checkpoint is always complete."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    return write_atomic(path, lambda tmp: torch.save(state, tmp))


def _numpy_array_globals() -> list:
    """What unpickling a NumPy array needs (older checkpoints hold NumPy RNG states): array and dtype
    reconstruction, none of which can run code."""
    core = getattr(np, "_core", None) or np.core
    return [np.ndarray, np.dtype, core.multiarray._reconstruct, type(np.dtype(np.uint32))]


def safe_torch_load(path: str | os.PathLike, map_location: str | torch.device = "cpu") -> Any:
    """torch.load with weights_only=True (tensors, containers, numbers, NumPy arrays); never runs pickled code."""
    with torch.serialization.safe_globals(_numpy_array_globals()):
        return torch.load(path, map_location=map_location, weights_only=True)


def load_checkpoint(path: str | os.PathLike, map_location: str | torch.device = "cpu") -> dict:
    """A checkpoint written by save_checkpoint, read with weights_only=True: a file that would run code when
    unpickled is refused, never executed."""
    path = Path(path)
    try:
        return safe_torch_load(path, map_location)
    except Exception as exc:  # noqa: BLE001 - a truncated or foreign file raises several types
        raise InputError(f"cannot read checkpoint {path}: {exc}") from None


def list_checkpoints(folder: str | os.PathLike) -> list[tuple[int, Path]]:
    """(step, path) of every checkpoint in folder, oldest first."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    found = []
    for p in folder.iterdir():
        m = _NAME.fullmatch(p.name)
        if m:
            found.append((int(m.group(1)), p))
    return sorted(found)


def prune_checkpoints(folder: str | os.PathLike, keep: int) -> None:
    """Delete all but the newest `keep` checkpoints."""
    for _, p in list_checkpoints(folder)[:-keep] if keep > 0 else []:
        p.unlink(missing_ok=True)


def average_state_dicts(paths: list[Path]) -> dict[str, torch.Tensor]:
    """Mean of the "model" weights of the checkpoints at paths (models.weights.average_states does the maths)."""
    if not paths:
        raise ValueError("no checkpoints to average")
    states = []
    for p in paths:
        state = load_checkpoint(p)["model"]
        if states and set(state) != set(states[0]):
            raise InputError(f"cannot average {p.name}: its tensors differ from the first checkpoint's "
                             "(a checkpoint from another stage or model)")
        states.append(state)
    return average_states(states)
