"""`sdr2hdr export`: ONNX graphs with dynamic height and width that match PyTorch in onnxruntime."""

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch
from clip_tools import run_cli

import sdr2hdr
from sdr2hdr.models.adaptive_itm import views
from sdr2hdr.models.blocks.condition import thumbnail
from sdr2hdr.models.export import TOLERANCE


def _inputs(name: str, sdr: torch.Tensor) -> dict:
    if name == "agcm":  # its prior reads a thumbnail of short side 32
        return {"sdr": sdr.numpy(), "view": thumbnail(sdr, 32).numpy()}
    thumb, grid = views(sdr)
    return {"sdr": sdr.numpy(), "thumb": thumb.numpy(), "grid": grid.numpy()}


@pytest.mark.parametrize("name", ["agcm", "adaptive_itm"])
def test_export_runs_at_other_sizes_and_matches_pytorch(tmp_path, name):
    out = tmp_path / f"{name}.onnx"
    res = run_cli("export", name, out)
    assert res.returncode == 0, res.stderr
    assert "max |onnxruntime - PyTorch|" in res.stdout
    graph = onnx.load(str(out))
    onnx.checker.check_model(graph)
    dims = [d.dim_param or d.dim_value for d in graph.graph.input[0].type.tensor_type.shape.dim]
    assert dims == ["batch", 3, "height", "width"]
    model = sdr2hdr.create_model(name, pretrained=True)  # the shipped weights, as exported
    session = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    gen = torch.Generator().manual_seed(5)
    for h, w in ((40, 58), (97, 131)):  # neither is the export's trace size (51x77)
        sdr = torch.rand(2, 3, h, w, generator=gen)
        with torch.no_grad():
            ref = model(sdr).numpy()
        got = session.run(None, _inputs(name, sdr))[0]
        assert got.shape == ref.shape == (2, 3, h, w)
        assert np.abs(got - ref).max() <= TOLERANCE


@pytest.mark.parametrize("name, why", [("didnet_tiny", "kernel"), ("kpnet", "row and column profiles"),
                                       ("informed_bt2446c", "numpy")])
def test_models_that_cannot_export_say_why(tmp_path, name, why):
    res = run_cli("export", name, tmp_path / "m.onnx")
    assert res.returncode == 2
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and f"{name} cannot be exported to ONNX" in lines[0] and why in lines[0]
    assert not list(tmp_path.iterdir())
