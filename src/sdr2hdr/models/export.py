"""ONNX export of registered models, with height and width dynamic, checked against PyTorch in onnxruntime.

Functions
- export_plan(name) -> ExportPlan: how a model exports (its graph inputs) or, in `reason`, why it cannot
- export_onnx(name, path, weights=None) -> ExportPlan: write the ONNX file (opset OPSET, TorchScript exporter)
- graph_inputs(name, frames, model=None) -> {input name: array}: what the graph takes for SDR frames
- max_difference(name, path, frames, model=None) -> float: max |onnxruntime - PyTorch| on PQ R'G'B'
- check_export(name, path, weights=None) -> (plan, max difference, size): export, then check at CHECK_SIZE

Models with a global prior read it from a fixed-size view of the whole frame (a thumbnail of short side S, or
adaptive_itm's 64x64 area thumbnail and 128x128 pixel grid). Resizing to a size computed from the input's size is
not expressible in a graph with dynamic height and width (the exporter records the trace's fixed numbers), so
such a model's graph takes the view as a second input beside the frame: `view_inputs` computes it with
PyTorch, and a runtime without PyTorch makes it with any antialiased bicubic resize (the tolerance then grows
with that resize's difference).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import Tensor, nn

from sdr2hdr.models.base import HDRModel

OPSET = 17
#: where the export is checked: not the trace size, so a size baked into the graph shows as a failure
CHECK_SIZE = (64, 96)
#: the check's bound on max |onnxruntime - PyTorch| in PQ code units ([0,1]; one 10-bit code is 1/1023)
TOLERANCE = 1e-4

# why a model cannot export, in one line each
_CANNOT = {
    "informed": "its exact inverse runs in numpy (tonemap.source_inverse), outside any graph; only the "
                "restoration CNN is a network",
}


@dataclass
class ExportPlan:
    """How one model exports: kind "plain" (input sdr), "thumbnail" (sdr, view of short side size) or "views"
    (sdr, thumb, grid: adaptive_itm); reason is set when it cannot export."""

    name: str
    kind: str = "plain"
    size: int | None = None
    inputs: list = field(default_factory=lambda: ["sdr"])
    reason: str | None = None
    opset: int = OPSET


def _exp2(g, x):
    # aten::exp2 has no ONNX symbolic in the TorchScript exporter: 2 ** x is ONNX Pow
    return g.op("Pow", g.op("Constant", value_t=torch.tensor(2.0, dtype=torch.float32)), x)


def _register_symbolics() -> None:
    torch.onnx.register_custom_op_symbolic("aten::exp2", _exp2, OPSET)


def _thumb_size(model: nn.Module) -> int | None:
    """The short side of the thumbnail a model's prior reads, or None when it has no thumbnail prior."""
    for owner in (model, getattr(model, "agcm", None), getattr(model, "gpem", None)):
        for attr in ("cond_size", "prior_size", "size"):
            value = getattr(owner, attr, None) if owner is not None else None
            if isinstance(value, int):
                return value
    return None


def export_plan(name: str, model: nn.Module | None = None) -> ExportPlan:
    """How `name` exports, or why it cannot (plan.reason)."""
    from sdr2hdr.models import create

    if name.startswith("informed_"):
        return ExportPlan(name, reason=_CANNOT["informed"])
    model = model if model is not None else create(name)
    if getattr(model, "frames", 1) > 1:
        return ExportPlan(name, reason="its kernel-modulated convolutions (DMC) build each clip's kernels from the "
                                       "prior, and the TorchScript exporter refuses a convolution whose kernel is "
                                       "computed (tried with both thumbnails as graph inputs)")
    if hasattr(model, "prior_for_tile") and type(model).prior_for_tile is not HDRModel.prior_for_tile:
        return ExportPlan(name, reason="its prior is row and column profiles of the thumbnail, split at lengths "
                                       "computed in Python from the frame size, which the exporter fixes")
    if hasattr(model, "pq_mapping"):
        return ExportPlan(name, "views", inputs=["sdr", "thumb", "grid"])
    if not hasattr(model, "prior"):
        return ExportPlan(name)
    size = _thumb_size(model)
    if size is None:
        return ExportPlan(name, reason="its global prior reads the whole frame at full size (no fixed-size view)")
    return ExportPlan(name, "thumbnail", size=size, inputs=["sdr", "view"])


