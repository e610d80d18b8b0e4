"""Export every registered model to ONNX, check each in onnxruntime at two sizes, and write the models page's table.

Usage: python -m sdr2hdr.tools.export_all [--doc docs/models.md]   (prints the table; with --doc, replaces the table
between the <!-- onnx-table --> markers in that file)
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
from pathlib import Path

import torch

from sdr2hdr.errors import InputError
from sdr2hdr.models import list_models
from sdr2hdr.models.export import CHECK_SIZE, TOLERANCE, check_export, max_difference
from sdr2hdr.models.weights import shipped_weights
from sdr2hdr.tools import exit_status

SECOND_SIZE = (45, 83)  # odd sides: a padding traced away would show here


def row(name: str, folder: Path) -> str:
    """One table row: exports (inputs, max difference over both sizes) or the one-line reason it does not."""
    weights = "shipped" if shipped_weights(name) else "initialisation"
    try:
        plan, diff, _ = check_export(name, folder / f"{name}.onnx")
    except InputError as exc:
        return f"| `{name}` | no | | | {str(exc).split(': ', 1)[1]} |"
    sdr = torch.rand(1, 3, *SECOND_SIZE, generator=torch.Generator().manual_seed(2))
    diff = max(diff, max_difference(name, folder / f"{name}.onnx", sdr))
    verdict = "yes" if diff <= TOLERANCE else "**over tolerance**"
    return f"| `{name}` | {verdict} | {', '.join(plan.inputs)} | {diff:.1e} | {weights} weights |"


def table() -> str:
    lines = [f"| model | exports | graph inputs | max abs difference (PQ, {CHECK_SIZE[0]}x{CHECK_SIZE[1]} and "
             f"{SECOND_SIZE[0]}x{SECOND_SIZE[1]}) | notes |", "|---|---|---|---:|---|"]
    with tempfile.TemporaryDirectory() as tmp:
        for name in list_models():
            lines.append(row(name, Path(tmp)))
            print(lines[-1], flush=True)
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--doc", type=Path, default=None, help="a markdown file with an onnx-table block")
    args = ap.parse_args()
    text = table()
    if args.doc:
        readme = args.doc.read_text()
        new, n = re.subn(r"(<!-- onnx-table -->\n).*?(<!-- /onnx-table -->)",
                         lambda m: m[1] + text + "\n" + m[2], readme, flags=re.S)
        if n != 1:
            raise InputError(f"{args.doc} has no <!-- onnx-table --> ... <!-- /onnx-table --> block")
        args.doc.write_text(new)


if __name__ == "__main__":
    sys.exit(exit_status(main, "export_all"))
