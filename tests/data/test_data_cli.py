"""`sdr2hdr data build` and `data show` as a user runs them; the default recipe file; starter sources bookkeeping."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import yaml
from clip_tools import run_cli

from sdr2hdr.data import sources as sources_mod
from sdr2hdr.data.recipe import Recipe
from sdr2hdr.io.images import file_sha256

from .data_helpers import tiny_recipe

ROOT = Path(__file__).resolve().parents[2]


def _tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and p.name not in ("build_report.json", "contact_sheet.png")
            and "cache" not in p.relative_to(root).parts}


def test_cli_build_with_two_workers_is_byte_identical_to_the_library_build_and_shows(tiny_sources, tiny_set,
                                                                                      tmp_path):
    recipe = tmp_path / "tiny.yaml"
    recipe.write_text(yaml.safe_dump(tiny_recipe().to_dict()))
    out = tmp_path / "cli_set"
    r = run_cli("data", "build", "--sources", tiny_sources, "--out", out, "--recipe", recipe, "--workers", 2, "--quiet")
    assert r.returncode == 0, r.stderr
    assert "clips (" in r.stdout
    assert _tree(out) == _tree(tiny_set)  # same seed: same bytes, whatever the worker count
    r = run_cli("data", "show", out, "--clips", 2)
    assert r.returncode == 0, r.stderr
    sheet = cv2.imread(str(out / "contact_sheet.png"))
    assert sheet is not None and sheet.shape[1] > 6 * 64


def test_cli_reports_a_missing_sources_folder_on_one_line(tmp_path):
    r = run_cli("data", "build", "--sources", tmp_path / "nope", "--out", tmp_path / "o")
    assert r.returncode == 2 and "sources directory does not exist" in r.stderr


def test_default_recipe_file_spells_out_the_built_in_defaults():
    assert Recipe.from_yaml(ROOT / "configs" / "data" / "default.yaml") == Recipe()
    assert list(Recipe().qps) == [27, 32, 37, 42, 47] and list(Recipe().scales) == [1, 2, 4]


def test_gather_skips_packages_already_there_without_downloading(tmp_path, monkeypatch):
    pkg = sources_mod.STARTER_PACKAGES[0]
    files = {}
    (tmp_path / pkg.folder).mkdir()
    for member in pkg.members:
        rel = f"{pkg.folder}/{member.rsplit('/', 1)[-1]}"
        (tmp_path / rel).write_bytes(rel.encode())
        files[rel] = {"sha256": file_sha256(tmp_path / rel), "licence": pkg.licence}
    (tmp_path / "sources.json").write_text(json.dumps({"files": files}))

    def no_network(*a, **k):
        raise AssertionError("must not download")

    monkeypatch.setattr(sources_mod.subprocess, "run", no_network)
    report = sources_mod.gather(tmp_path, only=[pkg.folder], log=lambda *_: None)
    assert report.present == [pkg.folder] and not report.fetched and not report.failed


def test_every_starter_package_names_its_licence():
    for pkg in sources_mod.STARTER_PACKAGES:
        assert pkg.licence and pkg.licence_note and pkg.licence_members and pkg.members


def test_base64_module_is_decoded_to_exr_bytes():
    import base64

    payload = b"\x76\x2f\x31\x01 exr bytes"
    js = b"export default 'data:application/exr;base64," + base64.b64encode(payload) + b"'\n"
    assert sources_mod._decode_js(js, "x.exr.js") == payload


def test_discovery_uses_sources_json_for_licence_and_projection(tmp_path):
    from .data_helpers import textured_exr

    textured_exr(tmp_path / "pano.exr", hw=(64, 128))
    textured_exr(tmp_path / "flat.exr", hw=(64, 128))
    (tmp_path / "sources.json").write_text(json.dumps({"files": {
        "flat.exr": {"licence": "CC0-1.0", "origin": "test", "projection": "flat"}}}))
    found, skipped = sources_mod.discover(tmp_path)
    by = {s.id: s for s in found}
    assert by["flat.exr"].projection == "flat" and by["flat.exr"].licence == "CC0-1.0"
    assert by["pano.exr"].projection == "equirectangular" and "unknown" in by["pano.exr"].licence
    assert not skipped


def test_make_sample_script_imports_its_pipeline_from_the_data_package():
    from sdr2hdr.data.degrade import hdr_master, sdr_frame
    from sdr2hdr.tools import make_sample as mod

    assert mod.hdr_master is hdr_master and mod.sdr_frame is sdr_frame
