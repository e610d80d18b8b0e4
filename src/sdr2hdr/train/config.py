"""Training configuration: typed dataclasses loaded from one YAML per model, with presets, checked before anything runs.

Defines:
    ModelConfig, DataConfig, AuxLoss, LossConfig, OptimConfig, ScheduleConfig, StageConfig, TrainConfig, Config
    load_config(path, preset, overrides)   YAML -> Config with a preset and `key=value` overrides applied, validated.
    config_to_dict(cfg)                    plain dict (for checkpoints, cards and weights metadata).
    parse_override("train.batch=8")        -> ("train.batch", 8), the value parsed as YAML.

A YAML file has the sections model, data, loss, optim, schedule, train, stages (optional), description (optional)
and presets: {name: partial config}. The top level is the paper's recipe; a preset is merged over it
(dicts key by key, lists replaced whole). Every preset is checked when the file is loaded, so a typo in
`cpu-small` is reported even when running `paper`. Errors are InputError naming the dotted key
(`presets.cpu-small.train.batch`, `loss.aux[0].weight`).
"""

from __future__ import annotations

import copy
import dataclasses
import math
import re
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml

from sdr2hdr.errors import InputError

#: batch keys a loss may compare an output with (the data sets' item keys)
TARGET_KEYS = ("hdr", "sdr_hq")
DEFAULT_PRESET = "paper"


@dataclass
class ModelConfig:
    #: a registered model name (`sdr2hdr models`)
    name: str
    #: keyword arguments of the model's builder (e.g. modulation: false for Deep SR-ITM's first stage)
    kwargs: dict[str, Any] = field(default_factory=dict)
    #: safetensors to start from (e.g. a trained AGCM inside HDRTVNet); relative paths are from the working directory
    init_weights: str | None = None
    #: prefix put before the file's tensor names when loading init_weights ("agcm." for AGCM -> HDRTVNet)
    init_prefix: str = ""


@dataclass
class DataConfig:
    #: "dataset": a set built by `sdr2hdr data build`; "synthetic": generated pairs (smoke runs, no data needed)
    source: Literal["dataset", "synthetic"] = "dataset"
    #: the built data set's folder (overridden by --data)
    root: str | None = None
    #: QPs of the LQ input used for training (DIDNet: 37 only); null: the uncoded HQ SDR (at the model's scale,
    #: the builder's MATLAB-style bicubic downscale), the input Deep SR-ITM and GPGMNet trained on
    qp: list[int | None] = field(default_factory=lambda: [37])
    #: QPs used for validation (null as above)
    val_qp: list[int | None] = field(default_factory=lambda: [37])
    train_split: str = "train"
    #: a split of the set to validate on (choosing best.safetensors); null: see val_sources
    val_split: str | None = None
    #: without val_split: hold out every clip of the last N training sources (scenes never trained on) for
    #: validation; 0 and no val_split: no validation and no best.safetensors
    val_sources: int = 0
    #: refuse a built set whose coded inputs are not intra-only (KPNet's paper coded every frame HM all-intra);
    #: build one with `sdr2hdr data build --intra`. Checked on the set's manifest when the data is loaded
    require_intra: bool = False
    #: random horizontal/vertical flips and 90-degree rotations of training patches
    augment: bool = True
    num_workers: int = 0
    #: centre-crop validation frames to this size (HDR side); bounds validation time on CPU
    val_crop: int | None = None
    #: validate on the first N items of the split only
    val_items: int | None = None
    #: number and HDR side of synthetic items
    synthetic_items: int = 32
    synthetic_size: int = 64


@dataclass
class AuxLoss:
    #: an auxiliary output of the model (model.aux_outputs, e.g. "aux_sdr")
    output: str
    #: the batch key it is compared with ("sdr_hq")
    target: str
    weight: float


