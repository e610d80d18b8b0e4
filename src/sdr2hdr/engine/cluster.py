"""The Ray session both `batch --ray` and `convert --ray` run in: start or join a cluster, collect finished tasks.

Ray is an optional dependency (the 'scale' extra) and is imported only here, when a command asks for it.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from sdr2hdr.errors import InputError


@contextmanager
def ray_session(address: str, cpus: int | None = None, **local: Any) -> Iterator[Any]:
    """The ray module, initialised for ``address`` ('local': a cluster of ``cpus`` CPUs started here, with the
    ``local`` options of ray.init; else the address of a running one), shut down when the block ends."""
    try:
        import ray
    except ImportError:
        raise InputError("--ray needs Ray: pip install 'sdr2hdr[scale]'") from None
    quiet = {"log_to_driver": False, "configure_logging": False}
    try:
        if address == "local":
            ray.init(num_cpus=cpus, include_dashboard=False, **quiet, **local)
        else:
            ray.init(address=address, **quiet)
    except (ConnectionError, RuntimeError, ValueError) as exc:
        reason = " ".join(str(exc).splitlines()[0].split())[:200]
        raise InputError(f"cannot start or reach the Ray cluster {address!r}: {reason}") from None
    try:
        yield ray
    finally:
        ray.shutdown()


def as_done(ray: Any, submitted: Iterable[tuple[Any, Any]]) -> Iterator[tuple[Any, Any]]:
    """(key, object ref) of each finished task, as soon as it finishes, while ``submitted`` still yields
    (key, ref) pairs; a task is submitted only when its pair is drawn, so submission can wait on earlier work."""
    pending: dict = {}

    def finished(timeout: float | None) -> Iterator[tuple[Any, Any]]:
        done, _ = ray.wait(list(pending), num_returns=1, timeout=timeout)
        for ref in done:
            yield pending.pop(ref), ref

    for key, ref in submitted:
        pending[ref] = key
        yield from finished(0)
    while pending:
        yield from finished(None)
