"""Turn a data argument (a built-in name or a path) into a :class:`Dataset`.

This is the one place that resolves what the user meant by their data: the
estimator, the CLI and the reports all go through :func:`load_dataset`.
"""

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from autoencoders.data.mnist import load_mnist
from autoencoders.data.readers import read_array_file
from autoencoders.errors import DataError, ParameterError

__all__ = ["BUILTIN_DATASETS", "SPLITS", "Dataset", "load_dataset"]

BUILTIN_DATASETS = ("digits", "mnist", "fashion-mnist")
SPLITS = ("train", "test", "all")

_DIGIT_NAMES = tuple(str(d) for d in range(10))
_FASHION_NAMES = (
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
)  # fmt: skip


DIMENSIONS = {"image": 4, "table": 2, "sequence": 3}


@dataclass(frozen=True)
class Dataset:
    """Samples with optional labels, and whether they are images or table rows."""

    X: np.ndarray  # images (n, C, H, W) channels-first, tables (n, d), sequences (n, T, d)
    y: np.ndarray | None  # integer labels (n,) or None
    name: str  # a built-in name or the file path
    kind: str  # "image", "table" or "sequence"
    class_names: tuple[str, ...] | None = None

    def __post_init__(self):
        if self.kind not in DIMENSIONS:
            raise ValueError(f"kind must be one of {', '.join(DIMENSIONS)}, got {self.kind!r}")
        if self.X.ndim != DIMENSIONS[self.kind]:
            raise ValueError(f"{self.kind} data must be {DIMENSIONS[self.kind]}-D")
        if self.y is not None and self.y.shape != (len(self.X),):
            raise ValueError(f"y has shape {self.y.shape}, expected ({len(self.X)},)")

    def __len__(self) -> int:
        return len(self.X)

    @property
    def image_shape(self) -> tuple[int, int, int] | None:
        """``(C, H, W)`` of one image, or None for a table."""
        return tuple(self.X.shape[1:]) if self.kind == "image" else None


def hold_out(
    dataset: Dataset, fraction: float, seed: int, paired: Dataset | None = None
) -> tuple[Dataset, Dataset, Dataset | None, Dataset | None]:
    """A seeded held-out split for data without a test split of its own.

    Returns the training part, the held-out part, and the same two parts of ``paired``
    (the targets of paired training, cut along the same rows) or None.
    """
    if not 0 < fraction < 1:
        raise ParameterError(f"the held-out fraction must be between 0 and 1, got {fraction}")
    n_test = round(fraction * len(dataset))
    if not 1 <= n_test < len(dataset):
        raise DataError(
            f"{dataset.name}: holding out {fraction:g} of {len(dataset)} samples leaves "
            "no test or no training sample; use more data or another fraction"
        )
    if paired is not None and len(paired) != len(dataset):
        raise DataError(
            f"{paired.name} has {len(paired)} samples and {dataset.name} {len(dataset)}; "
            "paired data needs one target per input"
        )
    order = np.random.default_rng(seed).permutation(len(dataset))
    test_rows, train_rows = np.sort(order[:n_test]), np.sort(order[n_test:])

    def part(data: Dataset | None, rows: np.ndarray, which: str) -> Dataset | None:
        if data is None:
            return None
        y = None if data.y is None else data.y[rows]
        name = f"{data.name} ({which}, seed {seed})"
        return Dataset(data.X[rows], y, name, data.kind, data.class_names)

    return (
        part(dataset, train_rows, f"{1 - fraction:g} kept"),
        part(dataset, test_rows, f"{fraction:g} held out"),
        part(paired, train_rows, f"{1 - fraction:g} kept"),
        part(paired, test_rows, f"{fraction:g} held out"),
    )


