"""The code's shape, read from the source: no function in src/ over 60 lines, and imports only point down the layers."""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "sdr2hdr"
MAX_LINES = 60

# Bottom first. A module may import only from a lower layer (its own package aside): signal maths and files at the
# bottom, the models and data above them, training and the conversion engine on those, the benchmark (which runs
# conversions and reads training checkpoints) above both, and the faces (API, batch, CLI, the maintainers' tools) on
# top: the floors the package's import graph has. The package root (sdr2hdr/__init__.py) is no layer: it holds
# __version__ and resolves the API's names lazily, so anything may read it.
LAYERS = [
    {"errors", "argtypes"},
    {"color"},
    {"tonemap", "metrics", "io"},
    {"models"},
    {"data"},
    {"train", "engine"},
    {"bench"},
    {"api"},
    {"batch"},
    {"cli"},
    {"demo", "__main__", "tools"},
]
LAYER = {unit: i for i, units in enumerate(LAYERS) for unit in units}

def _sources() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def _unit(rel: Path) -> str:
    """The package or top-level module a file belongs to: data for data/build.py, cli for cli.py."""
    return rel.parts[0] if len(rel.parts) > 1 else rel.stem


def _imported_units(path: Path, root: Path = PACKAGE) -> list[tuple[int, str]]:
    """(line, unit) of every import of this project's code in a file, relative ones resolved; root imports left out."""
    rel = path.relative_to(root)
    package = ["sdr2hdr", *rel.parent.parts]
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            modules = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = package[:len(package) - node.level + 1] if node.level else []
            module = ".".join(base + ([node.module] if node.module else []))
            # `from sdr2hdr import api` names a module; `from sdr2hdr import __version__` the root itself
            modules = [f"{module}.{a.name}" if module == "sdr2hdr" else module for a in node.names]
        else:
            continue
        for name in modules:
            parts = name.split(".")
            if parts[0] == "sdr2hdr" and len(parts) > 1 and parts[1] in LAYER:
                found.append((node.lineno, parts[1]))
    return found


def test_every_part_of_the_package_has_a_layer():
    units = {_unit(p.relative_to(PACKAGE)) for p in _sources()} - {"__init__"}
    assert units - set(LAYER) == set(), "place the new package or module in LAYERS"


def _upward_imports() -> dict[str, str]:
    """{"file -> unit": where} for every import of a unit not below the importing file's own."""
    upward = {}
    for path in _sources():
        rel = path.relative_to(PACKAGE)
        unit = _unit(rel)
        if unit == "__init__":
            continue
        for line, target in _imported_units(path):
            if target != unit and LAYER[target] >= LAYER[unit]:
                upward[f"{rel} -> {target}"] = f"line {line}: layer {LAYER[target]}, not below {unit}'s {LAYER[unit]}"
    return upward


def _long_functions() -> dict[str, int]:
    """{"file:function": lines} for every function (method, nested function) over MAX_LINES lines."""
    long = {}
    for path in _sources():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                lines = node.end_lineno - node.lineno + 1
                if lines > MAX_LINES:
                    long[f"{path.relative_to(PACKAGE).as_posix()}:{node.name}"] = lines
    return long


def test_imports_point_down_the_layers():
    assert _upward_imports() == {}


def test_no_function_is_over_60_lines():
    assert _long_functions() == {}


@pytest.mark.parametrize(("source", "expected"), [
    ("from sdr2hdr.engine.convert import x\n", [(1, "engine")]),
    ("from ..engine import convert\n", [(1, "engine")]),
    ("from . import gamut\n", [(1, "color")]),
    ("import sdr2hdr.io.images\n", [(1, "io")]),
    ("from sdr2hdr import api\nfrom sdr2hdr import __version__\nimport numpy\n", [(1, "api")]),
])
def test_the_import_reader_resolves_absolute_relative_and_root_imports(tmp_path, source, expected):
    # the checks above are only as good as this reader: a file placed as color/probe.py of a copy of the package
    root = tmp_path / "sdr2hdr"
    (root / "color").mkdir(parents=True)
    probe = root / "color" / "probe.py"
    probe.write_text(source)
    assert _imported_units(probe, root) == expected
