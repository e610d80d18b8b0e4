"""train_informed: the restoration of a known curve trains on that curve's clips, starts as the exact inverse and
ends closer to the target than it; resume continues."""

import json
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))

from bench_fixture import make_dataset  # noqa: E402

from sdr2hdr.data.datasets import ArrayCache, BuiltSet  # noqa: E402
from sdr2hdr.errors import InputError  # noqa: E402
from sdr2hdr.models import create  # noqa: E402
from sdr2hdr.models.weights import load_weights  # noqa: E402
from sdr2hdr.train.informed import train_informed  # noqa: E402

QPS = (27, 37)


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("informed_set")
    make_dataset(root, tmos=("bt2446c",))
    return root


def _l1(model, data: Path) -> float:
    built, cache = BuiltSet(data, "train"), ArrayCache(data)
    clip = built.clips[0]
    x = torch.from_numpy(cache.get(clip, "lq/qp37/x1")[:2].astype(np.float32) / 255).permute(0, 3, 1, 2)
    y = torch.from_numpy(cache.get(clip, "hdr")[:2].astype(np.float32) / 65535).permute(0, 3, 1, 2)
    with torch.no_grad():
        return float((model(x) - y).abs().mean())


def test_training_lowers_the_error_below_the_exact_inverse(data, tmp_path):
    run = train_informed(data, "bt2446c", tmp_path / "run", steps=40, batch=4, patch=48, lr=1e-3, qps=QPS,
                         progress=False, log=lambda *a: None)
    card = json.loads((run / "weights.json").read_text())
    assert card["model"] == "informed_bt2446c" and card["steps"] == 40 and card["data"]["curve"] == "bt2446c"
    start = create("informed_bt2446c").eval()  # zero-initialised output layer: exactly the inverse
    trained = create("informed_bt2446c").eval()
    load_weights(trained, run / "weights.safetensors")
    assert _l1(trained, data) < _l1(start, data)
    # resuming a finished run does no more steps and keeps the weights
    before = (run / "weights.safetensors").read_bytes()
    train_informed(data, "bt2446c", run, steps=40, batch=4, patch=48, qps=QPS, resume=True, progress=False,
                   log=lambda *a: None)
    assert len((run / "log.csv").read_text().splitlines()) == 1  # step 40 written once, nothing after
    assert (run / "weights.safetensors").read_bytes() == before


def test_a_curve_without_clips_is_refused(data, tmp_path):
    with pytest.raises(InputError, match="hable"):
        train_informed(data, "hable", tmp_path / "none", steps=1, progress=False)


def test_init_starts_from_given_weights_and_the_card_says_so(data, tmp_path):
    first = train_informed(data, "bt2446c", tmp_path / "first", steps=20, batch=4, patch=48, lr=1e-3, qps=QPS,
                           progress=False, log=lambda *a: None)
    # zero steps' worth of learning rate: the continued run must end exactly where its init was
    cont = train_informed(data, "bt2446c", tmp_path / "cont", steps=1, batch=4, patch=48, lr=1e-12, qps=QPS,
                          progress=False, log=lambda *a: None, init=first / "weights.safetensors")
    a, b = create("informed_bt2446c").eval(), create("informed_bt2446c").eval()
    load_weights(a, first / "weights.safetensors")
    load_weights(b, cont / "weights.safetensors")
    for (k, va), vb in zip(a.state_dict().items(), b.state_dict().values()):
        assert torch.allclose(va, vb, atol=1e-6), k
    assert json.loads((cont / "weights.json").read_text())["initialised_from"] == "weights.safetensors"


def test_cached_inverse_patches_equal_the_inverse_of_the_patch(data):
    from sdr2hdr.tonemap.source_inverse import source_inverse
    from sdr2hdr.train.informed import _load, _sample

    lq, hdr = _load(data, "bt2446c", QPS)
    inverse = source_inverse("bt2446c")
    x, inv, _ = _sample(lq, hdr, inverse, QPS, 3, 32, np.random.default_rng(1), cache={})
    direct = np.stack([inverse(f) for f in x.permute(0, 2, 3, 1).numpy()])
    # float16 storage of the whole frame's inverse: within half a 10-bit code
    assert np.abs(inv.permute(0, 2, 3, 1).numpy() - direct).max() < 0.5 / 1023
