"""The compressed file format, and the range coding of integer codes with ``constriction``.

A file holds one image or an archive of many, all coded with one model::

    magic "\\xaeC" (2 bytes) | format (1): version, + 0x80 for an archive | model id (4)
    | archives only: image count (LEB128) | range-coded payload | CRC-32 (4, big-endian)

The CRC covers everything before it. Eleven bytes in all for one image (the size of a
small digit's file is 60–100 bytes, so every byte counts): every file names the model
that can decode it, and a damaged file is refused before anything is decoded.
"""

from __future__ import annotations

import struct
import zlib

import numpy as np

from autoencoders.errors import AutoencodersError, DataError

try:
    import constriction
except ImportError:  # an optional dependency: say how to get it when it is needed
    constriction = None

MAGIC = b"\xaeC"
FORMAT_VERSION = 1
MODEL_ID_BYTES = 4
_HEAD = struct.Struct(f">2sB{MODEL_ID_BYTES}s")
_CRC = struct.Struct(">I")
ARCHIVE = 0x80
MAX_IMAGES = 2**32


def pack(model_id: bytes, count: int, payload: bytes) -> bytes:
    """Header, payload and checksum as one file's bytes."""
    archive = count != 1
    head = _HEAD.pack(
        MAGIC, FORMAT_VERSION | (ARCHIVE if archive else 0), model_id[:MODEL_ID_BYTES]
    )
    body = head + (_leb128(count) if archive else b"") + payload
    return body + _CRC.pack(zlib.crc32(body))


def unpack(data: bytes, model_id: bytes, *, name: str = "data") -> tuple[int, bytes]:
    """Check a file against the model that should decode it; return (count, payload).

    Raises :class:`DataError` naming the problem: not a compressed file, a newer format,
    a damaged file (checksum), or a file made with another model.
    """
    if len(data) < _HEAD.size + _CRC.size or data[:2] != MAGIC:
        raise DataError(f"{name}: not a file made by `autoencoders compress` (bad magic number)")
    _, form, file_model = _HEAD.unpack_from(data)
    version = form & ~ARCHIVE
    if version != FORMAT_VERSION:
        raise DataError(
            f"{name}: compressed with format version {version}; this library reads "
            f"version {FORMAT_VERSION}"
        )
    (checksum,) = _CRC.unpack_from(data, len(data) - _CRC.size)
    body = data[: -_CRC.size]
    if zlib.crc32(body) != checksum:
        raise DataError(f"{name}: damaged file (checksum mismatch); it cannot be decoded")
    if file_model != model_id[:MODEL_ID_BYTES]:
        raise DataError(
            f"{name}: compressed with model {file_model.hex()}, but this codec is model "
            f"{model_id[:MODEL_ID_BYTES].hex()}; decompress it with the run that made it"
        )
    if not form & ARCHIVE:
        return 1, body[_HEAD.size :]
    count, start = _read_leb128(body, _HEAD.size, name)
    return count, body[start:]


class SymbolEncoder:
    """Range-codes groups of integer symbols, each with its own integer probability table.

    ``encode(symbols, counts)``: ``counts`` is one table (``(L,)``, the symbols i.i.d.)
    or one row per symbol (``(len(symbols), L)``); a symbol ``s`` has probability
    ``counts[s] / counts.sum()``. :meth:`finish` returns the payload.
    """

    def __init__(self) -> None:
        _require_constriction()
        self._coder = constriction.stream.queue.RangeEncoder()
        self._groups: list[tuple[np.ndarray, np.ndarray]] = []

    def encode(self, symbols: np.ndarray, counts: np.ndarray) -> None:
        symbols = np.ascontiguousarray(symbols, dtype=np.int32).reshape(-1)
        if symbols.size:
            model, *rows = _model(counts)
            self._coder.encode(symbols, model, *rows)
            self._groups.append((symbols, counts))

    def finish(self) -> bytes:
        """The coder's 32-bit words, big-endian, cut as short as decoding allows.

        The decoder reads missing bytes as zeros, and the final value may be any number
        in the coder's last interval, so the tail is rounded up to the shortest number
        that still decodes to the same symbols (checked by decoding; 1.7 bytes saved
        per file on average).
        """
        payload = self._coder.get_compressed().astype(">u4").tobytes().rstrip(b"\0")
        value = int.from_bytes(payload, "big")
        for cut in range(1, len(payload) + 1):  # a shorter cut works whenever a longer one does
            unit = 256**cut
            rounded = -(-value // unit) * unit
            if rounded >= 256 ** len(payload):
                break
            shorter = rounded.to_bytes(len(payload), "big").rstrip(b"\0")
            if not self._decodes_from(shorter):
                break
            payload = shorter
        return payload

    def _decodes_from(self, payload: bytes) -> bool:
        decoder = SymbolDecoder(payload)
        try:
            return all(
                np.array_equal(decoder.decode(counts, len(symbols)), symbols)
                for symbols, counts in self._groups
            )
        except DataError:
            return False


class SymbolDecoder:
    """Reads back what :class:`SymbolEncoder` wrote, group by group, with the same tables."""

    def __init__(self, payload: bytes) -> None:
        _require_constriction()
        padded = payload + b"\0" * (-len(payload) % 4)
        words = np.frombuffer(padded, dtype=">u4").astype(np.uint32)
        self._coder = constriction.stream.queue.RangeDecoder(words)

    def decode(self, counts: np.ndarray, n: int) -> np.ndarray:
        if n == 0:
            return np.zeros(0, dtype=np.int32)
        model, *rows = _model(counts)
        try:
            return np.asarray(
                self._coder.decode(model, *rows) if rows else self._coder.decode(model, n),
                dtype=np.int32,
            )
        except (ValueError, RuntimeError, AssertionError) as error:
            raise DataError(f"undecodable payload ({error})") from None


def _model(counts: np.ndarray) -> tuple:
    """constriction's categorical model of a table (fixed) or of rows (given per symbol)."""
    probabilities = np.ascontiguousarray(counts, dtype=np.float64)
    if probabilities.ndim == 1:
        return (constriction.stream.model.Categorical(probabilities, perfect=False),)
    return constriction.stream.model.Categorical(perfect=False), probabilities


def _require_constriction() -> None:
    if constriction is None:
        raise AutoencodersError(
            "compression needs the constriction package: pip install 'autoencoders[compression]'"
        )


def _leb128(value: int) -> bytes:
    """Unsigned LEB128: one byte for counts below 128."""
    if not 0 <= value < MAX_IMAGES:
        raise DataError(f"cannot store {value} images in one file (at most {MAX_IMAGES - 1})")
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def _read_leb128(data: bytes, start: int, name: str) -> tuple[int, int]:
    value = shift = 0
    for i in range(start, min(len(data), start + 5)):
        value |= (data[i] & 0x7F) << shift
        shift += 7
        if not data[i] & 0x80:
            return value, i + 1
    raise DataError(f"{name}: damaged file (bad image count)")
