"""Small pretrained models shipped with the package, usable before any training.

``zoo:NAME`` goes wherever a run directory does (``autoencoders.load("zoo:mnist-conv")``,
``autoencoders compress --model zoo:mnist-codec …``). Each model is a run directory like
any other, ``config.json`` + ``model.safetensors`` (never a pickle), plus ``card.json``:
the data it was trained on, its settings, the one command that made it
(``python benchmarks/zoo.py NAME``), its test metrics, and the SHA-256 of its files, which
:func:`load` checks. A few test images ship beside them (``samples/``) so that examples and
tests run offline; :func:`evaluate` measures a model on them the way its card did.

>>> from autoencoders import zoo
>>> "mnist-dense" in zoo.names()
True
>>> images = zoo.sample("mnist-dense")["X"]          # a few MNIST test digits, uint8
>>> model = zoo.load("mnist-dense")
>>> model.transform(images[:4]).shape
(4, 32)
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
from safetensors.numpy import load_file

from autoencoders.data.datasets import Dataset
from autoencoders.errors import ModelFileError

PREFIX = "zoo:"
ROOT = Path(__file__).parent
MODELS, SAMPLES = ROOT / "models", ROOT / "samples"
CARD, EXTRAS = "card.json", "extras.safetensors"
TASKS = ("reconstruct", "denoise", "colourise", "compress")


def names() -> list[str]:
    """The shipped models, sorted."""
    return sorted(p.name for p in MODELS.iterdir() if (p / CARD).is_file())


def path(name: str) -> Path:
    """The directory of zoo model ``name`` (with or without the ``zoo:`` prefix)."""
    name = name.removeprefix(PREFIX)
    folder = MODELS / name
    if not (folder / CARD).is_file():
        raise ModelFileError(
            f"zoo:{name}: no such zoo model; `autoencoders zoo list` shows them "
            f"({', '.join(names())})"
        )
    return folder


def resolve(location: str | Path) -> Path:
    """``zoo:NAME`` → that model's checked directory; any other location as a path."""
    text = str(location)
    if not text.startswith(PREFIX):
        return Path(location)
    folder = path(text)
    _check_hashes(folder)
    return folder


def is_zoo(location: str | Path) -> bool:
    """Whether ``location`` names a zoo model (whose folder is read-only package data)."""
    return str(location).startswith(PREFIX) or Path(location).resolve().parent == MODELS


def card(name: str) -> dict:
    """The model card: description, data, settings, command, test metrics, file hashes."""
    return json.loads((path(name) / CARD).read_text())


def load(name: str, *, device: str = "auto"):
    """The zoo model ``name``: an autoencoder of any family, or an ``ImageCodec``."""
    folder = resolve(PREFIX + name.removeprefix(PREFIX))
    if card(name)["task"] == "compress":
        from autoencoders.compression import ImageCodec

        return ImageCodec.load(folder)
    from autoencoders.estimators import load as load_estimator

    return load_estimator(folder, device=device)


def sample(name: str) -> dict[str, np.ndarray]:
    """The few test images shipped for ``name`` (``X``: uint8 ``(n, C, H, W)``, ``y``: labels)."""
    return load_file(SAMPLES / f"{card(name)['sample']}.safetensors")


def sample_dataset(name: str) -> Dataset:
    """The shipped test images of ``name`` as a Dataset: a zoo model's reference data."""
    arrays = sample(name)
    return Dataset(arrays["X"], arrays.get("y"), f"zoo:{name.removeprefix(PREFIX)} sample", "image")


def extras(name: str) -> dict[str, np.ndarray]:
    """Arrays a model ships beside its weights (the face model's smile vector), or none."""
    file = path(name) / EXTRAS
    return load_file(file) if file.is_file() else {}


def evaluate(model, task: str, images: np.ndarray) -> dict[str, float]:
    """``model``'s metrics on uint8 ``images`` for its ``task``, as its card records them:
    the reconstruction (or denoising) metrics, colourisation of their grey version, or
    the codec's bytes and PSNR."""
    if task == "compress":
        return model.evaluate(images)
    if task == "denoise":
        return model.evaluate(images, noise=model.noise)
    if task == "colourise":
        from autoencoders.data.image_folder import luminance

        return model.evaluate(luminance(images), images)
    return model.evaluate(images)


def file_hash(file: Path) -> str:
    return hashlib.sha256(Path(file).read_bytes()).hexdigest()


def _check_hashes(folder: Path) -> None:
    hashes = json.loads((folder / CARD).read_text())["sha256"]
    for file, digest in hashes.items():
        if not (folder / file).is_file() or file_hash(folder / file) != digest:
            raise ModelFileError(
                f"zoo:{folder.name}: {file} does not match the hash in its card; "
                "the installed package is damaged: reinstall autoencoders"
            )


__all__ = ["card", "evaluate", "extras", "is_zoo", "load", "names", "path", "resolve", "sample"]
