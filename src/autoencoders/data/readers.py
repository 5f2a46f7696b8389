"""Read a user's data file (.npy, .npz, .csv, IDX) or image folder into arrays.

Every reader returns a :class:`FileData` and raises :class:`DataError` with a
one-line message naming the file. Nothing is ever unpickled.
"""

import csv
import math
import os
import stat
import zipfile
import zlib
from collections.abc import Iterator
from pathlib import Path
from tokenize import TokenError
from typing import NamedTuple

import numpy as np

from autoencoders.data.idx import read_idx
from autoencoders.data.image_folder import read_image_folder
from autoencoders.errors import DataError, one_line

__all__ = ["SUPPORTED_FORMATS", "FileData", "read_array_file", "read_csv", "read_image_folder"]

SUPPORTED_FORMATS = ".npy, .npz, .csv, IDX (*-ubyte[.gz], .idx) or a folder of PNG/JPEG images"

_NPY_MAGIC = b"\x93NUMPY"
_CHUNK_ELEMENTS = 2**20


class FileData(NamedTuple):
    """What a file holds: samples ``X``, integer labels ``y`` (or None), label names."""

    X: np.ndarray
    y: np.ndarray | None
    class_names: tuple[str, ...] | None = None


def read_array_file(
    path: str | Path,
    *,
    label_column: str | None = None,
    image_size: int | tuple[int, int] | None = None,
) -> FileData:
    """Read ``path`` with the reader its suffix (or being a folder) calls for."""
    path = Path(path).expanduser()
    try:
        is_dir = stat.S_ISDIR(path.stat().st_mode)
    except FileNotFoundError:
        raise DataError(f"{path}: no such file or directory; check the path") from None
    except OSError as error:
        raise DataError(f"{path}: cannot access ({one_line(error)})") from None
    if is_dir:
        _refuse_label_column(path, label_column, "an image folder's labels are its subfolders")
        return FileData(*read_image_folder(path, image_size=image_size))
    if image_size is not None:
        raise DataError(f"{path}: image_size only applies to image folders; drop it")
    suffix = path.suffix.lower()
    name = path.name.lower()
    try:
        if suffix == ".npy":
            _refuse_label_column(path, label_column, "a .npy file holds one array")
            return read_npy(path)
        if suffix == ".npz":
            return read_npz(path, label_column=label_column)
        if suffix == ".csv":
            return read_csv(path, label_column=label_column)
        if suffix == ".idx" or name.endswith(("-ubyte", "-ubyte.gz")):
            _refuse_label_column(path, label_column, "labels come in a separate IDX file")
            return FileData(_check_values(path, read_idx(path)), None)
    except PermissionError:
        raise DataError(f"{path}: permission denied; make the file readable") from None
    except OSError as error:
        raise DataError(f"{path}: cannot read the file ({one_line(error)})") from None
    raise DataError(f"{path}: unsupported file type {suffix!r}; use {SUPPORTED_FORMATS}")


# --- NumPy files -----------------------------------------------------------------------


def read_npy(path: Path) -> FileData:
    """Memory-map a .npy file, so a large array is not read whole."""
    with path.open("rb") as stream:
        if stream.read(len(_NPY_MAGIC)) != _NPY_MAGIC:
            raise DataError(f"{path}: not a .npy file (bad magic); save it with numpy.save")
        version = stream.read(2)  # numpy reads (allocates) the header's length before checking it
        length = int.from_bytes(stream.read(2 if version[:1] == b"\x01" else 4), "little")
        if length > os.fstat(stream.fileno()).st_size:
            raise DataError(
                f"{path}: damaged .npy file (its header claims {length} bytes, more than the "
                "whole file); save it again"
            )
    try:
        with np.errstate(over="raise"):  # memmap multiplies the header's shape in int64
            array = np.load(path, mmap_mode="r", allow_pickle=False)
    except (ValueError, ArithmeticError, TokenError) as error:  # all from a damaged header
        if "object" in str(error).lower() or "pickle" in str(error).lower():
            raise DataError(_object_message(path)) from None
        raise DataError(f"{path}: damaged .npy file ({one_line(error)}); save it again") from None
    return FileData(_check_values(path, array), None)


