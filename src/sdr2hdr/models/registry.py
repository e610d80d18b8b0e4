"""Model registry: create a model by name, list names, read each model's summary.

Defines:
    ModelSummary              frozen dataclass of what the paper says about a registered model.
    register_model(summary)   decorator for the builder function of a registered name.
    create(name, **kwargs)    build a model (kwargs go to its builder, e.g. domain="yuv", modulation=False).
    list_models(pattern)      registered names, optionally filtered by a shell pattern ("deep_sr_itm_*").
    get_summary(name)         the ModelSummary of a name.
    count_params(model)       number of distinct parameters.
    summaries_table()         every summary as a plain-text table, our parameter count beside the paper's.
    cost_table()              DIDNet table 5 recomputed from the GFM and DMC layers' own shapes.

Contract of every registered model (an HDRModel, base.py):
    forward(x) -> Tensor
        x: SDR R'G'B' in [0,1], (N,3,H,W), or (N,T,3,H,W) with T = model.frames for multi-frame models.
        returns: PQ R'G'B' (nominally [0,1], not clamped: the engine clamps), (N,3,H*scale,W*scale);
        multi-frame models return the centre frame.
    prior(frame) -> Tensor, forward(x, prior=None), prior_for_tile(prior, box, frame_size)
        models with a global condition (AGCM, CSRNet, HDRTVNet, GPGMNet, KPNet's attention profiles, DIDNet):
        the condition of the whole frame from a thumbnail of fixed size, shared by its tiles (base.py).
    model.receptive_radius: input pixels of context a tile needs at its edges; the engine overlaps tiles by 4x.
    forward_with_aux(x) -> dict[str, Tensor]
        "main" is forward's output; models with auxiliary outputs add them by name, listed in
        model.aux_outputs (DIDNet: "aux_sdr", the restored SDR centre frame for its auxiliary loss).
        Training code calls forward_with_aux for every model and needs no special case.
    model.scale, model.frames: class attributes (overridden per instance where a builder chooses them).
    model.unused_parameters(): parameters the authors' module defines but forward never uses (KPNet).
"""

from __future__ import annotations

import fnmatch
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from torch import nn

#: tolerance on the parameter count when the paper gives an exact count (authors' code) / a rounded figure
EXACT_TOLERANCE = 0.02
ROUNDED_TOLERANCE = 0.05


@dataclass(frozen=True)
class ModelSummary:
    """What the paper says about a registered model; our own figures are computed, never stored here."""

    name: str
    paper: str
    task: str
    scale: int
    frames: int
    input_domain: str
    paper_params: int
    paper_runtime: str
    paper_recipe: str
    notes: str = ""
    #: True when paper_params is an exact count (from the authors' code), False for the paper's rounded figure
    params_exact: bool = False

    @property
    def params_tolerance(self) -> float:
        """Relative tolerance our parameter count is held to."""
        return EXACT_TOLERANCE if self.params_exact else ROUNDED_TOLERANCE


_BUILDERS: dict[str, Callable[..., nn.Module]] = {}
_SUMMARIES: dict[str, ModelSummary] = {}


def register_model(summary: ModelSummary) -> Callable[[Callable[..., nn.Module]], Callable[..., nn.Module]]:
    """Register the decorated builder under summary.name."""

    def wrap(fn: Callable[..., nn.Module]) -> Callable[..., nn.Module]:
        if summary.name in _BUILDERS:
            raise ValueError(f"model {summary.name!r} registered twice")
        _BUILDERS[summary.name] = fn
        _SUMMARIES[summary.name] = summary
        return fn

    return wrap


def _ensure_loaded() -> None:
    # the model modules register themselves on import; importing the package imports them all
    import sdr2hdr.models  # noqa: F401


def list_models(pattern: str | None = None) -> list[str]:
    """Sorted registered names, filtered by a shell-style pattern when given.

    Args:
        pattern: e.g. ``"deep_sr_itm_*"``; None lists every name.

    Returns:
        The names, sorted.

    >>> list_models("gpgmnet_*")
    ['gpgmnet_x2', 'gpgmnet_x4']
    """
    _ensure_loaded()
    names = sorted(_BUILDERS)
    return [n for n in names if fnmatch.fnmatch(n, pattern)] if pattern else names


def _lookup(name: str) -> None:
    _ensure_loaded()
    if name not in _BUILDERS:
        raise KeyError(f"unknown model {name!r}; registered: {', '.join(sorted(_BUILDERS))}")


def create(name: str, **kwargs: Any) -> nn.Module:
    """Build the registered model `name` with fresh weights (load them with models.weights.load_model).

    Args:
        name: a registered name (``list_models()``).
        **kwargs: passed to the model's builder (e.g. ``domain="yuv"``, ``modulation=False``).

    Returns:
        The model, an HDRModel following the contract above.

    Shape:
        forward: (N, 3, H, W) SDR R'G'B' -> (N, 3, H * scale, W * scale) PQ R'G'B'; multi-frame models take
        (N, T, 3, H, W) with T = ``model.frames`` and return the centre frame.

    Raises:
        KeyError: an unknown name (the message lists the registered ones).

    >>> import torch
    >>> model = create("dncnn")
    >>> model(torch.rand(1, 3, 16, 16)).shape
    torch.Size([1, 3, 16, 16])
    """
    _lookup(name)
    return _BUILDERS[name](**kwargs)


