"""`make demo`: convert the bundled SDR sample to HDR10 the way a user with no flags does, and show the result."""

from __future__ import annotations

import argparse
import sys
from importlib import resources
from pathlib import Path

from sdr2hdr.cli import main as cli_main
from sdr2hdr.engine.inspect import describe


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--out", type=Path, default=Path("out/sample_hdr10.mkv"))
    ap.add_argument("--method", default=None, help="a classical mapping instead of the default model")
    args = ap.parse_args(argv)
    sample = resources.files("sdr2hdr") / "assets" / "sample_sdr.mp4"
    args.out.parent.mkdir(parents=True, exist_ok=True)
    print(f"input: {sample} (bundled sample: GoldenGate.exr by ILM, filmed by a virtual camera, tone mapped "
          f"to 8-bit SDR)")
    # no flags: the product's default path (the shipped default model, tier fast)
    flags = ["--method", args.method] if args.method else []
    status = cli_main(["convert", str(sample), str(args.out), *flags, "--overwrite"])
    if status != 0:
        return status
    print(f"\nHDR10 file: {args.out.resolve()}\n")
    print(describe(args.out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