@dataclass
class LossConfig:
    #: pixel loss of main and auxiliary terms; tanh_l1 is HDRUNet's
    kind: Literal["l1", "l2", "tanh_l1", "tanh_l2"] = "l1"
    main_weight: float = 1.0
    aux: list[AuxLoss] = field(default_factory=list)


@dataclass
class OptimConfig:
    name: Literal["adam", "adamw"] = "adam"
    lr: float = 1e-4
    betas: list[float] = field(default_factory=lambda: [0.9, 0.999])
    eps: float = 1e-8
    weight_decay: float = 0.0
    #: learning rate of biases relative to weights (Deep SR-ITM: 0.1)
    bias_lr_mult: float = 1.0
    #: clip the global gradient L2 norm to this value; null: no clipping
    grad_clip: float | None = None


@dataclass
class ScheduleConfig:
    #: constant; multistep (x gamma at each milestone); step_after (x gamma at `start`, then every `every`);
    #: cosine (to min_lr at the end of the stage)
    kind: Literal["constant", "multistep", "step_after", "cosine"] = "constant"
    milestones: list[int] = field(default_factory=list)
    gamma: float = 0.5
    start: int = 0
    every: int = 0
    min_lr: float = 0.0
    #: linear warm-up steps from 0 at the start of each stage
    warmup: int = 0


@dataclass
class StageConfig:
    """One training stage: the model is rebuilt with these builder arguments from the previous stage's weights."""

    name: str
    steps: int
    #: builder arguments merged over model.kwargs for this stage (Deep SR-ITM: modulation false, then true)
    model_kwargs: dict[str, Any] = field(default_factory=dict)
    #: parameter-name prefixes trained in this stage (others frozen); null: all
    trainable: list[str] | None = None


@dataclass
class TrainConfig:
    #: total optimiser steps (the sum of the stages' steps when there are stages)
    steps: int
    #: global batch: split evenly over the processes of a DDP run, so a recipe means the same on 1 or N GPUs
    batch: int
    #: training patch side on the HDR target; the input patch is patch / scale
    patch: int
    seed: int = 0
    log_every: int = 100
    ckpt_every: int = 5000
    val_every: int = 5000
    #: checkpoints kept on disk (at least average_last)
    keep_ckpts: int = 2
    #: export averaged.safetensors, the mean of the last K checkpoints' weights; 0: off. Our variant, an SWA-like
    #: weight average of the last K checkpoints, NOT the DIDNet paper's protocol: the paper tests each of its last
    #: six checkpoints and reports the mean of their scores. The K checkpoints stay on disk, so both can be scored
    average_last: int = 0
    #: auto (cuda when available), cpu, cuda, cuda:N
    device: str = "auto"
    #: torch.use_deterministic_algorithms on CUDA (slower); CPU runs are deterministic anyway
    deterministic: bool = False


