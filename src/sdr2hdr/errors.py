"""How the commands report failure: InputError (the user's input is wrong), a parser and a runner that print it.

InputError is printed as one line `sdr2hdr: error: ...` with exit status 2; `run_cli` does that for any command
body (the `sdr2hdr` CLI and `python -m sdr2hdr.train`), and `CliParser` turns argparse's usage errors into one.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
from collections.abc import Callable


class InputError(Exception):
    """Bad input or arguments: reported to the user as one line, exit status 2, never a traceback."""


class CliParser(argparse.ArgumentParser):
    """argparse that reports usage errors on one line with exit status 2, like every other input error."""

    def error(self, message: str) -> None:  # type: ignore[override] - raises instead of exiting
        # run_cli prefixes "sdr2hdr: error:"; name the subcommand only ("data build: ...")
        command = self.prog.removeprefix("sdr2hdr").strip()
        raise InputError(f"{command}: {message}" if command else message)


def run_cli(body: Callable[[], int], after: str = "") -> int:
    """Run a command's body and turn what it raises into one line on stderr and an exit status.

    Args:
        body: the command; returns its exit status.
        after: what to say after an interrupt (Ctrl-C, SIGTERM, SIGHUP), e.g. how to continue.

    Returns:
        body's status; 2 for an InputError, 130 (128 + SIGINT) for an interrupt, 1 for a closed pipe or any other
        exception (re-raised with its traceback when SDR2HDR_DEBUG=1).
    """
    try:
        return body()
    except InputError as exc:
        print(f"sdr2hdr: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as exc:
        # SIGTERM and SIGHUP arrive as a KeyboardInterrupt carrying their number (cli's handler), so that the
        # same cleanup runs; the exit status is 128 + the signal, as a shell reports it
        signum = getattr(exc, "signum", signal.SIGINT)
        try:
            detail = f"; {after}" if after else ""
            print(f"sdr2hdr: interrupted by {signal.Signals(signum).name}{detail}", file=sys.stderr)
        except OSError:  # the terminal that sent SIGHUP is gone
            pass
        return 128 + signum
    except BrokenPipeError:
        return 1
    except Exception as exc:  # noqa: BLE001 - the user gets one line; SDR2HDR_DEBUG shows the rest
        if os.environ.get("SDR2HDR_DEBUG") == "1":
            raise
        print(f"sdr2hdr: error: {type(exc).__name__}: {exc} (set SDR2HDR_DEBUG=1 for details)", file=sys.stderr)
        return 1