def get_summary(name: str) -> ModelSummary:
    """What the paper says about a registered model (the card of a shipped weights file is models.weights').

    Args:
        name: a registered name.

    Returns:
        Its ModelSummary: paper, task, scale, frames, parameter count, runtime, recipe.

    >>> get_summary("deep_sr_itm_x2").scale
    2
    """
    _lookup(name)
    return _SUMMARIES[name]


def count_params(model: nn.Module) -> int:
    """Number of distinct parameter values (shared parameters counted once).

    Args:
        model: any torch module.

    Returns:
        The count.

    >>> count_params(nn.Linear(3, 2))
    8
    """
    return sum(p.numel() for p in model.parameters())


def _fmt_count(n: int) -> str:
    return f"{n:,}"


def _table(header: list[str], rows: list[list[str]], right: set[int]) -> str:
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]

    def line(cells: list[str]) -> str:
        cells = [c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(cells, widths))]
        return "  ".join(cells).rstrip()

    sep = "  ".join("-" * w for w in widths)
    return "\n".join([line(header), sep, *(line(r) for r in rows)])


def summaries_table(verbose: bool = False) -> str:
    """Every registered summary with our parameter count (from building the model) beside the paper's."""
    rows = []
    details = []
    for name in list_models():
        summary = _SUMMARIES[name]
        ours = count_params(create(name))
        diff = (ours - summary.paper_params) / summary.paper_params
        paper = _fmt_count(summary.paper_params) + ("" if summary.params_exact else " ~")
        rows.append(
            [
                name,
                summary.task,
                f"x{summary.scale}",
                str(summary.frames),
                _fmt_count(ours),
                paper,
                f"{diff * 100:+.2f}%",
                "yes" if abs(diff) <= summary.params_tolerance else "NO",
                summary.paper_runtime,
            ]
        )
        if verbose:
            details.append(
                f"{name}\n  paper:   {summary.paper}\n  domain:  {summary.input_domain}\n"
                f"  recipe:  {summary.paper_recipe}\n  notes:   {summary.notes}"
            )
    header = ["model", "task", "scale", "T", "params (ours)", "params (paper)", "diff", "in tol", "paper runtime"]
    text = _table(header, rows, right={4, 5, 6})
    text += "\n~ : the paper gives a rounded figure (tolerance 5%); otherwise the authors' exact count (2%)"
    if verbose:
        text += "\n\n" + "\n\n".join(details)
    return text


#: DIDNet table 5: feature shapes and the paper's printed figures (GFM operations, kernel modulation operations)
TABLE5_SHAPES = ((480, 720), (1080, 1920), (2160, 3840))
TABLE5_PAPER = {
    (480, 720): ("44.22M", "4.16K"),
    (1080, 1920): ("265.42M", "4.16K"),
    (2160, 3840): ("1061.68M", "4.16K"),
}
TABLE5_CHANNELS = 64


def _si(n: float) -> str:
    for unit, div in (("M", 1e6), ("K", 1e3)):  # the paper writes 1061.68M, not 1.06G
        if n >= div:
            return f"{n / div:.2f}{unit}"
    return f"{n:.0f}"


def cost_table(channels: int = TABLE5_CHANNELS) -> str:
    """DIDNet table 5 from the layers' shapes: GFM ops grow with H*W, kernel modulation ops do not.

    GFM: a 1x1 conv C->C with global feature modulation, 2*H*W*C operations per sample.
    CKM: the same conv with its kernel modulated instead (DMC with alpha only, eq. 8), C*C + C.
    DMC: DIDNet's dual modulated 3x3 conv as built in didnet.py (alpha and gamma, eq. 9), 2*C*C*9 + C.
    """
    from .blocks.modulation import DMC, GFM

    gfm = GFM(channels, channels, cond_dim=1, kernel_size=1)
    ckm = DMC(channels, channels, kernel_size=1, dual=False)
    dmc = DMC(channels, channels, kernel_size=3, dual=True)
    rows = []
    for h, w in TABLE5_SHAPES:
        g, k, d = gfm.ops(h, w), ckm.ops(h, w), dmc.ops(h, w)
        paper_g, paper_k = TABLE5_PAPER[(h, w)]
        ratio_k, ratio_d = f"{100 * k / g:.4f}%", f"{100 * d / g:.3f}%"
        rows.append([f"{w}x{h}x{channels}", _si(g), paper_g, _si(k), paper_k, ratio_k, _si(d), ratio_d])
    header = ["feature", "GFM", "GFM (paper)", "CKM", "CKM (paper)", "CKM/GFM", "DMC 3x3 dual", "DMC/GFM"]
    note = (
        "operations per sample for modulation only. GFM = 2*H*W*C; CKM (kernel modulation, 1x1, alpha) = C*C + C;\n"
        "DMC as DIDNet uses it (3x3, alpha and gamma) = 2*9*C*C + C. The paper prints 44.22M for 720x480;\n"
        "2*720*480*64 is 44.24M (its 1080p and 4K figures match the formula exactly)."
    )
    return _table(header, rows, right=set(range(1, 8))) + "\n" + note