def load_dataset(
    spec: str | Path,
    split: str = "train",
    *,
    data_dir: str | Path | None = None,
    label_column: str | None = None,
    image_size: int | tuple[int, int] | None = None,
    limit: int | None = None,
) -> Dataset:
    """Load a built-in dataset by name, or a data file / image folder by path.

    Parameters
    ----------
    spec : "digits", "mnist", "fashion-mnist", or a path to a .npy, .npz, .csv,
        IDX file or an image folder. A ``Path`` is always read as a path.
    split : "train", "test" or "all"; ignored for files, which are used whole.
    data_dir : where the MNIST files are (see :func:`~autoencoders.data.mnist.load_mnist`).
    label_column : CSV column name or 0-based index, or .npz array name, holding labels.
    image_size : ``(H, W)`` (or one int) images in a folder are resized to.
    limit : keep only the first ``limit`` samples, for quick runs.
    """
    if split not in SPLITS:
        raise DataError(f"{spec}: unknown split {split!r}; choose one of {', '.join(SPLITS)}")
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 1):
        raise DataError(f"{spec}: limit must be a positive integer, got {limit!r}")
    builtin = _builtin_name(spec)
    if builtin is not None and (label_column is not None or image_size is not None):
        raise DataError(f"{spec}: label_column and image_size only apply to files; drop them")
    if builtin == "digits":
        dataset = _load_digits(split)
    elif builtin is not None:
        dataset = _load_mnist_like(builtin, split, data_dir)
    else:
        dataset = _load_file(Path(spec), label_column, image_size)
    if limit is None or limit >= len(dataset):
        return dataset
    y = None if dataset.y is None else dataset.y[:limit]
    return Dataset(dataset.X[:limit], y, dataset.name, dataset.kind, dataset.class_names)


def _builtin_name(spec: str | Path) -> str | None:
    if not isinstance(spec, str):
        return None
    name = spec.strip().lower().replace("_", "-")
    return name if name in BUILTIN_DATASETS else None


def _load_digits(split: str) -> Dataset:
    """scikit-learn's bundled 8x8 digits, scaled to [0, 1]; a fixed stratified 80/20 split."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    digits = load_digits()
    X = (digits.images / 16.0).astype(np.float32)[:, None]  # (n, 1, 8, 8)
    y = digits.target.astype(np.int64)
    if split != "all":
        train, test = train_test_split(np.arange(len(y)), test_size=0.2, random_state=0, stratify=y)
        keep = np.sort(train if split == "train" else test)
        X, y = X[keep], y[keep]
    return Dataset(X, y, "digits", "image", _DIGIT_NAMES)


def _load_mnist_like(name: str, split: str, data_dir: str | Path | None) -> Dataset:
    if split == "all":
        parts = [load_mnist(name, part, data_dir) for part in ("train", "test")]
        X = np.concatenate([images for images, _ in parts])
        y = np.concatenate([labels for _, labels in parts])
    else:
        X, y = load_mnist(name, split, data_dir)
    class_names = _FASHION_NAMES if name == "fashion-mnist" else _DIGIT_NAMES
    return Dataset(X, y, name, "image", class_names)


def _load_file(path: Path, label_column: str | None, image_size) -> Dataset:
    X, y, class_names = read_array_file(path, label_column=label_column, image_size=image_size)
    if X.ndim == 2:
        return Dataset(X, y, str(path), "table", class_names)
    return Dataset(_channels_first(path, X), y, str(path), "image", class_names)


def _channels_first(path: Path, X: np.ndarray) -> np.ndarray:
    """Return images as ``(n, C, H, W)``; ``(n, H, W)`` gains one channel."""
    if X.ndim == 3:
        return X[:, None]
    if X.ndim == 4 and X.shape[1] in (1, 3, 4):
        return X
    if X.ndim == 4 and X.shape[-1] in (1, 3, 4):
        return X.transpose(0, 3, 1, 2)  # (n, H, W, C) -> (n, C, H, W)
    hint = (
        "a 4-D array needs 1, 3 or 4 channels first (n, C, H, W) or last (n, H, W, C)"
        if X.ndim == 4
        else "give a table (samples, features) or images (n, H, W) / (n, C, H, W)"
    )
    raise DataError(f"{path}: cannot use an array of shape {X.shape}; {hint}")
