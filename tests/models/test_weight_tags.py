"""Versioned shipped weights: NAME.TAG names, the default tag, sha256 checked on load, no overwrite in place,
and each shipped tag's golden output on a fixed input."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest
import torch

from sdr2hdr.errors import InputError
from sdr2hdr.models import create, list_models
from sdr2hdr.models.weights import (
    default_model,
    default_tag,
    file_sha256,
    load_model,
    save_weights,
    ship,
    shipped_card,
    shipped_tags,
    shipped_weights,
    split_tag,
    weights_dir,
)

sys.path.insert(0, str(Path(__file__).parent))
from golden import golden_output, recorded  # noqa: E402

SHIPPED = [f"{n}.{t}" for n in list_models() for t in shipped_tags(n)]


def test_every_shipped_file_has_a_tag_a_default_and_a_card_naming_its_bytes():
    assert len(SHIPPED) >= 6
    for key in SHIPPED:
        name, tag = split_tag(key)
        card = shipped_card(key)
        assert card["model"] == name and card["tag"] == tag and card["weights"] == f"{key}.safetensors"
        assert card["sha256"] == file_sha256(shipped_weights(key))
        assert default_tag(name) is not None and shipped_weights(name) == shipped_weights(f"{name}.{default_tag(name)}")
    assert default_model() == "adaptive_itm"


def test_a_tagged_name_loads_that_training_and_an_unknown_tag_lists_the_shipped_ones():
    model, path = load_model("kpnet.cpu_s5000")
    assert path.name == "kpnet.cpu_s5000.safetensors" and type(model).__name__ == "KPNet"
    with pytest.raises(InputError, match="shipped tags: cpu_s5000"):
        load_model("kpnet.nope")


@pytest.fixture
def own_dir(tmp_path, monkeypatch):
    folder = tmp_path / "weights"
    shutil.copytree(weights_dir(), folder)
    monkeypatch.setenv("SDR2HDR_WEIGHTS_DIR", str(folder))
    return folder


def test_weights_whose_bytes_differ_from_their_card_are_refused(own_dir):
    path = own_dir / "agcm.cpu_s2500.safetensors"
    data = bytearray(path.read_bytes())
    data[-1] ^= 0x01  # one bit of the last tensor
    path.write_bytes(bytes(data))
    with pytest.raises(InputError, match="do not match the sha256 in their card"):
        load_model("agcm")


def test_shipping_a_new_training_adds_a_tag_and_never_overwrites_one(own_dir, tmp_path):
    torch.manual_seed(1)
    new = save_weights(create("agcm"), tmp_path / "new.safetensors")
    ship(new, "agcm", {"summary": "a second training"}, tag="retrained")
    assert shipped_tags("agcm") == ["cpu_s2500", "retrained"] and default_tag("agcm") == "retrained"
    assert shipped_card("agcm.cpu_s2500")["default_tag"] is False
    assert load_model("agcm")[1].name == "agcm.retrained.safetensors"
    assert load_model("agcm.cpu_s2500")[1].name == "agcm.cpu_s2500.safetensors"  # the old one is still there
    torch.manual_seed(2)
    other = save_weights(create("agcm"), tmp_path / "other.safetensors")
    with pytest.raises(InputError, match="already shipped with other weights"):
        ship(other, "agcm", {"summary": "clash"}, tag="cpu_s2500")
    assert shipped_card("agcm.cpu_s2500")["sha256"] == file_sha256(own_dir / "agcm.cpu_s2500.safetensors")


@pytest.mark.parametrize("key", SHIPPED)
def test_each_shipped_tag_gives_its_golden_output(key):
    want = recorded().get(key)
    assert want is not None, f"no golden output for {key}: run tests/models/make_golden.py after shipping it"
    got = golden_output(key)
    assert got["shape"] == want["shape"]
    assert got["mean"] == pytest.approx(want["mean"], abs=1e-5)
    assert got["std"] == pytest.approx(want["std"], abs=1e-5)
    assert got["samples"] == pytest.approx(want["samples"], abs=1e-4)
