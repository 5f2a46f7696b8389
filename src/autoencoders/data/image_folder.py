"""Read a folder of images (PNG, JPEG, …) into one array, labelled by subfolder.

Thousands of JPEGs take seconds to decode, every time: a folder of 8-bit images is
decoded once (on as many threads as there are cores) and cached as one uint8 ``.npy``
in ``images/`` of the toolkit's cache (``$XDG_CACHE_HOME/autoencoders`` or
``~/.cache/autoencoders``, as for downloads), keyed by every
file's name, size and modification time and the requested size, so a changed folder
is read afresh. The cache holds decoded pixels only, loaded with ``allow_pickle=False``.
"""

import hashlib
import json
import os
import tempfile
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from autoencoders.data.mnist import cache_dir
from autoencoders.errors import DataError, one_line

IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff"})
MAX_IMAGE_BYTES = 2**32
"""Largest float32 array an image folder may become (4 GiB); larger data belongs in a
memory-mapped .npy file."""

_GRAY_MODES = frozenset({"1", "L", "LA", "I", "I;16", "I;16B", "I;16L", "I;16N", "F"})
_WIDE_MODES = {"I": 65535.0, "I;16": 65535.0, "I;16B": 65535.0, "I;16L": 65535.0, "I;16N": 65535.0}


def read_image_folder(
    folder: Path, *, image_size: int | tuple[int, int] | None = None
) -> tuple[np.ndarray, np.ndarray | None, tuple[str, ...] | None]:
    """Read every image under ``folder`` into float32 ``(n, C, H, W)`` values in [0, 1].

    Grayscale if every image is, else RGB. Images are resized to ``image_size``
    (H, W), else to the most common size. Images inside subfolders are labelled
    by the sorted index of their top-level subfolder.
    """
    files = sorted(
        p
        for p in folder.rglob("*")
        if p.suffix.lower() in IMAGE_SUFFIXES
        and not any(part.startswith(".") for part in p.relative_to(folder).parts)
        and p.is_file()
    )
    if not files:
        raise DataError(f"{folder}: no PNG or JPEG images in this folder or below; add some")
    y, class_names = _folder_labels(folder, files)
    cache = _cache_file(folder, files, image_size)
    if cache.exists():
        pixels = np.load(cache, allow_pickle=False)
        return pixels.astype(np.float32) / 255.0, y, class_names
    modes, sizes = [], []
    for file in files:
        with _open_image(file) as image:
            modes.append(image.mode)
            sizes.append((image.height, image.width))
    height, width = _target_size(folder, image_size, sizes)
    channels = 1 if all(mode in _GRAY_MODES for mode in modes) else 3
    n_bytes = 4 * len(files) * channels * height * width
    if n_bytes > MAX_IMAGE_BYTES:
        raise DataError(
            f"{folder}: {len(files)} images of {channels}x{height}x{width} need "
            f"{n_bytes / 2**30:.0f} GiB as float32; pass a smaller image_size, fewer images, "
            "or save them as one .npy file"
        )
    X = np.empty((len(files), channels, height, width), dtype=np.float32)

    def decode(i: int) -> None:
        with _open_image(files[i]) as image:
            X[i] = _to_array(files[i], image, channels, (width, height))

    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        list(pool.map(decode, range(len(files))))  # PIL decodes outside the GIL
    if not any(mode in _WIDE_MODES or mode == "F" for mode in modes):  # 8 bits: exact in uint8
        _write_cache(cache, np.rint(X * 255.0).astype(np.uint8))
    return X, y, class_names  # the fields of readers.FileData


def _cache_file(folder: Path, files: list[Path], image_size) -> Path:
    digest = hashlib.sha256(json.dumps(image_size).encode())
    for file in files:
        stat = file.stat()
        digest.update(f"{file.relative_to(folder)}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    return cache_dir() / "images" / f"{digest.hexdigest()[:32]}.npy"


def _write_cache(path: Path, pixels: np.ndarray) -> None:
    """Write atomically; a cache that cannot be written (read-only home) is skipped."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path.parent, suffix=".tmp", delete=False) as f:
            np.save(f, pixels, allow_pickle=False)
        os.replace(f.name, path)
    except OSError:
        return


def _open_image(file: Path) -> Image.Image:
    try:
        return Image.open(file)
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as error:
        raise DataError(
            f"{file}: not a readable image ({one_line(error)}); remove or replace it"
        ) from None


def _target_size(folder: Path, image_size, sizes: list[tuple[int, int]]) -> tuple[int, int]:
    if image_size is None:
        counts = Counter(sizes)
        return max(counts, key=lambda s: (counts[s], s))  # most common; ties: the largest
    size = (image_size, image_size) if isinstance(image_size, int) else tuple(image_size)
    if len(size) != 2 or not all(isinstance(s, int) and s > 0 for s in size):
        raise DataError(
            f"{folder}: image_size must be a positive int or (height, width), got {image_size!r}"
        )
    return size


def _to_array(file: Path, image: Image.Image, channels: int, size: tuple[int, int]) -> np.ndarray:
    """Return one image as float32 ``(channels, H, W)`` in [0, 1]."""
    try:
        if image.mode in _WIDE_MODES or image.mode == "F":
            scale = _WIDE_MODES.get(image.mode, 1.0)
            values = np.asarray(image, dtype=np.float32)
            if np.isnan(values).any():  # a float image's NaN would survive the clip below
                raise DataError(f"{file}: holds NaN pixel values; fill them or remove the image")
            plane = Image.fromarray(np.clip(values / scale, 0.0, 1.0))  # float32 -> mode "F"
            if plane.size != size:
                plane = plane.resize(size, Image.Resampling.BILINEAR)
            return np.broadcast_to(
                np.asarray(plane, dtype=np.float32), (channels, size[1], size[0])
            )
        image = image.convert("L" if channels == 1 else "RGB")
        if image.size != size:
            image = image.resize(size, Image.Resampling.BILINEAR)
        pixels = np.asarray(image, dtype=np.float32) / 255.0
        return pixels[None] if channels == 1 else pixels.transpose(2, 0, 1)
    except DataError:
        raise
    except (OSError, ValueError, SyntaxError) as error:
        raise DataError(
            f"{file}: damaged image ({one_line(error)}); remove or replace it"
        ) from None


def _folder_labels(folder: Path, files: list[Path]):
    depths = {len(f.relative_to(folder).parts) > 1 for f in files}
    if depths == {False}:
        return None, None
    if depths == {True, False}:
        raise DataError(
            f"{folder}: some images sit directly in the folder and some in subfolders; "
            "put every image in a class subfolder, or all of them at the top"
        )
    classes = [f.relative_to(folder).parts[0] for f in files]
    names, codes = np.unique(classes, return_inverse=True)
    return codes.astype(np.int64), tuple(str(n) for n in names)


def luminance(rgb: np.ndarray) -> np.ndarray:
    """ITU-R BT.601 grey of ``(N, 3, H, W)`` colour images, the luminance a grey
    conversion keeps: ``(N, 1, H, W)``, uint8 for uint8 images, else float32."""
    weights = np.array([0.299, 0.587, 0.114], np.float32)[None, :, None, None]
    grey = (np.asarray(rgb, np.float32) * weights).sum(1, keepdims=True)
    if np.asarray(rgb).dtype == np.uint8:
        return np.clip(np.rint(grey), 0, 255).astype(np.uint8)
    return grey
