"""The weights shipped in the package: each loads into its registered model, is small, is the exact file its
card describes (sha256 recomputed), and the default is the one that wins the held-out-curve protocol: its mean
over the curves it never trained on beats the best fixed classical mapping, on the card and again on a small
slice rerun here."""

import numpy as np
import pytest
import torch

from sdr2hdr.models import create, list_models
from sdr2hdr.models.weights import default_model, file_sha256, load_weights, shipped_card, shipped_weights

SHIPPED = [n for n in list_models() if shipped_weights(n) is not None]  # by name: each default tag


def test_the_package_ships_the_trained_models():
    assert {"agcm", "kpnet", "didnet_tiny"} <= set(SHIPPED)


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_weights_fit_their_model_and_card(name):
    assert name in list_models()
    path = shipped_weights(name)
    assert path.stat().st_size < 20 * 1024 * 1024
    card = shipped_card(name)
    assert card["model"] == name and card["weights"] == path.name
    # every card names the exact bytes it describes: weights replaced without their card fail here
    assert card["sha256"] == file_sha256(path)
    if "test_scores" in card:  # the paper models: the fixed builder's test split, at the QP the card compares
        qp = card["best_classical"]["qp"]  # "37", or "uncoded" for the SR-ITM task's input
        assert {"psnr", "ssim", "delta_e_itp"} <= set(card["test_scores"][qp])
        assert card["beats_best_classical"] == (card["test_scores"][qp]["psnr"] > card["best_classical"]["psnr"])
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
    cards = [shipped_card(n) for n in SHIPPED]
    judged = [c for c in cards if "heldout_curves" in c and c["model"] == "adaptive_itm"]
    expected = judged[0]["model"] if judged and judged[0]["heldout_curves"]["beats_best_fixed"] else None
    assert default_model() == expected
    assert sum(bool(c.get("default")) for c in cards) <= 1
    name = default_model()
    if name is None:
        return
    model = create(name).eval()
    load_weights(model, shipped_weights(name))
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


def _heldout_scene(seed: int) -> np.ndarray:
    """A 96x128 HDR picture in cd/m2: smooth regions a few stops apart, fine texture, highlights to 4000 cd/m2."""
    import cv2

    rng = np.random.default_rng(seed)
    texture = cv2.GaussianBlur(rng.standard_normal((96, 128, 3)).astype(np.float32), (0, 0), 4 + seed)
    regions = cv2.GaussianBlur(rng.standard_normal((96, 128)).astype(np.float32), (0, 0), 10)
    nits = 40.0 * np.exp(1.6 * regions[..., None] / regions.std() + 0.25 * texture / texture.std())
    return np.clip(nits, 0.01, 4000.0).astype(np.float32)


def test_a_slice_of_the_defaults_held_out_claim_reruns():
    """The card says the learned model beats its best fixed classical mapping on curves it never trained on:
    rerun that comparison on two pictures through both held-out curves (uncompressed, a slice of the protocol),
    and check the shipped weights do better than the same model untrained."""
    from sdr2hdr.color import pq_inverse_eotf
    from sdr2hdr.data.heldout import HELDOUT_CURVES, _sdr
    from sdr2hdr.engine.convert import classical_mapper
    from sdr2hdr.models.weights import load_model

    card = shipped_card("adaptive_itm")
    claim = card["heldout_curves"]
    assert claim["beats_best_fixed"]
    from sdr2hdr.models import create

    models = {"learned": load_model("adaptive_itm")[0].eval()}
    with torch.random.fork_rng():
        torch.manual_seed(1)
        models["untrained"] = create("adaptive_itm").eval()
    fixed = classical_mapper(claim["best_fixed_classical"])
    psnr: dict[str, list[float]] = {"learned": [], "untrained": [], "fixed": []}
    for seed in (0, 1):
        nits = _heldout_scene(seed)
        target = np.asarray(pq_inverse_eotf(nits), dtype=np.float32)
        for curve in claim.get("curves", HELDOUT_CURVES[:2]):  # the curves the card's claim was made on
            sdr = _sdr(nits, curve, np.random.default_rng(seed))[0].astype(np.float32) / 255.0
            outs = {"fixed": fixed(sdr)}
            with torch.no_grad():
                x = torch.from_numpy(sdr).permute(2, 0, 1)[None]
                for name, model in models.items():
                    outs[name] = model(x).clamp(0, 1)[0].permute(1, 2, 0).numpy()
            for name, out in outs.items():
                psnr[name].append(10 * np.log10(1.0 / np.mean((out - target) ** 2)))
    mean = {k: float(np.mean(v)) for k, v in psnr.items()}
    # measured on this slice: learned 29.9 dB, untrained 26.0, bt2446a 21.8 (the card's full protocol: 26.5
    # against 25.7). The model's structure alone beats the fixed curve here, so the weights must also beat it.
    assert mean["learned"] > mean["fixed"] + 1.0, mean
    assert mean["learned"] > mean["untrained"] + 2.0, mean
