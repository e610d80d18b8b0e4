"""The weights shipped in the package: each loads into its registered model, is small, has a card made by the
benchmark, and the default is the best of them at QP 37 and beats every classical mapping there."""

import json

import pytest
import torch

from sdr2hdr.models import create, list_models
from sdr2hdr.models.weights import default_model, load_weights, weights_dir

SHIPPED = sorted(p.stem for p in weights_dir().glob("*.safetensors"))


def test_the_package_ships_the_trained_models():
    assert {"agcm", "kpnet", "didnet_tiny"} <= set(SHIPPED)


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_weights_fit_their_model_and_card(name):
    assert name in list_models()
    path = weights_dir() / f"{name}.safetensors"
    assert path.stat().st_size < 20 * 1024 * 1024
    card = json.loads((weights_dir() / f"{name}.json").read_text())
    assert card["model"] == name and card["weights"] == path.name
    for qp in ("27", "32", "37", "42"):
        assert {"psnr", "ssim", "ms_ssim", "delta_e_itp"} <= set(card["test_scores"][qp])
    assert card["beats_best_classical"] == (card["test_scores"]["37"]["psnr"] > card["best_classical"]["psnr"])
    model = create(name).eval()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    load_weights(model, path)
    # trained weights, not the initialisation
    assert any(not torch.equal(before[k], v) for k, v in model.state_dict().items())


def test_the_default_is_the_best_shipped_model_and_runs():
    cards = [json.loads((weights_dir() / f"{n}.json").read_text()) for n in SHIPPED]
    best = max(cards, key=lambda c: c["test_scores"]["37"]["psnr"])
    assert default_model() == (best["model"] if best["beats_best_classical"] else None)
    assert sum(bool(c["default"]) for c in cards) <= 1
    name = default_model()
    if name is None:
        return
    model = create(name).eval()
    load_weights(model, weights_dir() / f"{name}.safetensors")
    frames = getattr(model, "frames", 1)
    torch.manual_seed(0)
    frame = torch.rand(1, 3, 32, 32)
    x = frame if frames == 1 else frame.unsqueeze(1).repeat(1, frames, 1, 1, 1)
    with torch.no_grad():
        out = model(x)  # the contract: forward gives the main output; auxiliaries come from forward_with_aux
    assert out.shape == (1, 3, 32, 32) and torch.isfinite(out).all()
    # an SDR frame maps into HDR's range and keeps its picture: PQ codes follow the input's brightness
    y_in, y_out = frame.mean(1).flatten(), out.mean(1).flatten()
    assert torch.corrcoef(torch.stack([y_in, y_out]))[0, 1] > 0.8
