"""Weights on disk: the shipped safetensors per registered name, loading with a named refusal on any mismatch.

Functions
- weights_dir() -> the folder holding shipped weights (<name>.safetensors beside <name>.json, its card)
- default_model() -> the shipped name `convert` uses when given neither --model nor --method
- shipped_weights(name) -> path or None
- shipped_card(name) -> dict (what the weights scored, how they were trained) or None
- load_weights(model, path): strict; a missing, unexpected or mis-shaped tensor is named in the error
- save_weights(model, path, metadata): safetensors with string metadata
"""

from __future__ import annotations

import json
import os
from importlib import resources
from pathlib import Path

from torch import nn

from sdr2hdr.errors import InputError


def weights_dir() -> Path:
    """SDR2HDR_WEIGHTS_DIR if set (a folder of one's own weights and cards), else the package's shipped folder."""
    override = os.environ.get("SDR2HDR_WEIGHTS_DIR")
    return Path(override) if override else Path(str(resources.files("sdr2hdr") / "weights"))


def shipped_weights(name: str) -> Path | None:
    path = weights_dir() / f"{name}.safetensors"
    return path if path.is_file() else None


def shipped_card(name: str) -> dict | None:
    path = weights_dir() / f"{name}.json"
    return json.loads(path.read_text()) if path.is_file() else None


def load_weights(model: nn.Module, path: str | os.PathLike) -> dict:
    """Load a safetensors file into model, refusing any mismatch by tensor name; returns the file's metadata."""
    from safetensors import safe_open
    from safetensors.torch import load_file

    path = Path(path)
    if not path.is_file():
        raise InputError(f"no such weights file: {path}")
    try:
        state = load_file(str(path))
        with safe_open(str(path), framework="pt") as f:
            metadata = dict(f.metadata() or {})
    except Exception as exc:  # noqa: BLE001 - safetensors raises several types for a bad file
        raise InputError(f"cannot read weights {path}: {exc}") from None
    own = model.state_dict()
    name = type(model).__name__
    for key, tensor in own.items():
        if key not in state:
            raise InputError(f"weights {path.name} do not fit {name}: tensor {key!r} is missing")
        if tuple(state[key].shape) != tuple(tensor.shape):
            raise InputError(f"weights {path.name} do not fit {name}: tensor {key!r} has shape "
                             f"{tuple(state[key].shape)}, the model needs {tuple(tensor.shape)}")
    extra = sorted(set(state) - set(own))
    if extra:
        raise InputError(f"weights {path.name} do not fit {name}: unexpected tensor {extra[0]!r}")
    model.load_state_dict(state, strict=True)
    return metadata


def save_weights(model: nn.Module, path: str | os.PathLike, metadata: dict | None = None) -> Path:
    """Save model's state dict as safetensors (contiguous CPU tensors) with string metadata."""
    from safetensors.torch import save_file

    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    meta = {k: v if isinstance(v, str) else json.dumps(v) for k, v in (metadata or {}).items()}
    save_file(state, str(path), metadata=meta)
    return Path(path)


def default_model() -> str | None:
    """The shipped model marked default (best on the benchmark and better than every classical mapping), if any."""
    folder = weights_dir()
    if not folder.is_dir():
        return None
    for card_path in sorted(folder.glob("*.json")):
        card = json.loads(card_path.read_text())
        if card.get("default") and shipped_weights(card.get("model", "")) is not None:
            return card["model"]
    return None
