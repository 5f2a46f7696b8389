"""Read IDX files, the format MNIST ships in, without trusting their headers.

An IDX file is a 4-byte magic (two zero bytes, a type code, the number of
dimensions), one big-endian uint32 per dimension, then the values, big-endian.
The header is checked against a size cap and against the bytes actually present
before the payload is kept, so a damaged or hostile header cannot allocate
gigabytes.
"""

import gzip
import zlib
from pathlib import Path

import numpy as np

from autoencoders.errors import DataError

__all__ = ["MAX_IDX_BYTES", "read_idx"]

MAX_IDX_BYTES = 2**32
"""Largest payload accepted; the MNIST training images are 47 MB."""

_DTYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
_CHUNK_BYTES = 2**20
_GZIP_MAGIC = b"\x1f\x8b"
_FIX = "replace it with a good copy"


def read_idx(path: str | Path) -> np.ndarray:
    """Return the array stored in an IDX file (raw or gzip-compressed).

    Raises :class:`DataError` naming the file for a missing, empty, truncated or
    corrupt file, a bad magic number, trailing bytes or an absurd header.
    """
    path = Path(path)
    try:
        if path.stat().st_size == 0:
            raise DataError(f"{path}: empty file (0 bytes); {_FIX}")
        with _open(path) as stream:
            return _parse(path, stream)
    except FileNotFoundError:
        raise DataError(f"{path}: no such file or directory; check the path") from None
    except (gzip.BadGzipFile, EOFError, zlib.error) as error:
        raise DataError(f"{path}: corrupt gzip data ({_one_line(error)}); {_FIX}") from None
    except OSError as error:
        raise DataError(f"{path}: cannot read the file ({_one_line(error)})") from None


def _open(path: Path):
    with path.open("rb") as probe:
        compressed = probe.read(2) == _GZIP_MAGIC
    return gzip.open(path, "rb") if compressed or path.suffix == ".gz" else path.open("rb")


def _parse(path: Path, stream) -> np.ndarray:
    magic = stream.read(4)
    if len(magic) < 4 or magic[:2] != b"\0\0" or magic[2] not in _DTYPES or magic[3] == 0:
        raise DataError(f"{path}: not an IDX file (bad magic number {magic.hex()!r}); {_FIX}")
    dtype = np.dtype(_DTYPES[magic[2]])
    ndim = magic[3]
    raw_dims = stream.read(4 * ndim)
    if len(raw_dims) < 4 * ndim:
        raise DataError(f"{path}: truncated IDX file: the header ends early; {_FIX}")
    shape = tuple(int(d) for d in np.frombuffer(raw_dims, dtype=">u4"))
    expected = dtype.itemsize * int(np.prod(shape, dtype=object))
    if expected > MAX_IDX_BYTES:
        raise DataError(
            f"{path}: IDX header claims shape {shape} ({expected} bytes), more than the "
            f"{MAX_IDX_BYTES} bytes accepted; the file is damaged, {_FIX}"
        )
    payload = _read_payload(stream, expected)
    if len(payload) < expected:
        raise DataError(
            f"{path}: truncated IDX file: header promises {expected} bytes of data, "
            f"found {len(payload)}; {_FIX}"
        )
    if stream.read(1):
        raise DataError(
            f"{path}: IDX file has trailing bytes after the {expected} bytes its header "
            f"promises; {_FIX}"
        )
    try:
        array = np.frombuffer(payload, dtype=dtype).reshape(shape)
    except ValueError as error:  # over numpy's 64 dimensions, or too big to index though empty
        raise DataError(
            f"{path}: IDX header's {len(shape)}-dimensional shape cannot be held as an array "
            f"({_one_line(error)}); {_FIX}"
        ) from None
    return array.astype(dtype.newbyteorder("="), copy=False)


def _read_payload(stream, expected: int) -> bytearray:
    """Read up to ``expected`` bytes in chunks, so memory follows the real file size."""
    payload = bytearray()
    while len(payload) < expected:
        chunk = stream.read(min(_CHUNK_BYTES, expected - len(payload)))
        if not chunk:
            break
        payload += chunk
    return payload


def _one_line(error: BaseException) -> str:
    return " ".join(str(error).split()) or type(error).__name__
