"""Model inference: tiling equals a whole-frame pass, temporal windows line up, weights load strictly."""

import numpy as np
import pytest
import torch
from torch import nn

from sdr2hdr.engine.infer import ModelRunner, ModelStream
from sdr2hdr.errors import InputError
from sdr2hdr.models.weights import load_weights, save_weights


class _LocalNet(nn.Module):
    """Three 3x3 convs: receptive radius 3, so tiles overlapping by more than 6 px agree with a full pass."""

    scale, frames = 1, 1

    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, 8, 3, padding=1),
                                  nn.ReLU(), nn.Conv2d(8, 3, 3, padding=1))

    def forward(self, x):
        return torch.sigmoid(self.body(x))


class _Upscale2(_LocalNet):
    scale = 2

    def forward(self, x):
        return nn.functional.interpolate(super().forward(x), scale_factor=2, mode="nearest")


class _FirstOfWindow(nn.Module):
    """Returns the first frame of its 3-frame window: shows which frames the stream put in each window."""

    scale, frames = 1, 3

    def forward(self, x):
        return x[:, 0]


@pytest.mark.parametrize("net", [_LocalNet, _Upscale2])
def test_tiled_pass_equals_whole_frame_pass(net):
    torch.manual_seed(0)
    model = net()
    x = torch.rand(2, 3, 70, 101)
    whole = ModelRunner(model, device="cpu", tile=None, channels_last=False)(x)
    tiled = ModelRunner(model, device="cpu", tile=32, overlap=12, channels_last=False)(x)
    assert tiled.shape == (2, 3, 70 * net.scale, 101 * net.scale)
    torch.testing.assert_close(tiled, whole, atol=1e-5, rtol=0)


def test_bf16_autocast_stays_close_to_fp32():
    torch.manual_seed(0)
    model = _LocalNet()
    x = torch.rand(1, 3, 40, 40)
    a = ModelRunner(model, device="cpu", precision="fp32")(x)
    b = ModelRunner(model, device="cpu", precision="bf16")(x)
    assert (a - b).abs().max() < 0.02


def test_multi_frame_stream_centres_each_window_and_repeats_the_ends():
    frames = [np.full((4, 6, 3), i / 10, np.float32) for i in range(5)]
    stream = ModelStream("first", ModelRunner(_FirstOfWindow(), device="cpu", channels_last=False))
    out = []
    for f in frames:
        out += stream.push(f)
    out += stream.flush()
    assert len(out) == 5
    # window for frame k is (k-1, k, k+1) with frame 0 repeated before the clip
    assert [round(float(o[0, 0, 0]) * 10) for o in out] == [0, 0, 1, 2, 3]


def test_single_frame_stream_has_no_delay():
    stream = ModelStream("local", ModelRunner(_LocalNet(), device="cpu"))
    assert len(stream.push(np.zeros((8, 8, 3), np.float32))) == 1
    assert stream.flush() == []


def test_weights_round_trip_and_named_refusals(tmp_path):
    torch.manual_seed(0)
    a, b = _LocalNet(), _LocalNet()
    save_weights(a, tmp_path / "w.safetensors", {"model": "local"})
    assert load_weights(b, tmp_path / "w.safetensors")["model"] == "local"
    torch.testing.assert_close(a.body[0].weight, b.body[0].weight)
    with pytest.raises(InputError, match=r"tensor 'body\.0\.weight' has shape"):
        other = nn.Module()
        other.body = nn.Sequential(nn.Conv2d(3, 4, 3))
        load_weights(other, tmp_path / "w.safetensors")
    with pytest.raises(InputError, match="is missing"):
        bigger = _LocalNet()
        bigger.extra = nn.Linear(2, 2)
        load_weights(bigger, tmp_path / "w.safetensors")
    (tmp_path / "bad.safetensors").write_bytes(b"junk")
    with pytest.raises(InputError, match="cannot read weights"):
        load_weights(a, tmp_path / "bad.safetensors")


def test_tiling_keeps_the_global_condition_of_the_whole_frame():
    from sdr2hdr.models import create

    torch.manual_seed(0)
    model = create("agcm")
    x = torch.rand(1, 3, 96, 128)
    whole = ModelRunner(model, device="cpu", tile=None)(x)
    tiled = ModelRunner(model, device="cpu", tile=64, overlap=16)(x)
    # AGCM is 1x1 convolutions plus a frame-level condition: tiles agree exactly once the condition is global
    torch.testing.assert_close(tiled, whole, atol=1e-5, rtol=0)


def test_default_overlap_follows_the_model_receptive_radius():
    from sdr2hdr.engine.infer import default_overlap
    from sdr2hdr.models import create

    assert default_overlap(_LocalNet()) == 32  # no receptive_radius: the engine's minimum
    assert default_overlap(create("hdrunet")) == 4 * create("hdrunet").receptive_radius
    assert ModelRunner(create("kpnet"), device="cpu").overlap % create("kpnet").size_multiple == 0


def test_tiles_start_on_the_model_grid_and_cover_the_frame():
    from sdr2hdr.engine.infer import _tile_spans

    spans = _tile_spans(203, 64, 32, 8)
    assert all(a % 8 == 0 for a, _ in spans)
    assert spans[0][0] == 0 and spans[-1][1] == 203
    assert all(b0 < a1 for (_, a1), (b0, _) in zip(spans, spans[1:]))  # neighbours overlap
    assert max(b - a for a, b in spans) < 64 + 8
    assert _tile_spans(50, 64, 32, 8) == [(0, 50)]


def test_tiles_share_the_frame_prior():
    class _MeanShift(nn.Module):
        """Adds the frame's mean: a global prior in its simplest form."""

        scale, frames = 1, 1

        def prior(self, frame):
            return frame.mean(dim=(2, 3))

        def forward(self, x, prior=None):
            return x + (self.prior(x) if prior is None else prior)[:, :, None, None]

    x = torch.rand(1, 3, 100, 130)
    whole = ModelRunner(_MeanShift(), device="cpu", tile=None, max_value=3.0)(x)
    tiled = ModelRunner(_MeanShift(), device="cpu", tile=48, max_value=3.0)(x)
    torch.testing.assert_close(tiled, whole, atol=1e-6, rtol=0)
