"""MNIST and Fashion-MNIST: find the four IDX files on disk, or download them once.

Files are looked for in ``data_dir``, then ``$AUTOENCODERS_DATA``, then the cache
(``$XDG_CACHE_HOME/autoencoders`` or ``~/.cache/autoencoders``); inside each of
these in ``<base>/<name>/`` and then ``<base>/`` itself. Missing files are
downloaded into ``<cache>/<name>/`` and kept only if their MD5 matches.
"""

import hashlib
import logging
import os
import tempfile
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from autoencoders.data.idx import read_idx
from autoencoders.errors import DataError

__all__ = ["MNIST_LIKE", "cache_dir", "load_mnist", "search_dirs"]

logger = logging.getLogger(__name__)

DOWNLOAD_TIMEOUT_S = 30


@dataclass(frozen=True)
class _Source:
    subdirs: tuple[str, ...]
    mirrors: tuple[str, ...]
    md5: dict[str, str]  # file stem -> MD5 of the .gz file


_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}

MNIST_LIKE = {
    "mnist": _Source(
        subdirs=("mnist",),
        mirrors=(
            "https://ossci-datasets.s3.amazonaws.com/mnist/",
            "http://yann.lecun.com/exdb/mnist/",
        ),
        md5={
            "train-images-idx3-ubyte": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
            "train-labels-idx1-ubyte": "d53e105ee54ea40749a09fcbcd1e9432",
            "t10k-images-idx3-ubyte": "9fb629c4189551a2d022fa330f9573f3",
            "t10k-labels-idx1-ubyte": "ec29112dd5afa0611ce80d1b7f02629c",
        },
    ),
    "fashion-mnist": _Source(
        subdirs=("fashion-mnist", "fashion_mnist"),
        mirrors=("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",),
        md5={
            "train-images-idx3-ubyte": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
            "train-labels-idx1-ubyte": "25c81989df183df01b3e8a0aad5dffbe",
            "t10k-images-idx3-ubyte": "bef4ecab320f06d8554ea6380940ec79",
            "t10k-labels-idx1-ubyte": "bb300cfdad3c16e7a12a480ee83cd310",
        },
    ),
}


def load_mnist(
    name: str, split: str, data_dir: str | Path | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Return ``(images, labels)``: uint8 ``(n, 1, 28, 28)`` and int64 ``(n,)``."""
    if name not in MNIST_LIKE:
        raise DataError(f"unknown dataset {name!r}; choose one of {', '.join(MNIST_LIKE)}")
    if split not in _FILES:
        raise DataError(f"{name}: unknown split {split!r}; choose 'train' or 'test'")
    image_stem, label_stem = _FILES[split]
    image_path = _find_or_download(name, image_stem, data_dir)
    label_path = _find_or_download(name, label_stem, data_dir)
    images, labels = read_idx(image_path), read_idx(label_path)
    if images.ndim != 3 or images.shape[1:] != (28, 28) or images.dtype != np.uint8:
        raise DataError(
            f"{image_path}: expected uint8 images of shape (n, 28, 28), found {images.dtype} "
            f"{images.shape}; replace the file with the original {name} file"
        )
    if labels.ndim != 1 or len(labels) != len(images):
        raise DataError(
            f"{label_path}: holds {labels.shape} labels but {image_path.name} holds "
            f"{len(images)} images; replace both with the original {name} files"
        )
    return images[:, None], labels.astype(np.int64)


def search_dirs(name: str, data_dir: str | Path | None = None) -> list[Path]:
    """Return the directories searched for ``name``'s files, in order."""
    bases = [data_dir, os.environ.get("AUTOENCODERS_DATA") or None, cache_dir()]
    dirs = []
    for base in bases:
        if base is None:
            continue
        base = Path(base).expanduser()
        dirs += [base / sub for sub in MNIST_LIKE[name].subdirs] + [base]
    return list(dict.fromkeys(dirs))


def cache_dir() -> Path:
    """Return where downloads go: ``$XDG_CACHE_HOME/autoencoders`` or ``~/.cache/...``."""
    root = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(root).expanduser() / "autoencoders"


def _find_or_download(name: str, stem: str, data_dir: str | Path | None) -> Path:
    dirs = search_dirs(name, data_dir)
    for directory in dirs:
        for filename in (stem + ".gz", stem):
            candidate = directory / filename
            if candidate.is_file() and not _is_other_dataset(name, candidate, directory):
                return candidate
    return _download(name, stem, dirs)


def _is_other_dataset(name: str, candidate: Path, directory: Path) -> bool:
    """Whether a file found in a shared base folder is the *other* dataset's copy.

    MNIST and Fashion-MNIST use the same file names, so a bare ``<base>/`` may
    hold either; the known MD5 tells them apart for the original .gz files.
    """
    if candidate.suffix != ".gz" or directory.name in MNIST_LIKE[name].subdirs:
        return False
    stem = candidate.name.removesuffix(".gz")
    others = {src.md5[stem] for key, src in MNIST_LIKE.items() if key != name}
    return _md5(candidate) in others


def _download(name: str, stem: str, searched: list[Path]) -> Path:
    source = MNIST_LIKE[name]
    target = cache_dir() / name / (stem + ".gz")
    failures = []
    for mirror in source.mirrors:
        url = mirror + stem + ".gz"
        try:
            _fetch(url, target, source.md5[stem])
            return target
        except (OSError, ValueError) as error:  # URLError, timeouts, HTTP errors, bad MD5
            failures.append(f"{url}: {' '.join(str(error).split())}")
    where = ", ".join(str(d) for d in searched)
    raise DataError(
        f"{name}: {stem}[.gz] not found in {where} and the download failed "
        f"({'; '.join(failures)}); put the four {name} files in one of these folders, "
        "or set AUTOENCODERS_DATA / --data-dir to the folder that holds them"
    )


def _fetch(url: str, target: Path, md5: str) -> None:
    """Download ``url`` to ``target`` through a temporary file, kept only if its MD5 matches."""
    target.parent.mkdir(parents=True, exist_ok=True)
    logger.info("downloading %s", url)
    digest = hashlib.md5(usedforsecurity=False)
    handle, temp_name = tempfile.mkstemp(dir=target.parent, prefix=target.name, suffix=".part")
    temp = Path(temp_name)
    try:
        with (
            os.fdopen(handle, "wb") as out,
            urllib.request.urlopen(url, timeout=DOWNLOAD_TIMEOUT_S) as response,
        ):
            while chunk := response.read(2**20):
                digest.update(chunk)
                out.write(chunk)
        if digest.hexdigest() != md5:
            raise ValueError(f"checksum mismatch (MD5 {digest.hexdigest()}, expected {md5})")
        os.replace(temp, target)
    finally:
        temp.unlink(missing_ok=True)


def _md5(path: Path) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    with path.open("rb") as stream:
        while chunk := stream.read(2**20):
            digest.update(chunk)
    return digest.hexdigest()