@dataclass
class Config:
    model: ModelConfig
    train: TrainConfig
    data: DataConfig = field(default_factory=DataConfig)
    loss: LossConfig = field(default_factory=LossConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    schedule: ScheduleConfig = field(default_factory=ScheduleConfig)
    #: empty: one stage of train.steps with model.kwargs
    stages: list[StageConfig] = field(default_factory=list)
    description: str = ""

    def resolved_stages(self) -> list[StageConfig]:
        """The stages to run; a config without stages is one stage named "main"."""
        return self.stages or [StageConfig(name="main", steps=self.train.steps)]


# ------------------------------------------------------------------------------------------------ YAML reading


class _Loader(yaml.SafeLoader):
    """SafeLoader that reads 5e-4 as a float: PyYAML follows YAML 1.1, where a float needs a dot (5.0e-4)."""


_FLOAT = re.compile(r"^[-+]?(?:\d[\d_]*\.\d*|\.\d+|\d[\d_]*)(?:[eE][-+]?\d+)?$")
_Loader.add_implicit_resolver("tag:yaml.org,2002:float", _FLOAT, list("-+0123456789."))


def _yaml_load(text: str, where: str) -> Any:
    try:
        return yaml.load(text, Loader=_Loader)  # noqa: S506 - _Loader derives from SafeLoader
    except yaml.YAMLError as exc:
        raise InputError(f"{where}: not valid YAML: {' '.join(str(exc).split())}") from None


# -------------------------------------------------------------------------------------- typed conversion


def _type_name(tp: Any) -> str:
    origin = typing.get_origin(tp)
    if origin is Literal:
        return "one of " + ", ".join(repr(a) for a in typing.get_args(tp))
    if origin in (typing.Union, types.UnionType):
        return " or ".join("null" if a is type(None) else _type_name(a) for a in typing.get_args(tp))
    if origin is list:
        return f"a list of {_type_name(typing.get_args(tp)[0])}"
    if origin is dict:
        return "a mapping"
    if dataclasses.is_dataclass(tp):
        return "a mapping"
    return {int: "an integer", float: "a number", bool: "true or false", str: "a string"}.get(tp, str(tp))


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _convert(tp: Any, value: Any, path: str, partial: bool) -> Any:
    """Check value against the type hint tp and return it converted (dataclasses built); path names it in errors."""
    origin = typing.get_origin(tp)
    if tp is Any:
        return value
    if origin in (typing.Union, types.UnionType):
        args = typing.get_args(tp)
        if value is None and type(None) in args:
            return None
        errors = []
        for arg in args:
            if arg is type(None):
                continue
            try:
                return _convert(arg, value, path, partial)
            except InputError as exc:
                errors.append(exc)
        # a nested error (inside a list or mapping) is more useful than "must be X or Y"
        nested = [e for e in errors if not str(e).startswith(f"config key {path!r} must be")]
        if nested:
            raise nested[0]
        raise InputError(f"config key {path!r} must be {_type_name(tp)}, got {_show(value)}")
    if origin is Literal:
        if value not in typing.get_args(tp):
            raise InputError(f"config key {path!r} must be {_type_name(tp)}, got {_show(value)}")
        return value
    if origin is list:
        if not isinstance(value, list):
            raise InputError(f"config key {path!r} must be {_type_name(tp)}, got {_show(value)}")
        (item,) = typing.get_args(tp)
        return [_convert(item, v, f"{path}[{i}]", partial) for i, v in enumerate(value)]
    if origin is dict:
        if not isinstance(value, dict):
            raise InputError(f"config key {path!r} must be a mapping, got {_show(value)}")
        key_t, val_t = typing.get_args(tp)
        out = {}
        for k, v in value.items():
            if not isinstance(k, str):
                raise InputError(f"config key {path!r}: keys must be strings, got {_show(k)}")
            out[k] = _convert(val_t, v, f"{path}.{k}", partial)
        return out
    if dataclasses.is_dataclass(tp):
        return _build(tp, value, path, partial)
    return _convert_scalar(tp, value, path)


def _convert_scalar(tp: Any, value: Any, path: str) -> Any:
    """bool, int, float or str: checked strictly (a bool is not a number here), ints accepted as floats."""
    if tp is bool:
        if not isinstance(value, bool):
            raise InputError(f"config key {path!r} must be true or false, got {_show(value)}")
        return value
    if tp is int:
        # bool is an int in Python; `steps: true` is a mistake, not 1
        if isinstance(value, bool) or not isinstance(value, int):
            raise InputError(f"config key {path!r} must be an integer, got {_show(value)}")
        return value
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise InputError(f"config key {path!r} must be a number, got {_show(value)}")
        return float(value)
    if tp is str:
        if not isinstance(value, str):
            raise InputError(f"config key {path!r} must be a string, got {_show(value)}")
        return value
    raise TypeError(f"unsupported config type {tp!r} at {path}")


def _build(cls: type, data: Any, path: str, partial: bool) -> Any:
    """Dataclass cls from a mapping: unknown keys and wrong types refused by dotted name.

    partial=True only checks (a preset may omit required keys) and returns the checked dict.
    """
    where = path or "the top level"
    if not isinstance(data, dict):
        raise InputError(f"config key {where!r} must be a mapping, got {_show(data)}")
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    for key in data:
        if key not in fields:
            dotted = f"{path}.{key}" if path else str(key)
            known = ", ".join(fields)
            raise InputError(f"config key {dotted!r} is not known (known keys{' of ' + path if path else ''}: {known})")
    values = {}
    for name, f in fields.items():
        dotted = f"{path}.{name}" if path else name
        if name in data:
            values[name] = _convert(hints[name], data[name], dotted, partial)
        elif not partial and f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            raise InputError(f"config key {dotted!r} is missing")
    return values if partial else cls(**values)


# -------------------------------------------------------------------------------------------- validation


def _need(cond: bool, key: str, message: str) -> None:
    if not cond:
        raise InputError(f"config key {key!r}: {message}")


def _check_model_kwargs(name: str, kwargs: dict, key: str):
    from sdr2hdr.models import create

    try:
        return create(name, **kwargs)
    except (TypeError, ValueError) as exc:  # an unknown argument, or a value the builder refuses (refine: paper)
        raise InputError(f"config key {key!r}: model {name!r} does not take these arguments ({exc})") from None


def validate(cfg: Config, prefix: str = "") -> None:
    """Value checks the types cannot express; prefix names the preset being checked."""
    from sdr2hdr.models import list_models

    names = list_models()
    _need(cfg.model.name in names, prefix + "model.name",
          f"unknown model {cfg.model.name!r}; registered: {', '.join(names)}")
    # one model built from the kwargs answers the checks that depend on it (scale, parameters, auxiliary outputs)
    model = _check_model_kwargs(cfg.model.name, cfg.model.kwargs, prefix + "model.kwargs")
    _check_stages(cfg, model, prefix)
    _check_train(cfg.train, model, cfg.model.name, prefix)
    _check_optim(cfg.optim, prefix)
    _check_schedule(cfg.schedule, cfg.optim.lr, prefix)
    _check_loss(cfg.loss, model, cfg.model.name, prefix)
    _check_data(cfg.data, model.scale, cfg.train.patch, prefix)


def _check_stages(cfg: Config, model, p: str) -> None:
    stages = cfg.resolved_stages()
    for i, st in enumerate(cfg.stages):
        key = f"{p}stages[{i}]"
        _need(st.steps > 0, key + ".steps", f"must be positive, got {st.steps}")
        if st.model_kwargs:
            _check_model_kwargs(cfg.model.name, {**cfg.model.kwargs, **st.model_kwargs}, key + ".model_kwargs")
        if st.trainable is not None:
            params = [n for n, _ in model.named_parameters()]
            for j, start in enumerate(st.trainable):
                _need(any(n.startswith(start) for n in params), f"{key}.trainable[{j}]",
                      f"no parameter of {cfg.model.name} starts with {start!r}")
    if cfg.stages:
        total = sum(s.steps for s in stages)
        _need(cfg.train.steps == total, p + "train.steps",
              f"must equal the sum of the stages' steps ({total}), got {cfg.train.steps}")
        _need(len({s.name for s in stages}) == len(stages), p + "stages", "stage names must differ")


def _check_train(t: TrainConfig, model, model_name: str, p: str) -> None:
    for key in ("steps", "batch", "patch", "log_every", "ckpt_every", "val_every", "keep_ckpts"):
        _need(getattr(t, key) > 0, f"{p}train.{key}", f"must be positive, got {getattr(t, key)}")
    _need(t.average_last >= 0, p + "train.average_last", f"must be 0 (off) or positive, got {t.average_last}")
    _need(t.patch % model.scale == 0, p + "train.patch",
          f"{model_name} upscales x{model.scale}: the HDR patch must be a multiple of {model.scale}, got {t.patch}")
    _need(bool(re.fullmatch(r"auto|cpu|cuda(:\d+)?", t.device)), p + "train.device",
          f"must be auto, cpu, cuda or cuda:N, got {t.device!r}")


def _check_optim(o: OptimConfig, p: str) -> None:
    _need(o.lr > 0 and math.isfinite(o.lr), p + "optim.lr", f"must be positive, got {o.lr}")
    _need(len(o.betas) == 2 and all(0 <= b < 1 for b in o.betas), p + "optim.betas",
          f"must be two numbers in [0, 1), got {o.betas}")
    _need(o.eps > 0, p + "optim.eps", f"must be positive, got {o.eps}")
    _need(o.weight_decay >= 0, p + "optim.weight_decay", f"must not be negative, got {o.weight_decay}")
    _need(o.bias_lr_mult > 0, p + "optim.bias_lr_mult", f"must be positive, got {o.bias_lr_mult}")
    _need(o.grad_clip is None or o.grad_clip > 0, p + "optim.grad_clip", f"must be positive or null, got {o.grad_clip}")


def _check_schedule(s: ScheduleConfig, lr: float, p: str) -> None:
    _need(0 < s.gamma <= 1, p + "schedule.gamma", f"must be in (0, 1], got {s.gamma}")
    _need(s.warmup >= 0, p + "schedule.warmup", f"must not be negative, got {s.warmup}")
    _need(0 <= s.min_lr <= lr, p + "schedule.min_lr", f"must be in [0, optim.lr], got {s.min_lr}")
    if s.kind == "multistep":
        _need(len(s.milestones) > 0, p + "schedule.milestones", "multistep needs at least one milestone")
        _need(all(m > 0 for m in s.milestones) and s.milestones == sorted(set(s.milestones)),
              p + "schedule.milestones", f"must be increasing positive steps, got {s.milestones}")
    if s.kind == "step_after":
        _need(s.every > 0, p + "schedule.every", f"step_after needs a positive period, got {s.every}")
        _need(s.start >= 0, p + "schedule.start", f"must not be negative, got {s.start}")


def _check_loss(loss: LossConfig, model, model_name: str, p: str) -> None:
    _need(loss.main_weight >= 0, p + "loss.main_weight", f"must not be negative, got {loss.main_weight}")
    for i, a in enumerate(loss.aux):
        key = f"{p}loss.aux[{i}]"
        have = ", ".join(model.aux_outputs) or "none"
        _need(a.output in model.aux_outputs, key + ".output",
              f"{model_name} has no auxiliary output {a.output!r} (it has: {have})")
        _need(a.target in TARGET_KEYS, key + ".target", f"must be one of {', '.join(TARGET_KEYS)}, got {a.target!r}")
        _need(a.weight >= 0, key + ".weight", f"must not be negative, got {a.weight}")
    _need(loss.main_weight > 0 or any(a.weight > 0 for a in loss.aux), p + "loss", "every loss weight is zero")


def _check_data(d: DataConfig, scale: int, patch: int, p: str) -> None:
    _need(len(d.qp) > 0 and all(q is None or 0 <= q <= 51 for q in d.qp), p + "data.qp",
          f"must be QPs in 0..51 or null (uncoded), got {d.qp}")
    _need(all(q is None or 0 <= q <= 51 for q in d.val_qp), p + "data.val_qp",
          f"must be QPs in 0..51 or null (uncoded), got {d.val_qp}")
    _need(d.val_sources >= 0, p + "data.val_sources", f"must not be negative, got {d.val_sources}")
    _need(d.num_workers >= 0, p + "data.num_workers", f"must not be negative, got {d.num_workers}")
    _need(d.val_crop is None or (d.val_crop > 0 and d.val_crop % scale == 0), p + "data.val_crop",
          f"must be a positive multiple of the scale ({scale}), got {d.val_crop}")
    _need(d.val_items is None or d.val_items > 0, p + "data.val_items", f"must be positive, got {d.val_items}")
    _need(d.synthetic_items > 0, p + "data.synthetic_items", f"must be positive, got {d.synthetic_items}")
    if d.source == "synthetic":
        _need(d.synthetic_size >= patch, p + "data.synthetic_size",
              f"must be at least train.patch ({patch}), got {d.synthetic_size}")
        _need(d.synthetic_size % scale == 0, p + "data.synthetic_size",
              f"must be a multiple of the scale ({scale}), got {d.synthetic_size}")


# ---------------------------------------------------------------------------------------------- loading


def _merge(base: dict, over: dict) -> dict:
    """Preset over base: mappings merged key by key, everything else (lists included) replaced."""
    out = copy.deepcopy(base)
    for k, v in over.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict) and k not in ("kwargs", "model_kwargs"):
            out[k] = _merge(out[k], v)
        else:
            out[k] = copy.deepcopy(v)
    return out


