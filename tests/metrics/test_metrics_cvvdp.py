"""ColorVideoVDP through cvvdp's own API on the CPU: 10 JOD for identical content, less for worse, and no network."""

import socket

import numpy as np
import pytest
import torch

from sdr2hdr.metrics import cvvdp_jod, video_vdp


@pytest.fixture
def no_network(monkeypatch):
    """Any attempt to open a connection fails the test: cvvdp must run from the files it ships."""

    def refuse(*args, **kwargs):
        raise AssertionError("cvvdp tried to use the network")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    # build the metric afresh under the patch, not from an earlier test's cache
    video_vdp._metric.cache_clear()
    yield
    video_vdp._metric.cache_clear()


def test_cvvdp_identical_images_score_10_and_degradation_lowers_the_jod(
        no_network, pq_scene, degrade):
    ref = pq_scene(2, 64)
    same = cvvdp_jod(ref, ref)
    assert same.shape == (2,) and torch.allclose(same, torch.full((2,), 10.0), atol=1e-3)
    mild, strong = cvvdp_jod(degrade(ref, 0.01), ref), cvvdp_jod(degrade(ref, 0.08), ref)
    assert torch.all(mild < 10.0 - 1e-3) and torch.all(strong < mild)


def test_cvvdp_batch_equals_single_image_calls(pq_scene, degrade):
    ref = pq_scene(2, 64)
    pred = degrade(ref, 0.03)
    batch = cvvdp_jod(pred, ref)
    singles = torch.stack([cvvdp_jod(pred[i], ref[i]) for i in range(2)])
    torch.testing.assert_close(batch, singles, rtol=1e-5, atol=1e-5)


def test_cvvdp_accepts_numpy_hwc_and_float64(pq_scene, degrade):
    ref = pq_scene(1, 64, dtype=torch.float64)
    pred = degrade(ref, 0.03)
    got = cvvdp_jod(pred[0].permute(1, 2, 0).numpy(), ref[0].permute(1, 2, 0).numpy())
    assert np.ndim(got) == 0
    assert float(got) == pytest.approx(float(cvvdp_jod(pred.float(), ref.float())[0]), abs=1e-5)


def test_cvvdp_scores_a_clip_with_its_frame_rate(pq_scene):
    ref = pq_scene(6, 48)  # six frames of one clip, (T, 3, H, W)
    flicker = ref.clone()
    flicker[1::2] = (flicker[1::2] * 0.9)  # every other frame darker: a temporal artefact
    same = cvvdp_jod(ref, ref, fps=24)
    bad = cvvdp_jod(flicker, ref, fps=24)
    assert same.shape == (1,) and float(same[0]) == pytest.approx(10.0, abs=1e-3)
    assert float(bad[0]) < 9.5
    batch = cvvdp_jod(torch.stack([flicker, ref]), torch.stack([ref, ref]), fps=24)
    assert batch.shape == (2,) and float(batch[0]) == pytest.approx(float(bad[0]), abs=1e-4)


def test_cvvdp_refuses_mismatched_shapes():
    with pytest.raises(ValueError, match="differ in shape"):
        cvvdp_jod(torch.rand(1, 3, 32, 32), torch.rand(1, 3, 32, 48))
