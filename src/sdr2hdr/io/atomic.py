"""Files written whole or not at all: a temporary name beside the target, renamed into place when complete."""

from __future__ import annotations

import errno
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

from sdr2hdr.errors import InputError

__all__ = ["WriteError", "unwritable", "write_atomic", "write_text_atomic"]


class WriteError(InputError):
    """An output that could not be written (full disk, quota, size limit, read-only); ``reason`` is the short why."""

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


def write_atomic(path: str | os.PathLike, writer: Callable[[str], None], overwrite: bool = True,
                 durable: bool = False) -> Path:
    """Run writer(tmp) on a temporary file beside path and move it into place only when it succeeded.

    The file gets the mode a plain create would (0666 less the umask). Without ``overwrite`` a file that
    appeared at path meanwhile (another run writing the same output) is never replaced: that is an error.
    A failed write (disk full, file size limit) is an InputError and leaves nothing behind. ``durable``
    also syncs the file before the rename and the folder after it, so a power cut leaves the old file or
    the new one (what a resumable run's records need; it costs a disk flush).
    """
    path = Path(path)
    if not path.parent.exists():
        raise InputError(f"output directory does not exist: {path.parent}")
    # the hidden name must fit in NAME_MAX (255) too: ".", stem, ".", 8 random characters, ".part", suffix
    stem = path.stem[: max(1, 240 - len(".part") - len(path.suffix) - 10)]
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{stem}.", suffix=f".part{path.suffix}", dir=path.parent)
    except OSError as exc:  # a read-only mount or folder, /proc, /sys: name the output, not the hidden file
        raise InputError(unwritable(path.parent, exc)) from None
    os.close(fd)
    try:
        writer(tmp)
        os.chmod(tmp, 0o666 & ~_umask())
        if durable:
            _fsync(tmp)
        _move_into_place(tmp, path, overwrite)
        if durable:
            _fsync(path.parent)
    except OSError as exc:
        if exc.errno not in _WRITE_ERRORS:
            raise
        reason = exc.strerror or str(exc)
        raise WriteError(f"cannot write {path}: {reason} (check free space, quota and file size limits)",
                         reason) from None
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path


def unwritable(folder: str | os.PathLike, exc: OSError) -> str:
    """The one-line reason a file cannot be created in ``folder`` (read-only, no permission, not a real folder)."""
    reason = {errno.EROFS: "the file system is read-only", errno.EACCES: "permission denied",
              errno.EPERM: "permission denied",
              errno.ENOENT: "not a folder files can be created in"}.get(exc.errno, exc.strerror or str(exc))
    return f"cannot write in {folder}: {reason}; choose an output folder you can write to"


# what a full disk, a quota, a file size limit or a read-only or failing file system give
_WRITE_ERRORS = {errno.ENOSPC, errno.EFBIG, errno.EDQUOT, errno.EROFS, errno.EIO, errno.EACCES, errno.EPERM}


def _fsync(path: str | os.PathLike) -> None:
    """Flush a file's or a folder's data (a folder: its entries, so a rename in it survives a power cut)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _umask() -> int:
    mask = os.umask(0o022)  # the only portable way to read it is to set it; restored at once
    os.umask(mask)
    return mask


def _move_into_place(tmp: str, path: Path, overwrite: bool) -> None:
    if overwrite:
        os.replace(tmp, path)
        return
    try:
        os.link(tmp, path)  # fails if path exists: unlike rename, it never replaces a file that appeared meanwhile
    except FileExistsError:
        raise InputError(f"output exists: {path} (another run wrote it meanwhile; use --overwrite to replace "
                         f"it)") from None
    except OSError:  # a file system without hard links: the check and the rename are then two steps
        if path.exists():
            raise InputError(f"output exists: {path} (use --overwrite to replace it)") from None
        os.replace(tmp, path)
    else:
        os.unlink(tmp)



def write_text_atomic(path: str | os.PathLike, text: str, durable: bool = False) -> Path:
    """Write text (UTF-8) to path through write_atomic: a reader sees the old file or the whole new one."""
    return write_atomic(path, lambda tmp: Path(tmp).write_text(text, encoding="utf-8"), durable=durable)
