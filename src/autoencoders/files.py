"""Writing files so that a crash never leaves a half-written file under its final name."""

from __future__ import annotations

import contextlib
import errno
import os
import tempfile
from pathlib import Path

from autoencoders.errors import DataError


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    """Write to a temporary file beside ``path``, fsync, then rename it over ``path``.

    A full disk or a read-only folder raises :class:`DataError` and leaves any
    previous version of ``path`` untouched.
    """
    path = Path(path)
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as error:
        raise DataError(f"{path}: cannot write ({_reason(error)})") from None
    try:
        os.fchmod(fd, 0o666 & ~_umask())  # mkstemp's 0600 would hide the file from others
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError as error:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise DataError(f"{path}: cannot write ({_reason(error)})") from None
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def _umask() -> int:
    """The process's umask (reading it means setting it; it is put back at once)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _reason(error: OSError) -> str:
    if error.errno == errno.ENOSPC:
        return "no space left on the device; free some space or choose another folder"
    if error.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return "permission denied; choose a writable folder"
    return error.strerror or str(error)