def read_npz(path: Path, *, label_column: str | None = None) -> FileData:
    """Read samples from array ``X``/``x`` (else the first) and labels from ``y`` if present."""
    if not zipfile.is_zipfile(path):
        raise DataError(f"{path}: not a .npz file (not a zip archive); save it with numpy.savez")
    try:
        with np.load(path, allow_pickle=False) as archive:
            names = list(archive.files)
            if not names:
                raise DataError(f"{path}: the .npz archive holds no arrays; save one named X")
            x_name = next((n for n in ("X", "x") if n in names), names[0])
            y_name = label_column if label_column is not None else "y"
            if label_column is not None and label_column not in names:
                raise DataError(
                    f"{path}: no array named {label_column!r} for the labels "
                    f"(arrays: {', '.join(names)}); pick one of those"
                )
            X = _check_values(path, _npz_array(path, archive, x_name))
            labels = (
                _npz_array(path, archive, y_name) if y_name in names and y_name != x_name else None
            )
    except DataError:
        raise
    except (zipfile.BadZipFile, EOFError, zlib.error, NotImplementedError, RuntimeError) as error:
        # zipfile raises NotImplementedError for an unknown version or compression method,
        # RuntimeError for an encrypted member
        raise DataError(f"{path}: damaged .npz file ({one_line(error)}); save it again") from None
    except (ValueError, TokenError) as error:  # numpy's refusal to unpickle, or a damaged member
        if "object" in str(error).lower() or "pickle" in str(error).lower():
            raise DataError(_object_message(path)) from None
        raise DataError(f"{path}: damaged .npz file ({one_line(error)}); save it again") from None
    if labels is None:
        return FileData(X, None)
    y, class_names = encode_labels(path, labels, len(X))
    return FileData(X, y, class_names)


def _npz_array(path: Path, archive: np.lib.npyio.NpzFile, name: str) -> np.ndarray:
    """Read array ``name``, first checking its header against the member's size.

    ``archive[name]`` would allocate whatever shape a damaged header claims, and
    hands back raw bytes for a member that is not a .npy file.
    """
    member = name if name in archive.zip.namelist() else f"{name}.npy"
    size = archive.zip.getinfo(member).file_size
    with archive.zip.open(member) as stream:
        if stream.read(len(_NPY_MAGIC)) != _NPY_MAGIC:
            raise DataError(
                f"{path}: member {member!r} of the .npz archive is not a .npy array; "
                "save the arrays with numpy.savez"
            )
        stream.seek(0)
        version = np.lib.format.read_magic(stream)
        read_header = (
            np.lib.format.read_array_header_1_0
            if version == (1, 0)
            else np.lib.format.read_array_header_2_0  # also parses version 3's header
        )
        shape, _, dtype = read_header(stream)
        if min(shape, default=0) < 0 or dtype.itemsize * math.prod(shape) > size - stream.tell():
            raise DataError(
                f"{path}: member {member!r} claims shape {shape} of {dtype}, more than its "
                f"{size} bytes hold; the archive is damaged, save it again"
            )
        stream.seek(0)
        return np.lib.format.read_array(stream, allow_pickle=False)


def _object_message(path: Path) -> str:
    return (
        f"{path}: holds Python objects (object dtype), which are never unpickled; "
        "save a numeric array instead"
    )


def _check_values(path: Path, array: np.ndarray) -> np.ndarray:
    """Refuse arrays that are not numbers, are empty, or hold NaN or infinity."""
    if array.dtype.hasobject:
        raise DataError(_object_message(path))
    if array.dtype.kind not in "biuf":
        raise DataError(
            f"{path}: holds {array.dtype} values, not numbers; save a numeric (int or float) array"
        )
    if array.ndim == 0 or array.size == 0:
        raise DataError(f"{path}: holds no samples (shape {array.shape}); save a non-empty array")
    if array.dtype.kind == "f":
        for start, chunk in _row_chunks(array):
            if not np.isfinite(chunk).all():
                bad = start + int(np.argmin(np.isfinite(chunk).reshape(len(chunk), -1).all(1)))
                raise DataError(
                    f"{path}: sample {bad} holds NaN or infinite values; "
                    "fill or drop missing values before training"
                )
    return array


