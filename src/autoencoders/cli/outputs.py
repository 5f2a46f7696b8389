"""Writing command results: arrays to .npy/.npz/.csv, images to a folder of PNGs."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image

from autoencoders.errors import DataError
from autoencoders.files import atomic_write_bytes

ARRAY_SUFFIXES = (".npy", ".npz", ".csv")


def write_output(path: str | Path, array: np.ndarray, *, images01: np.ndarray | None = None) -> str:
    """Write ``array`` by the suffix of ``path``; a path without one is a folder of PNGs.

    ``images01`` are the same samples as images in [0, 1], channels-first, used for
    PNG output. Returns a short description of what was written.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in ARRAY_SUFFIXES and suffix != "":
        raise DataError(
            f"{path}: unknown output format {suffix!r}; use .npy, .npz, .csv "
            "or a folder name for PNG images"
        )
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        if suffix == "":
            if images01 is None:
                raise DataError(f"{path}: PNG output needs image data; use .npy or .csv")
            return _write_pngs(path, images01)
        buffer = io.BytesIO()
        if suffix == ".npy":
            np.save(buffer, array, allow_pickle=False)
        elif suffix == ".npz":
            np.savez_compressed(buffer, X=array)
        else:
            flat = array.reshape(len(array), -1)
            header = ",".join(f"x{i}" for i in range(flat.shape[1]))
            np.savetxt(buffer, flat, delimiter=",", header=header, comments="", fmt="%.7g")
        atomic_write_bytes(path, buffer.getvalue())
    except OSError as error:
        raise DataError(f"{path}: cannot write ({error.strerror})") from None
    return f"{path} ({len(array)} × {'×'.join(map(str, array.shape[1:]))})"


def write_text(path: str | Path, text: str) -> None:
    """Write a text result (e.g. metrics JSON) atomically."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(path, (text + "\n").encode())
    except OSError as error:
        raise DataError(f"{path}: cannot write ({error.strerror})") from None


def _write_pngs(folder: Path, images01: np.ndarray) -> str:
    if images01.ndim != 4 or images01.shape[1] not in (1, 3):
        raise DataError(f"{folder}: PNG output needs gray or RGB images; use .npy or .csv")
    folder.mkdir(parents=True, exist_ok=True)
    pixels = np.rint(np.clip(images01, 0, 1) * 255).astype(np.uint8)
    width = len(str(len(pixels) - 1))
    for i, image in enumerate(pixels):
        array = image[0] if image.shape[0] == 1 else image.transpose(1, 2, 0)
        buffer = io.BytesIO()
        Image.fromarray(array).save(buffer, format="PNG")
        atomic_write_bytes(folder / f"{i:0{width}d}.png", buffer.getvalue())
    return f"{folder}/ ({len(pixels)} PNG images)"


def scores_csv(scores: np.ndarray, flagged: np.ndarray, labels: np.ndarray | None) -> str:
    """index, anomaly_score, is_anomaly (and label) per sample or time step."""
    columns = [np.arange(len(scores)), scores, flagged.astype(int)]
    header = "index,anomaly_score,is_anomaly"
    if labels is not None:
        columns.append(labels)
        header += ",label"
    text = io.StringIO()
    table = np.column_stack(columns).astype(object)
    formats = ["%d", "%.7g", "%d", "%d"][: len(columns)]
    np.savetxt(text, table, delimiter=",", header=header, comments="", fmt=formats)
    return text.getvalue().rstrip("\n")
