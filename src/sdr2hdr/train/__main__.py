"""`python -m sdr2hdr.train CONFIG ...`: the train command on its own (e.g. under torchrun before the CLI has it)."""

from __future__ import annotations

import sys

from sdr2hdr.errors import CliParser, run_cli

from .commands import register


def main(argv: list[str] | None = None) -> int:
    """Parse `train` arguments and run the command; errors as in the CLI (errors.run_cli)."""

    def body() -> int:
        parser = CliParser(prog="sdr2hdr")
        sub = parser.add_subparsers(dest="command", required=True, parser_class=CliParser)
        register(sub)
        args = parser.parse_args(["train", *(sys.argv[1:] if argv is None else argv)])
        return args.func(args)

    return run_cli(body, after="continue with --resume")


if __name__ == "__main__":
    sys.exit(main())