def _row_chunks(array: np.ndarray) -> Iterator[tuple[int, np.ndarray]]:
    """Yield ``(start, array[start:stop])`` blocks of about a million values each."""
    rows = max(1, _CHUNK_ELEMENTS // max(1, math.prod(array.shape[1:])))
    for start in range(0, len(array), rows):
        yield start, np.asarray(array[start : start + rows])


def encode_labels(path: Path, values, n_samples: int) -> tuple[np.ndarray, tuple[str, ...] | None]:
    """Turn labels into int64 codes; text labels map to the index of their sorted value."""
    array = np.asarray(values)
    if array.ndim != 1 or len(array) != n_samples:
        raise DataError(
            f"{path}: {array.shape} labels for {n_samples} samples; give one label per sample"
        )
    if array.dtype.kind in "biu":
        if array.dtype == np.uint64 and len(array) and array.max() >= 2**63:
            raise DataError(f"{path}: labels must be whole numbers below 2**63, not {array.max()}")
        return array.astype(np.int64), None
    # finite, and in int64's range: beyond it the cast silently garbles the labels
    in_range = array.dtype.kind == "f" and (np.abs(array) < 2.0**63).all()
    if in_range and (array == np.round(array)).all():
        return array.astype(np.int64), None
    if array.dtype.kind in "fc":
        raise DataError(
            f"{path}: labels must be whole numbers (of magnitude below 2**63) or text, "
            f"not these {array.dtype} values"
        )
    names, codes = np.unique(array.astype(str), return_inverse=True)
    return codes.astype(np.int64), tuple(str(n) for n in names)


def _refuse_label_column(path: Path, label_column: str | None, why: str) -> None:
    if label_column is not None:
        raise DataError(f"{path}: label_column does not apply here ({why}); drop it")


# --- CSV -------------------------------------------------------------------------------


def read_csv(path: Path, *, label_column: str | None = None) -> FileData:
    """Read a numeric table; a first row with any non-number is taken as the header.

    ``label_column`` is a header name, or a 0-based column index (negative counts
    from the end). Messages count lines and columns from 1, as editors do.
    """
    rows = _csv_rows(path)
    if not rows:
        raise DataError(f"{path}: empty CSV file; it needs at least one row of numbers")
    first_line, first = rows[0]
    text_cells = [i for i, cell in enumerate(first) if not _is_number(cell)]
    header = None
    if text_cells and not _is_index_of(label_column, text_cells, first):
        header = [cell.strip() for cell in first]
        rows = rows[1:]
        if not rows:
            raise DataError(f"{path}: the CSV file has a header but no data rows; add some")
    width = len(header if header is not None else rows[0][1])
    label_index = _label_index(path, label_column, header, width)
    X = np.empty((len(rows), width - (label_index is not None)), dtype=np.float32)
    labels = []
    for r, (line, cells) in enumerate(rows):
        if len(cells) != width:
            raise DataError(
                f"{path}: line {line} has {len(cells)} fields, expected {width} "
                f"(as on line {first_line}); make every row the same length"
            )
        if label_index is not None:
            if not cells[label_index].strip():
                raise DataError(
                    f"{path}: line {line}, column {label_index + 1}: empty label; "
                    "give every row a label or drop the row"
                )
            labels.append(cells[label_index].strip())
            cells = cells[:label_index] + cells[label_index + 1 :]
        X[r] = [
            _parse_cell(path, line, c, cell, header, label_index) for c, cell in enumerate(cells)
        ]
    if label_index is None:
        return FileData(X, None)
    y, class_names = encode_labels(path, _numbers_or_text(labels), len(X))
    return FileData(X, y, class_names)


def _csv_rows(path: Path) -> list[tuple[int, list[str]]]:
    """Return ``(line number, cells)`` for each non-blank row."""
    try:
        with path.open(newline="", encoding="utf-8-sig") as stream:
            reader = csv.reader(stream)
            return [(reader.line_num, row) for row in reader if any(c.strip() for c in row)]
    except UnicodeDecodeError:
        raise DataError(f"{path}: not UTF-8 text; save the CSV file as UTF-8") from None
    except csv.Error as error:
        raise DataError(f"{path}: malformed CSV ({one_line(error)}); fix the quoting") from None


def _is_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def _is_index_of(label_column: str | None, text_cells: list[int], first: list[str]) -> bool:
    """Whether the first row's only text is in the label column given by index (no header)."""
    if label_column is None or label_column in first:
        return False
    try:
        index = int(label_column)
    except ValueError:
        return False
    return -len(first) <= index < len(first) and text_cells == [index % len(first)]


def _label_index(path: Path, label_column: str | None, header: list[str] | None, width: int):
    if label_column is None:
        return None
    if header is not None and label_column in header:
        index = header.index(label_column)
    else:
        try:
            index = int(label_column)
        except ValueError:
            columns = ", ".join(header) if header is not None else "none, no header row"
            raise DataError(
                f"{path}: no column named {label_column!r} (columns: {columns}); "
                "give a header name or a 0-based column index"
            ) from None
        if not -width <= index < width:
            raise DataError(
                f"{path}: label column index {index} is out of range for {width} columns; "
                f"use 0 to {width - 1}"
            )
    if width < 2:
        raise DataError(f"{path}: the label column is the only column; no features remain")
    return index % width


_FLOAT32_MAX = float(np.finfo(np.float32).max)


def _parse_cell(path, line, c, cell, header, label_index) -> float:
    try:
        value = float(cell)
    except ValueError:
        value = None
    if value is not None and math.isfinite(value) and abs(value) <= _FLOAT32_MAX:
        return value
    column = c + 1 + (label_index is not None and c >= label_index)
    named = f" ({header[column - 1]!r})" if header is not None else ""
    if value is None:
        problem = "is not a number"
    elif math.isfinite(value):
        problem = f"is too large for float32 (over {_FLOAT32_MAX:.4g})"
    else:
        problem = "is NaN or infinite"
    raise DataError(
        f"{path}: line {line}, column {column}{named}: {cell.strip()!r} {problem}; "
        "every cell outside the header and label column must be a finite number"
    )


def _numbers_or_text(labels: list[str]) -> list:
    try:
        return [float(label) for label in labels]
    except ValueError:
        return labels