class _Graph(nn.Module):
    """The model with its prior computed from the view inputs, so every graph input has dynamic height and width."""

    def __init__(self, model: nn.Module, plan: ExportPlan) -> None:
        super().__init__()
        self.model, self.kind = model, plan.kind

    def forward(self, sdr: Tensor, *views: Tensor) -> Tensor:
        if self.kind == "plain":
            return self.model(sdr)
        if self.kind == "views":
            return self.model(sdr, prior=self.model.estimate(*views))
        # a view whose short side is already the thumbnail's is used as it is (blocks.condition.thumbnail)
        return self.model(sdr, prior=self.model.prior(views[0]))


def view_inputs(plan: ExportPlan, sdr: Tensor) -> list[Tensor]:
    """The graph's inputs for SDR frames (N,3,H,W): the frames and the views of them the prior reads."""
    if plan.kind == "views":
        from sdr2hdr.models.adaptive_itm import views

        return [sdr, *views(sdr)]
    if plan.kind == "thumbnail":
        from sdr2hdr.models.blocks.condition import thumbnail

        return [sdr, thumbnail(sdr, plan.size)]
    return [sdr]


def _load(name: str, weights: str | os.PathLike | None) -> nn.Module:
    from sdr2hdr.models import create
    from sdr2hdr.models.weights import load_weights, shipped_weights

    with torch.random.fork_rng():
        torch.manual_seed(0)  # a model without weights is exported (and checked) at one reproducible initialisation
        model = create(name)
    path = Path(weights) if weights else shipped_weights(name)
    if path is not None:  # no shipped weights: the graph is the same, exported at initialisation
        load_weights(model, path)
    return model.eval()


def export_onnx(name: str, path: str | os.PathLike, weights: str | os.PathLike | None = None,
                model: nn.Module | None = None, trace_size: tuple[int, int] = (51, 77)) -> ExportPlan:
    """Export `name` (shipped or given weights) to ONNX with dynamic batch, height and width.

    The trace size is odd on purpose: padding to a size multiple is then traced as computed, not skipped.
    Raises InputError with the one-line reason for a model that cannot export.
    """
    import warnings

    from sdr2hdr.errors import InputError

    model = model if model is not None else _load(name, weights)
    plan = export_plan(name, model)
    if plan.reason:
        raise InputError(f"{name} cannot be exported to ONNX: {plan.reason}")
    sdr = torch.rand(1, 3, *trace_size, generator=torch.Generator().manual_seed(0))
    args = tuple(view_inputs(plan, sdr))
    axes = {"sdr": {0: "batch", 2: "height", 3: "width"}, "hdr": {0: "batch", 2: "out_height", 3: "out_width"}}
    if plan.kind == "thumbnail":
        axes["view"] = {0: "batch", 2: "view_height", 3: "view_width"}
    elif plan.kind == "views":
        axes.update(thumb={0: "batch"}, grid={0: "batch", 2: "grid_pixels"})
    _register_symbolics()
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # the tracer's notes on Python values it records as constants
        # the wrapper in eval mode: the exporter restores the wrapper's mode afterwards, recursively
        torch.onnx.export(_Graph(model, plan).eval(), args, str(path), input_names=plan.inputs, output_names=["hdr"],
                          dynamic_axes=axes, opset_version=OPSET, dynamo=False)
    return plan


def max_difference(name: str, path: str | os.PathLike, sdr: Tensor, model: nn.Module | None = None,
                   weights: str | os.PathLike | None = None) -> float:
    """Max |onnxruntime - PyTorch| over the output for SDR frames sdr (N,3,H,W), any size."""
    import onnxruntime as ort

    model = model if model is not None else _load(name, weights)
    plan = export_plan(name, model)
    inputs = view_inputs(plan, sdr)
    with torch.no_grad():
        ref = model(sdr).numpy()
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    got = session.run(None, {k: v.numpy() for k, v in zip(plan.inputs, inputs)})[0]
    if got.shape != ref.shape:
        raise AssertionError(f"{name}: onnxruntime gave {got.shape}, PyTorch {ref.shape}")
    return float(abs(got - ref).max())


def check_export(name: str, path: str | os.PathLike, weights: str | os.PathLike | None = None,
                 size: tuple[int, int] = CHECK_SIZE) -> tuple[ExportPlan, float, tuple[int, int]]:
    """Export `name` to path (atomically), then its max difference from PyTorch on a random frame of `size`."""
    from sdr2hdr.io.atomic import write_atomic

    model = _load(name, weights)
    plan = export_plan(name, model)
    if plan.reason:
        from sdr2hdr.errors import InputError

        raise InputError(f"{name} cannot be exported to ONNX: {plan.reason}")
    write_atomic(path, lambda tmp: export_onnx(name, tmp, model=model))
    sdr = torch.rand(1, 3, *size, generator=torch.Generator().manual_seed(1))
    return plan, max_difference(name, path, sdr, model=model), size