def parse_override(text: str) -> tuple[str, Any]:
    """`train.batch=8` -> ("train.batch", 8); the value is read as YAML (numbers, lists, null)."""
    if "=" not in text:
        raise InputError(f"--set takes KEY=VALUE, got {text!r}")
    key, _, raw = text.partition("=")
    key = key.strip()
    if not re.fullmatch(r"[A-Za-z_][\w-]*(\.[A-Za-z_][\w-]*)*", key):
        raise InputError(f"--set: not a dotted config key: {key!r}")
    return key, _yaml_load(raw, f"--set {key}") if raw.strip() else None


def _apply_override(data: dict, key: str, value: Any) -> None:
    node = data
    parts = key.split(".")
    for part in parts[:-1]:
        nxt = node.get(part)
        if nxt is None:
            nxt = node[part] = {}
        if not isinstance(nxt, dict):
            raise InputError(f"--set {key}: {part!r} is not a section")
        node = nxt
    node[parts[-1]] = value


def available_presets(path: str | Path) -> list[str]:
    """The preset names a config file defines."""
    raw = _yaml_load(Path(path).read_text(), str(path))
    return sorted((raw or {}).get("presets") or {})


def load_config(path: str | Path, preset: str | None = None, overrides: list[str] | None = None) -> Config:
    """Read, check (every preset included) and resolve a YAML config; InputError names any bad key."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"no such config file: {path}")
    raw = _yaml_load(path.read_text(), str(path))
    if not isinstance(raw, dict):
        raise InputError(f"{path}: a config is a mapping of sections (model, data, loss, optim, schedule, train)")
    raw = dict(raw)
    presets = raw.pop("presets", None) or {}
    if not isinstance(presets, dict):
        raise InputError("config key 'presets' must be a mapping of preset names to partial configs")
    base = _build(Config, raw, "", partial=False)
    validate(base)
    for name, over in presets.items():
        key = f"presets.{name}"
        if over is None:
            over = presets[name] = {}
        _build(Config, over, key, partial=True)
        merged = _build(Config, _merge(raw, over), key, partial=False)
        validate(merged, prefix=key + ".")
    name = preset or DEFAULT_PRESET
    if name not in presets and not (name == DEFAULT_PRESET and preset is None):
        have = ", ".join(sorted(presets)) or "none"
        raise InputError(f"{path.name} has no preset {name!r} (presets: {have})")
    data = _merge(raw, presets.get(name, {}))
    for text in overrides or []:
        key, value = parse_override(text)
        _apply_override(data, key, value)
    cfg = _build(Config, data, "", partial=False)
    validate(cfg)
    return cfg


def config_from_dict(data: dict) -> Config:
    """A Config from config_to_dict's output (checkpoints), checked like a file."""
    cfg = _build(Config, data, "", partial=False)
    validate(cfg)
    return cfg


def config_to_dict(cfg: Config) -> dict:
    """A plain, JSON-able dict of the resolved config."""
    return dataclasses.asdict(cfg)
