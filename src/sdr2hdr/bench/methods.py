"""The methods a benchmark compares: classical inverse mappings and registered models with their weights, timed.

Classes and functions
- Method: a name, a kind (classical / model), parameter count, input scale and window length, and
  run(clip_frames, index) -> (PQ R'G'B' frame, seconds) for one evaluated frame of a clip
- classical_method(name, peak_nits) -> Method for bt2408 / bt2446a / bt2446c
- bicubic_method(name, scale, peak_nits) -> "bicubic + X": the SR-ITM papers' baseline at x2 / x4
- model_method(name, weights, average, device, precision, tile, peak_nits) -> Method for a registered model
- checkpoint_methods(name, ckpt_dir, last, ...) -> one Method per checkpoint, grouped (DIDNet's protocol: each of
  the last 6 checkpoints scored, the table reporting the mean score)
- average_checkpoints(model, ckpt_dir, k) -> the files averaged (our variant: one model with the mean weights)
- last_checkpoints(ckpt_dir, k) -> the newest k checkpoint files of a folder or of a run's checkpoints/
- is_classical(name)

Multi-frame models see a window of T clip frames centred on the evaluated frame, the clip's first and last frames
repeated beyond its ends; SR models are given the LQ frames at their own scale. Timing covers the mapping call only
(tensor transfer, forward pass, clamp), not reading frames or scoring them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from torch import nn

import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from sdr2hdr.errors import InputError
from sdr2hdr.models.weights import average_states, build_model, check_fit, load_model


@dataclass
class Method:
    """Something that turns LQ SDR frames into PQ HDR frames, with what the tables print about it."""

    name: str
    kind: str  # "classical" or "model"
    label: str
    params: int | None
    scale: int
    frames: int
    note: str
    _fn: Callable[[list[np.ndarray], int], np.ndarray]
    #: methods sharing a group are one row of the tables: the mean of their scores, with the spread
    group: str | None = None

    def run(self, clip_frames: list[np.ndarray], index: int) -> tuple[np.ndarray, float]:
        """PQ R'G'B' HWC float32 for frame `index` of the clip, and the seconds the mapping took."""
        t0 = time.perf_counter()
        out = self._fn(clip_frames, index)
        return out, time.perf_counter() - t0


def is_classical(name: str) -> bool:
    from sdr2hdr.tonemap import INVERSE_MAPPINGS

    return name in INVERSE_MAPPINGS


CLASSICAL_LABELS = {"bt2408": "BT.2408 direct", "bt2446a": "BT.2446 A inverse", "bt2446c": "BT.2446 C inverse"}


def classical_method(name: str, peak_nits: float = 1000.0) -> Method:
    """A classical mapping; its label names the HDR level SDR white lands on (the anchor every figure needs)."""
    from sdr2hdr.engine.convert import classical_mapper
    from sdr2hdr.tonemap import SDR_WHITE_ANCHOR

    mapper = classical_mapper(name, peak_nits)
    anchor = SDR_WHITE_ANCHOR[name]
    label = f"{CLASSICAL_LABELS.get(name, name)} (white {anchor:.0f} cd/m2)"
    note = f"{name}: classical, SDR 100% -> {anchor:.1f} cd/m2, clipped at {peak_nits:g} cd/m2"
    return Method(name, "classical", label, None, 1, 1, note, lambda frames, i: mapper(frames[i]))


def bicubic_method(name: str, scale: int, peak_nits: float = 1000.0) -> Method:
    """Bicubic up-scaling by `scale` (MATLAB imresize, Keys a = -0.5), then the classical mapping `name`.

    The SR-ITM papers' baseline rows ("bicubic + ITM"); the up-scaling runs on the SDR code values, as the papers'
    bicubic did, and its time counts in ms/frame.
    """
    from sdr2hdr.data.resize import imresize

    base = classical_method(name, peak_nits)

    def run(frames: list[np.ndarray], i: int) -> np.ndarray:
        # the kernel's negative lobes overshoot at edges: SDR code values stay in [0, 1]
        up = np.clip(imresize(frames[i], scale=scale), 0.0, 1.0)
        return base.run([up], 0)[0]

    return Method(f"bicubic+{name}", "classical", f"Bicubic x{scale} + {base.label}", None, scale, 1,
                  f"bicubic+{name}: MATLAB-style bicubic x{scale} (a = -0.5), then " + base.note, run)


def _checkpoint_files(ckpt_dir: Path) -> list[Path]:
    """Checkpoints in training order: by the last number in the name (step or epoch), else by modification time."""
    files = [p for p in ckpt_dir.iterdir() if p.is_file() and p.suffix in (".safetensors", ".pt", ".pth", ".ckpt")]
    numbered = [(int(re.findall(r"\d+", p.stem)[-1]), p) for p in files if re.search(r"\d+", p.stem)]
    if numbered:
        return [p for _, p in sorted(numbered)]
    return sorted(files, key=lambda p: p.stat().st_mtime)


