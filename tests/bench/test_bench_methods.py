"""Methods the benchmark compares: classical anchors, temporal windows, averaging of the last checkpoints."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from sdr2hdr.bench.methods import average_checkpoints, classical_method, model_method
from sdr2hdr.engine.infer import window
from sdr2hdr.errors import InputError
from sdr2hdr.models import create
from sdr2hdr.models.weights import save_weights


def test_window_repeats_the_clip_ends():
    frames = list(range(6))
    assert window(frames, 0, 5) == [0, 0, 0, 1, 2]
    assert window(frames, 3, 5) == [1, 2, 3, 4, 5]
    assert window(frames, 5, 5) == [3, 4, 5, 5, 5]
    assert window(frames, 2, 1) == [2]


def test_classical_label_names_the_sdr_white_anchor():
    m = classical_method("bt2446c")
    assert "332" in m.label and m.kind == "classical" and m.params is None
    out, secs = m.run([np.full((4, 4, 3), 1.0, np.float32)], 0)
    assert out.shape == (4, 4, 3) and secs >= 0.0


def test_multi_frame_model_sees_a_window_and_returns_one_frame(tmp_path):
    torch.manual_seed(0)
    path = save_weights(create("didnet_tiny"), tmp_path / "w.safetensors")
    m = model_method("didnet_tiny", path, device="cpu")
    assert m.frames == 5 and m.params > 0
    frames = [np.random.default_rng(i).random((32, 32, 3), dtype=np.float32) for i in range(3)]
    out, _ = m.run(frames, 0)
    assert out.shape == (32, 32, 3) and np.isfinite(out).all()


def test_a_model_without_weights_is_refused():
    with pytest.raises(InputError, match="no shipped weights"):
        model_method("adaptive_itm_local", None)


def _checkpoint(model, step, folder, value):
    for p in model.parameters():
        torch.nn.init.constant_(p, value)
    # the training loop's checkpoints also carry NumPy RNG states, which weights_only loading refuses
    torch.save({"model": model.state_dict(), "step": step, "rng": np.random.get_state()},
               folder / f"step_{step:08d}.pt")


def test_average_last_k_is_the_mean_of_the_newest_checkpoints(tmp_path):
    model = create("agcm")
    for step, value in ((100, 9.0), (200, 1.0), (300, 2.0), (1000, 3.0)):
        _checkpoint(model, step, tmp_path, value)
    used = average_checkpoints(model, tmp_path, 3)
    assert [p.name for p in used] == ["step_00000200.pt", "step_00000300.pt", "step_00001000.pt"]
    assert all(torch.allclose(p, torch.full_like(p, 2.0)) for p in model.parameters())
    with pytest.raises(InputError, match="fewer than the 5"):
        average_checkpoints(model, tmp_path, 5)


def test_averaging_checkpoints_of_another_model_names_the_tensor(tmp_path):
    _checkpoint(create("agcm"), 1, tmp_path, 0.0)
    with pytest.raises(InputError, match="does not fit .* tensor"):
        average_checkpoints(create("csrnet"), tmp_path, 1)
