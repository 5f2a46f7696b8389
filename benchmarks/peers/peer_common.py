"""What every peer script of benchmarks/speed.py shares: arguments, MNIST, BCE, the JSON reply.

The peers run in their own virtual environments (TensorFlow, pythae) where the
``autoencoders`` package is not installed, so MNIST is read here from the IDX ``.gz``
files with numpy alone. A peer prints one JSON object as the last line of its stdout;
its logs go to stderr.
"""

from __future__ import annotations

import argparse
import gzip
import json
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

FILES = {"train": "train-images-idx3-ubyte.gz", "test": "t10k-images-idx3-ubyte.gz"}
IMAGES_MAGIC = 2051
EPS = 1e-7  # Keras's (and the toolkit's) clipping of probabilities in the BCE
ENCODE_BATCHES = (256, 1024, 4096)
ENCODE_REPEATS = 3


def parser(description: str) -> argparse.ArgumentParser:
    """The options speed.py passes to every peer."""
    options = argparse.ArgumentParser(description=description)
    options.add_argument("--model", choices=("dense", "deep", "conv"), required=True)
    options.add_argument("--epochs", type=int, required=True)
    options.add_argument("--batch-size", type=int, required=True)
    options.add_argument("--data-dir", required=True, help="folder with mnist/ (or the files)")
    options.add_argument("--limit", type=int, help="use only the first N images of each split")
    options.add_argument("--seed", type=int, default=0)
    options.add_argument("--encode", action="store_true", help="also time encoding the test set")
    options.add_argument(
        "--curve", action="store_true", help="test BCE after every epoch (time_to_quality.py)"
    )
    options.add_argument(
        "--target-bce", type=float, help="with --curve: stop at the first epoch this good"
    )
    return options


class Curve:
    """Test BCE after every epoch against the wall time since training began, the time
    of the checks themselves left out (as MLPerf leaves out evaluation)."""

    def __init__(self, evaluate: Callable[[], float], target: float | None = None) -> None:
        self.evaluate, self.target = evaluate, target
        self.points: list[dict] = []
        self.excluded = 0.0
        self.started = time.perf_counter()

    def check(self, epoch: int) -> bool:
        """Record this epoch's point; True when the target is reached (stop training)."""
        checked = time.perf_counter()
        seconds = checked - self.started - self.excluded
        test_bce = self.evaluate()
        self.excluded += time.perf_counter() - checked
        self.points.append({"epoch": epoch, "seconds": seconds, "test_bce": test_bce})
        return self.target is not None and test_bce <= self.target


def load_images(data_dir: str | Path, split: str, limit: int | None = None) -> np.ndarray:
    """MNIST images of ``split`` as float32 in [0, 1], shape (n, 28, 28)."""
    base = Path(data_dir)
    candidates = [base / "mnist" / FILES[split], base / FILES[split]]
    path = next((p for p in candidates if p.exists()), None)
    if path is None:
        raise FileNotFoundError(f"no {FILES[split]} in {base}/mnist or {base}")
    raw = gzip.decompress(path.read_bytes())
    magic, n, rows, cols = np.frombuffer(raw[:16], dtype=">u4")
    if magic != IMAGES_MAGIC:
        raise ValueError(f"{path} is not an IDX image file (magic {magic})")
    images = np.frombuffer(raw, dtype=np.uint8, offset=16).reshape(n, rows, cols)
    return images[:limit].astype(np.float32) / 255


def bce(reconstruction: np.ndarray, target: np.ndarray) -> float:
    """Mean per-pixel binary cross-entropy of probabilities, computed in float64."""
    p = np.clip(reconstruction.astype(np.float64).reshape(target.shape), EPS, 1 - EPS)
    t = target.astype(np.float64)
    return float(-(t * np.log(p) + (1 - t) * np.log1p(-p)).mean())


def best_encoding(encode: Callable[[np.ndarray, int], object], x: np.ndarray) -> dict:
    """Fastest of a few runs of ``encode(x, batch_size)`` over a few batch sizes."""
    best = {"seconds": float("inf")}
    for batch_size in ENCODE_BATCHES:
        for _ in range(ENCODE_REPEATS):
            started = time.perf_counter()
            encode(x, batch_size)
            seconds = time.perf_counter() - started
            if seconds < best["seconds"]:
                best = {"seconds": seconds, "batch_size": batch_size}
    return best | {"images": len(x), "images_per_second": len(x) / best["seconds"]}


def reply(result: dict) -> None:
    print(json.dumps(result), flush=True)
