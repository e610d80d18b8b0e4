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

import hashlib
import json
import os
from collections.abc import Mapping, Sequence
from importlib import resources
from pathlib import Path

from torch import Tensor, nn

from sdr2hdr.errors import InputError


def weights_dir() -> Path:
    """SDR2HDR_WEIGHTS_DIR if set (a folder of one's own weights and cards), else the package's shipped folder."""
    override = os.environ.get("SDR2HDR_WEIGHTS_DIR")
    return Path(override) if override else Path(str(resources.files("sdr2hdr") / "weights"))


def shipped_weights(name: str) -> Path | None:
    """The shipped weights file of a registered name, or None."""
    path = weights_dir() / f"{name}.safetensors"
    return path if path.is_file() else None


def shipped_card(name: str) -> dict | None:
    """The card of the shipped weights of name (what they scored, how they were trained), or None."""
    path = weights_dir() / f"{name}.safetensors"
    return read_card(path) if card_path(path).is_file() else None


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
    check_fit(model, state, f"weights {path.name}")
    model.load_state_dict(state, strict=True)
    return metadata


def check_fit(model: nn.Module, state: Mapping[str, Tensor], source: str, *, partial: bool = False) -> list[str]:
    """Refuse a state dict that does not fit model, naming the first tensor that is wrong.

    Args:
        model: the module the tensors are meant for.
        state: tensor name -> tensor (a state dict, a safetensors file's contents, a checkpoint's "model").
        source: how the error names where the tensors came from ("weights kpnet.safetensors").
        partial: allow tensors of the model that state lacks (a new stage's layers, a sub-network's prefix).

    Returns:
        The model's tensor names that state does not provide, sorted (empty unless partial).

    Raises:
        InputError: "<source> does not fit <Model>: tensor 'x' is missing / has shape ... / unexpected tensor 'x'".

    >>> import torch
    >>> check_fit(nn.Linear(2, 1), {"weight": torch.zeros(1, 2)}, "w", partial=True)
    ['bias']
    >>> check_fit(nn.Linear(2, 1), {"weight": torch.zeros(2, 2), "bias": torch.zeros(1)}, "w")
    Traceback (most recent call last):
    ...
    sdr2hdr.errors.InputError: w does not fit Linear: tensor 'weight' has shape (2, 2), the model needs (1, 2)
    """
    own = model.state_dict()
    name = type(model).__name__
    missing = [k for k in own if k not in state]
    if missing and not partial:
        raise InputError(f"{source} does not fit {name}: tensor {missing[0]!r} is missing")
    for key, tensor in own.items():
        if key in state and tuple(state[key].shape) != tuple(tensor.shape):
            raise InputError(f"{source} does not fit {name}: tensor {key!r} has shape {tuple(state[key].shape)}, "
                             f"the model needs {tuple(tensor.shape)}")
    extra = sorted(set(state) - set(own))
    if extra:
        raise InputError(f"{source} does not fit {name}: unexpected tensor {extra[0]!r}")
    return sorted(missing)


def average_states(states: Sequence[Mapping[str, Tensor]]) -> dict[str, Tensor]:
    """The mean of several state dicts with the same tensors (checkpoint averaging, DIDNet: the last 6).

    Floating-point tensors are averaged in float64 and rounded once to their own type; integer tensors (step
    counters and the like) are taken from the last state.

    Args:
        states: state dicts with the same names and shapes, oldest first.

    Returns:
        The mean state dict.

    >>> import torch
    >>> mean = average_states([{"w": torch.tensor([1.0]), "n": torch.tensor(3)},
    ...                        {"w": torch.tensor([2.0]), "n": torch.tensor(4)}])
    >>> mean["w"].tolist(), int(mean["n"])
    ([1.5], 4)
    """
    if not states:
        raise ValueError("no states to average")
    last = states[-1]
    return {k: (sum(s[k].double() for s in states) / len(states)).to(v.dtype) if v.is_floating_point() else v
            for k, v in last.items()}


