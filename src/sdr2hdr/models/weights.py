"""Weights on disk: the shipped safetensors per registered name, loading with a named refusal on any mismatch.

Shipped weights are versioned like timm's pretrained tags: each training is a file ``<name>.<tag>.safetensors``
with its card ``<name>.<tag>.json`` (what it scored, how it was trained, the file's sha256, checked on load);
one tag per model is its default (``"default_tag": true`` in the card). ``kpnet`` means kpnet's default tag,
``kpnet.cpu_s5000`` that training. A new training gets a new tag and never overwrites an old one in place. A
folder of one's own (SDR2HDR_WEIGHTS_DIR) may also hold untagged ``<name>.safetensors`` files.

Functions
- weights_dir() -> the folder holding shipped weights
- default_model() -> the shipped name `convert` uses when given neither --model nor --method
- split_tag(name) -> (model, tag or None); shipped_tags(model) -> its tags; default_tag(model) -> tag or None
- shipped_weights(name) -> path or None (name with or without a tag)
- shipped_card(name) -> dict (what the weights scored, how they were trained) or None
- verify_shipped(name) -> path, after checking the file's sha256 against its card
- load_weights(model, path): strict; a missing, unexpected or mis-shaped tensor is named in the error
- save_weights(model, path, metadata): safetensors with string metadata
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from importlib import resources
from pathlib import Path

from torch import Tensor, nn

from sdr2hdr.errors import InputError
from sdr2hdr.io.images import file_sha256


def weights_dir() -> Path:
    """SDR2HDR_WEIGHTS_DIR if set (a folder of one's own weights and cards), else the package's shipped folder."""
    override = os.environ.get("SDR2HDR_WEIGHTS_DIR")
    return Path(override) if override else Path(str(resources.files("sdr2hdr") / "weights"))


def split_tag(name: str) -> tuple[str, str | None]:
    """``'kpnet.cpu_s5000'`` -> ``('kpnet', 'cpu_s5000')``; a name without a tag -> ``(name, None)``.

    >>> split_tag("didnet_tiny.cpu_s8000"), split_tag("agcm")
    (('didnet_tiny', 'cpu_s8000'), ('agcm', None))
    """
    model, _, tag = name.partition(".")
    return model, (tag or None)


def _tag_cards(model: str) -> dict[str, dict]:
    folder = weights_dir()
    cards = {}
    for path in sorted(folder.glob(f"{model}.*.json")) if folder.is_dir() else []:
        tag = path.name[len(model) + 1:-len(".json")]
        if "." not in tag and path.with_suffix(".safetensors").is_file():
            cards[tag] = json.loads(path.read_text())
    return cards


def shipped_tags(model: str) -> list[str]:
    """The tags shipped for a model, sorted (empty when it has none)."""
    return sorted(_tag_cards(model))


def default_tag(model: str) -> str | None:
    """The tag ``kpnet`` alone stands for: the card marked default_tag, else the only tag, else None."""
    cards = _tag_cards(model)
    marked = [tag for tag, card in cards.items() if card.get("default_tag")]
    if marked:
        return marked[0]
    return next(iter(cards)) if len(cards) == 1 else None


def shipped_weights(name: str) -> Path | None:
    """The shipped weights file of ``name`` or ``name.tag`` (the default tag when none is given), or None."""
    model, tag = split_tag(name)
    folder = weights_dir()
    if tag is None:
        plain = folder / f"{model}.safetensors"  # a folder of one's own, untagged
        if plain.is_file():
            return plain
        tag = default_tag(model)
        if tag is None:
            return None
    path = folder / f"{model}.{tag}.safetensors"
    return path if path.is_file() else None


def shipped_card(name: str) -> dict | None:
    """The card of the shipped weights of name (what they scored, how they were trained), or None."""
    path = shipped_weights(name)
    return read_card(path) if path is not None and card_path(path).is_file() else None


def verify_shipped(name: str) -> Path:
    """The shipped weights of ``name`` after checking their sha256 against their card (InputError if it differs)."""
    path = shipped_weights(name)
    if path is None:
        model, tag = split_tag(name)
        tags = shipped_tags(model)
        known = f"; shipped tags: {', '.join(tags)}" if tags else ""
        raise InputError(f"model {name!r} has no shipped weights{known}; pass --weights FILE")
    card = shipped_card(name) or {}
    want = card.get("sha256")
    if want is not None and file_sha256(path) != want:
        raise InputError(f"shipped weights {path.name} do not match the sha256 in their card (a damaged or "
                         f"edited file); reinstall sdr2hdr")
    return path


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
    complete = getattr(model, "complete_state", None)
    if complete is not None:  # a model that grew an input since these weights were made says how to fill it
        state = complete(state)
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


def build_model(name: str, **kwargs: object) -> nn.Module:
    """A registered model with fresh weights (kwargs go to its builder: an ablation's switches); an unknown name is an
    InputError that lists the registered ones.

    >>> type(build_model("dncnn")).__name__
    'DnCNN'
    """
    from sdr2hdr.models import create, list_models

    if name not in list_models():
        raise InputError(f"unknown model {name!r}; registered: {', '.join(list_models())} (`sdr2hdr models`)")
    return create(name, **kwargs)


def load_model(name: str, weights: str | os.PathLike | None = None,
               kwargs: Mapping[str, object] | None = None) -> tuple[nn.Module, Path]:
    """A registered model with its weights: the file given, else the shipped ones.

    Args:
        name: a registered model name, optionally with a tag (``kpnet.cpu_s5000``).
        weights: a safetensors file; None takes the shipped weights of ``name`` (sha256 checked).
        kwargs: builder arguments the weights were trained with (model.kwargs of a training config).

    Returns:
        (model, the weights file loaded); the model is in training mode, as torch builds it.

    Raises:
        InputError: an unknown name, no weights shipped and none given, shipped weights whose sha256 is not
        their card's, or weights that do not fit.

    >>> model, path = load_model("kpnet")
    >>> path.name, type(model).__name__
    ('kpnet.cpu_s5000.safetensors', 'KPNet')
    """
    model = build_model(split_tag(name)[0], **(kwargs or {}))
    path = Path(weights) if weights else verify_shipped(name)
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


def ship(src: str | os.PathLike | None, name: str, card: dict, tag: str | None = None,
         make_default: bool = True) -> Path:
    """Copy a weights file into weights_dir() as <name>.<tag>.safetensors, its card beside it.

    ``src`` None re-cards the weights already shipped under that tag. ``tag`` (default: the card's ``tag``, else
    ``s<steps>``) names the training; a different file under an existing tag is refused, so a retraining never
    overwrites shipped weights in place. ``make_default`` marks this tag as the model's default. The card gets
    the file's name, tag and sha256, so a card always names the exact bytes it describes.
    """
    import shutil

    tag = tag or card.get("tag") or f"s{(card.get('training') or card).get('steps', 0)}"
    if "." in tag or "/" in tag:
        raise InputError(f"a tag names a training in one word (letters, digits, _ and -), not {tag!r}")
    dest = weights_dir() / f"{name}.{tag}.safetensors"
    dest.parent.mkdir(parents=True, exist_ok=True)
    if src is not None and Path(src).resolve() != dest.resolve():
        if dest.is_file() and file_sha256(dest) != file_sha256(src):
            raise InputError(f"{dest.name} is already shipped with other weights; give the new training its own "
                             f"tag")
        shutil.copyfile(src, dest)
    elif not dest.is_file():
        raise InputError(f"no shipped weights {dest.name} to re-card")
    if make_default:
        for other, other_card in _tag_cards(name).items():
            if other != tag and other_card.get("default_tag"):
                other_card["default_tag"] = False
                write_card(weights_dir() / f"{name}.{other}.safetensors", other_card)
    card.update(model=name, tag=tag, weights=dest.name, sha256=file_sha256(dest),
                default_tag=make_default or bool(card.get("default_tag")))
    write_card(dest, card)
    return dest


def default_model() -> str | None:
    """The shipped model marked default (best on the benchmark and better than every classical mapping), if any."""
    folder = weights_dir()
    if not folder.is_dir():
        return None
    for path in sorted(folder.glob("*.json")):
        card = json.loads(path.read_text())
        model = card.get("model", "")
        # the model's default training must be the one marked default (an old tag may still say default)
        if card.get("default") and shipped_weights(model) is not None and shipped_card(model) == card:
            return model
    return None