def _state_dict(path: Path) -> dict:
    """The model tensors of a checkpoint file: safetensors, or a torch file with the state under a usual key."""
    import torch

    from sdr2hdr.train.checkpoint import safe_torch_load

    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        return load_file(str(path))
    try:
        # never weights_only=False: a user-supplied folder must not be able to run pickled code
        obj = safe_torch_load(path)
    except Exception as exc:  # noqa: BLE001 - a truncated, foreign or code-carrying file raises several types
        raise InputError(f"cannot read checkpoint {path}: it is not a plain tensor file "
                         f"({str(exc).splitlines()[0][:200]}); give .safetensors weights instead") from None
    if isinstance(obj, dict):
        for key in ("model", "state_dict", "model_state", "model_state_dict", "weights"):
            if isinstance(obj.get(key), dict):
                obj = obj[key]
                break
    if not isinstance(obj, dict) or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        raise InputError(f"{path} holds no model state dict (looked under model / state_dict / model_state)")
    # a DistributedDataParallel checkpoint prefixes every name with "module."
    return {k.removeprefix("module."): v for k, v in obj.items()}


def last_checkpoints(ckpt_dir: str | Path, k: int) -> list[Path]:
    """The newest k checkpoint files of ckpt_dir (or of its checkpoints/ folder: a training run's folder), oldest
    first; InputError when there are fewer."""
    ckpt_dir = Path(ckpt_dir)
    if not ckpt_dir.is_dir():
        raise InputError(f"no such checkpoint directory: {ckpt_dir}")
    if k < 1:
        raise InputError(f"the number of checkpoints must be 1 or more, got {k}")
    files = _checkpoint_files(ckpt_dir)
    if not files and (ckpt_dir / "checkpoints").is_dir():  # a training run's folder was given
        files = _checkpoint_files(ckpt_dir / "checkpoints")
    if len(files) < k:
        raise InputError(f"{ckpt_dir} has {len(files)} checkpoints, fewer than the {k} asked for")
    return files[-k:]


def average_checkpoints(model: nn.Module, ckpt_dir: str | Path, k: int) -> list[Path]:
    """Load into model the mean of the last k checkpoints in ckpt_dir (integer buffers taken from the last)."""
    files = last_checkpoints(ckpt_dir, k)
    states = [_state_dict(p) for p in files]
    for path, state in zip(files, states):
        check_fit(model, state, f"checkpoint {path.name}")
    mean = average_states(states)
    model.load_state_dict(mean, strict=True)
    return files


def model_method(name: str, weights: str | Path | None = None, average: tuple[int, str | Path] | None = None,
                 device: str = "cpu", precision: str = "fp32", tile: int | None = 512,
                 peak_nits: float = 1000.0, label: str | None = None, model_kwargs: dict | None = None) -> Method:
    """A registered model with its shipped weights, a weights file, or the mean of its last checkpoints.

    name may carry a shipped tag (``didnet_tiny.cpu_s8000``); model_kwargs: builder arguments the weights were
    trained with (an ablation's switches). Raises InputError for an unknown name or a model without weights
    (benchmark catches it to skip the model).
    """
    from sdr2hdr.models.weights import split_tag

    if average is not None:
        model = build_model(split_tag(name)[0], **(model_kwargs or {}))
        files = average_checkpoints(model, average[1], average[0])
        source = f"mean weights of {len(files)} checkpoints {files[0].name}..{files[-1].name}"
    else:
        model, path = load_model(name, weights, model_kwargs)
        source = path.name
    return _model_method(name, model, source, device, precision, tile, peak_nits, label)


def checkpoint_methods(name: str, ckpt_dir: str | Path, last: int, device: str = "cpu", precision: str = "fp32",
                       tile: int | None = 512, peak_nits: float = 1000.0) -> list[Method]:
    """One method per checkpoint of the last `last` in ckpt_dir, all in one group: DIDNet's scoring protocol.

    The tables show the group as one row, the mean of the checkpoints' scores (DIDNet table 1) with their spread;
    each checkpoint keeps its own rows in results.csv and a per-checkpoint table.
    """
    files = last_checkpoints(ckpt_dir, last)
    group = f"{name} (mean score of last {len(files)} checkpoints)"
    out = []
    for path in files:
        model = build_model(name)
        state = _state_dict(path)
        check_fit(model, state, f"checkpoint {path.name}")
        model.load_state_dict(state, strict=True)
        m = _model_method(f"{name}@{path.stem}", model, f"checkpoint {path.name}", device, precision, tile,
                          peak_nits, f"{name} @ {path.stem}")
        m.group = group
        out.append(m)
    return out


def _model_method(name: str, model: nn.Module, source: str, device: str, precision: str, tile: int | None,
                  peak_nits: float, label: str | None) -> Method:
    """A model with its weights loaded, run as the benchmark runs every model."""
    import torch

    from sdr2hdr.color import pq_code
    from sdr2hdr.engine.infer import ModelRunner, window
    from sdr2hdr.models import count_params

    pq_peak = pq_code(peak_nits)
    runner = ModelRunner(model, device=device, precision=precision, tile=tile, max_value=pq_peak)
    t = runner.frames

    def run(frames: list[np.ndarray], index: int) -> np.ndarray:
        if t == 1:
            x = torch.from_numpy(np.ascontiguousarray(frames[index])).permute(2, 0, 1)[None]
        else:
            x = torch.from_numpy(np.stack(window(frames, index, t))).permute(0, 3, 1, 2)[None]
        return np.ascontiguousarray(runner(x.float())[0].permute(1, 2, 0).numpy())

    note = f"{name}: {source}, {runner.device.type} {precision}" + (f", {t}-frame window" if t > 1 else "") + \
        (f", x{runner.scale} input" if runner.scale > 1 else "")
    return Method(name, "model", label or name, count_params(model), runner.scale, t, note, run)
