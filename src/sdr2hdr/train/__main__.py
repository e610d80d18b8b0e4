"""`python -m sdr2hdr.train CONFIG ...`: the train command on its own (e.g. under torchrun before the CLI has it)."""

from __future__ import annotations

import argparse
import os
import sys

from sdr2hdr.errors import InputError

from .commands import register


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # noqa: D102 - usage errors are input errors: one line, status 2
        raise InputError(f"{self.prog}: {message}")


def main(argv: list[str] | None = None) -> int:
    parser = _Parser(prog="sdr2hdr")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    register(sub)
    try:
        args = parser.parse_args(["train", *(sys.argv[1:] if argv is None else argv)])
        return args.func(args)
    except InputError as exc:
        print(f"sdr2hdr: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("sdr2hdr: interrupted; continue with --resume", file=sys.stderr)
        return 130
    except Exception as exc:  # noqa: BLE001 - one line unless SDR2HDR_DEBUG=1, as in the CLI
        if os.environ.get("SDR2HDR_DEBUG") == "1":
            raise
        print(f"sdr2hdr: error: {type(exc).__name__}: {exc} (set SDR2HDR_DEBUG=1 for details)", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
