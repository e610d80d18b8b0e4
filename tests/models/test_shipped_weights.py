"""The weights shipped in the package: each loads into its registered model, is small, has a card made by the
benchmark with the weights' sha256, and the default is the one that wins the held-out-curve protocol: its mean
over the curves it never trained on beats the best fixed classical mapping."""

import hashlib

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
    if "sha256" in card:
        assert card["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    if "test_scores" in card:  # the paper models: the fixed builder's test split per QP
        for qp in ("27", "32", "37", "42"):
            assert {"psnr", "ssim", "ms_ssim", "delta_e_itp"} <= set(card["test_scores"][qp])
        assert card["beats_best_classical"] == (card["test_scores"]["37"]["psnr"] > card["best_classical"]["psnr"])
    if "heldout_curves" in card:  # the default's family: the held-out-curve protocol
        h = card["heldout_curves"]
        fixed = h["scores"][h["best_fixed_classical"]]["psnr"]
        assert h["beats_best_fixed"] == (h["scores"]["learned"]["psnr"] > fixed)
        assert fixed == max(v["psnr"] for k, v in h["scores"].items() if k != "learned")
    model = create(name).eval()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    load_weights(model, path)
    # trained weights, not the initialisation
    assert any(not torch.equal(before[k], v) for k, v in model.state_dict().items())


def test_the_default_wins_the_held_out_curve_protocol_and_runs():
    cards = [json.loads((weights_dir() / f"{n}.json").read_text()) for n in SHIPPED]
    judged = [c for c in cards if "heldout_curves" in c and c["model"] == "adaptive_itm"]
    expected = judged[0]["model"] if judged and judged[0]["heldout_curves"]["beats_best_fixed"] else None
    assert default_model() == expected
    assert sum(bool(c.get("default")) for c in cards) <= 1
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