def build_model(name: str) -> nn.Module:
    """A registered model with fresh weights; an unknown name is an InputError that lists the registered ones.

    >>> type(build_model("dncnn")).__name__
    'DnCNN'
    """
    from sdr2hdr.models import create, list_models

    if name not in list_models():
        raise InputError(f"unknown model {name!r}; registered: {', '.join(list_models())} (`sdr2hdr models`)")
    return create(name)


def load_model(name: str, weights: str | os.PathLike | None = None) -> tuple[nn.Module, Path]:
    """A registered model with its weights: the file given, else the shipped ones.

    Args:
        name: a registered model name.
        weights: a safetensors file; None takes the shipped weights of ``name``.

    Returns:
        (model, the weights file loaded); the model is in training mode, as torch builds it.

    Raises:
        InputError: an unknown name, no weights shipped and none given, or weights that do not fit.

    >>> model, path = load_model("kpnet")
    >>> path.name, type(model).__name__
    ('kpnet.safetensors', 'KPNet')
    """
    model = build_model(name)
    path = Path(weights) if weights else shipped_weights(name)
    if path is None:
        raise InputError(f"model {name!r} has no shipped weights; pass --weights FILE")
    load_weights(model, path)
    return model, path


def save_weights(model: nn.Module, path: str | os.PathLike, metadata: dict | None = None) -> Path:
    """Save model's state dict as safetensors (contiguous CPU tensors) with string metadata."""
    from safetensors.torch import save_file

    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    meta = {k: v if isinstance(v, str) else json.dumps(v) for k, v in (metadata or {}).items()}
    save_file(state, str(path), metadata=meta)
    return Path(path)


def card_summary(card: dict) -> str:
    """One line on what a trainer's weights card holds: kind, steps, preset, data, the run it continued, validation."""
    data = card.get("data") or {}
    on = "generated pairs" if data.get("source") == "synthetic" else f"data {data.get('root')}"
    init = ((card.get("config") or {}).get("model") or {}).get("init_weights")
    val = card.get("val") or {}
    return (f"{card['kind']} weights after {card['steps']} steps ({card.get('preset') or 'custom'} preset, {on}, "
            f"QP {data.get('qp')}{', initialised from ' + init if init else ''})"
            + (f", validation PSNR {val['psnr_db']:.2f} dB ({val['on']}, QP {val['qp']})"
               if val.get("psnr_db") is not None else ""))


def card_path(weights: str | os.PathLike) -> Path:
    """Where the card of a weights file lives: beside it, same name, .json.

    >>> card_path("runs/kpnet/weights/best.safetensors").as_posix()
    'runs/kpnet/weights/best.json'
    """
    return Path(weights).with_suffix(".json")


def read_card(weights: str | os.PathLike) -> dict:
    """The card beside a weights file; a missing or unreadable card is an InputError naming it."""
    path = card_path(weights)
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise InputError(f"cannot read the card {path}: {exc}") from None


def write_card(weights: str | os.PathLike, card: dict) -> Path:
    """Write card as the JSON beside the weights file (indented, one key a line, values JSON can't hold as text)."""
    path = card_path(weights)
    path.write_text(json.dumps(card, indent=1, default=str) + "\n")
    return path


def file_sha256(path: str | os.PathLike) -> str:
    """SHA-256 of a file's bytes, hex: what a shipped card records of its weights."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def ship(src: str | os.PathLike | None, name: str, card: dict) -> Path:
    """Copy a weights file (None: keep the one shipped) into weights_dir() as <name>.safetensors, card beside it.

    The card gets the file's name and sha256, so a card always names the exact bytes it describes.
    """
    import shutil

    dest = weights_dir() / f"{name}.safetensors"
    dest.parent.mkdir(parents=True, exist_ok=True)
    if src is not None and Path(src).resolve() != dest.resolve():
        shutil.copyfile(src, dest)
    card.update(weights=dest.name, sha256=file_sha256(dest))
    write_card(dest, card)
    return dest


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
