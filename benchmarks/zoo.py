"""Train the pretrained models the package ships (``src/autoencoders/zoo``), one command each.

    AUTOENCODERS_DATA=../shared/datasets python benchmarks/zoo.py mnist-conv
    python benchmarks/zoo.py all

Each model is trained from the shared data with a fixed seed on ``--threads`` threads
(2 by default: the same seed, thread count and CPU give the same file hashes), saved as
a run directory, measured on its full test set and on the few test images shipped in
``zoo/samples/`` (the test suite re-measures those), and described in ``card.json``.
Faces and CIFAR-10 photographs are stored as uint8, like MNIST, so every image model of
the zoo takes 8-bit images.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from _common import data_dir, machine
from safetensors.numpy import save_file

from autoencoders import AutoEncoder, VariationalAutoEncoder, zoo
from autoencoders.compression import ImageCodec
from autoencoders.data import load_dataset
from autoencoders.data.image_folder import luminance, read_image_folder
from autoencoders.generation import attribute_region, attribute_vector

PHOTOS = {"batch_size": 64, "learning_rate": 2e-3, "loss": "mse", "random_state": 0}
SHOWN = {  # the metrics a card lists, per task
    "reconstruct": ("bce", "psnr", "ssim"),
    "denoise": ("psnr", "ssim", "noisy_psnr"),
    "colourise": ("psnr", "ssim"),
    "compress": ("bytes_per_image", "psnr"),
}
TOLERANCE = 0.01  # relative: the sample metrics must reproduce this closely on any CPU


@dataclass
class Data:
    description: str
    train: np.ndarray  # uint8 (n, C, H, W)
    test: np.ndarray
    sample: str  # the name of the shipped sample
    sample_images: np.ndarray
    sample_labels: np.ndarray
    train_labels: np.ndarray | None = None


@dataclass
class Spec:
    description: str
    task: str
    data: Callable[[Path], Data]
    model: Callable[[], object]
    extras: Callable[[object, Data], dict[str, np.ndarray]] | None = None


def mnist(root: Path) -> Data:
    train = load_dataset("mnist", "train", data_dir=root / "mnist")
    test = load_dataset("mnist", "test", data_dir=root / "mnist")
    return Data(
        "MNIST training set (60 000 digits); tested on its 10 000 test digits",
        train.X,
        test.X,
        "mnist-test",
        test.X[:256],
        test.y[:256],
    )


def as_uint8(images: np.ndarray) -> np.ndarray:
    return np.rint(images * 255).astype(np.uint8)


def faces(root: Path) -> Data:
    # The split of benchmarks/photos.py: a seeded 10% of the faces held out.
    X, y, names = read_image_folder(root / "smiles")
    smiling = (y == names.index("smiling")).astype(np.int64)
    order = np.random.default_rng(0).permutation(len(X))
    test, train = order[: len(X) // 10], order[len(X) // 10 :]
    X = as_uint8(X)
    shown = np.concatenate([test[smiling[test] == 0][:16], test[smiling[test] == 1][:8]])
    return Data(
        "SMILEsmileD faces, 64×64 grey (a seeded 90% of 12 152); tested on the other 1 215",
        X[train],
        X[test],
        "faces-test",
        X[shown],
        smiling[shown],
        train_labels=smiling[train],
    )


def cifar(root: Path) -> Data:
    train, _, _ = read_image_folder(root / "cifar10" / "train")
    test, labels, _ = read_image_folder(root / "cifar10" / "test")
    shown = np.random.default_rng(0).permutation(len(test))[:48]
    return Data(
        "CIFAR-10 photographs, 32×32 (the shared 20 000); tested on the shared 2 000",
        as_uint8(train),
        as_uint8(test),
        "cifar-test",
        as_uint8(test[shown]),
        labels[shown],
    )


def smile_vector(model, data: Data) -> dict[str, np.ndarray]:
    """The smile vector and the region where smiling and non-smiling faces differ."""
    without, with_ = data.train[data.train_labels == 0], data.train[data.train_labels == 1]
    vector = attribute_vector(model, without, with_)
    return {"smile": vector.astype(np.float32), "smile_region": attribute_region(without, with_)}


SPECS = {
    "mnist-dense": Spec(
        "the Keras tutorial's shallow 784-32-784 (BCE, Adam, 50 epochs)",
        "reconstruct",
        mnist,
        lambda: AutoEncoder("dense", latent_dim=32, epochs=50, batch_size=256, random_state=0),
    ),
    "mnist-deep": Spec(
        "the Keras tutorial's deep stack 784-128-64-32-64-128-784 (50 epochs)",
        "reconstruct",
        mnist,
        lambda: AutoEncoder("deep", epochs=50, batch_size=256, random_state=0),
    ),
    "mnist-conv": Spec(
        "the Keras tutorial's convolutional denoiser (Gaussian noise σ = 0.5, 20 epochs)",
        "denoise",
        mnist,
        lambda: AutoEncoder(
            "conv", noise="gaussian:0.5", epochs=20, batch_size=128, random_state=0
        ),
    ),
    "mnist-vae-2d": Spec(
        "a VAE with a 2-D latent space, 784-256-2 (50 epochs): samples and the manifold",
        "reconstruct",
        mnist,
        lambda: VariationalAutoEncoder(
            "vae", latent_dim=2, hidden=(256,), epochs=50, batch_size=128, random_state=0
        ),
    ),
    "mnist-codec": Spec(
        "a learned image codec for digits (λ = 0.03, 16 filters, 12 epochs)",
        "compress",
        mnist,
        lambda: ImageCodec(0.03, filters=16, global_dim=64, epochs=12, random_state=0),
    ),
    "faces": Spec(
        "a residual face autoencoder with an 8×8×2 code and its smile vector (8 epochs)",
        "reconstruct",
        faces,
        lambda: AutoEncoder("resnet", code_channels=2, filters=(32, 64, 96), epochs=8, **PHOTOS),
        extras=smile_vector,
    ),
    "cifar-colour": Spec(
        "grey → colour on photographs: a residual model predicting chroma (8 epochs)",
        "colourise",
        cifar,
        lambda: AutoEncoder("resnet", code_channels=8, filters=(16, 32, 64), epochs=8, **PHOTOS),
    ),
}


def shown(metrics: dict, task: str) -> dict[str, float]:
    return {k: round(float(metrics[k]), 6) for k in SHOWN[task] if k in metrics}


def build(name: str, root: Path, threads: int) -> dict:
    spec = SPECS[name]
    torch.set_num_threads(threads)
    data = spec.data(root)
    model = spec.model()
    started = time.perf_counter()
    if spec.task == "colourise":
        model.fit(luminance(data.train), data.train)
    else:
        model.fit(data.train)
    seconds = time.perf_counter() - started
    test_metrics = shown(zoo.evaluate(model, spec.task, data.test), spec.task)
    sample_metrics = shown(zoo.evaluate(model, spec.task, data.sample_images), spec.task)

    zoo.SAMPLES.mkdir(parents=True, exist_ok=True)
    save_file(
        {"X": np.ascontiguousarray(data.sample_images), "y": data.sample_labels.astype(np.int64)},
        zoo.SAMPLES / f"{data.sample}.safetensors",
    )
    with tempfile.TemporaryDirectory() as tmp:
        staging = Path(tmp) / name
        model.save(staging, metrics={"data": data.description, "test": test_metrics})
        if spec.extras is not None:
            save_file(spec.extras(model, data), staging / zoo.EXTRAS)
        hashed = [
            f for f in ("config.json", "model.safetensors", zoo.EXTRAS) if (staging / f).exists()
        ]
        card = {
            "name": name,
            "description": spec.description,
            "task": spec.task,
            "data": data.description,
            "settings": model.get_params(),
            "command": f"AUTOENCODERS_DATA=../shared/datasets python benchmarks/zoo.py {name}",
            "train_seconds": round(seconds, 1),
            "threads": threads,
            "machine": machine(),
            "test_metrics": test_metrics,
            "sample": data.sample,
            "sample_metrics": sample_metrics,
            "tolerance": TOLERANCE,
            "sha256": {f: zoo.file_hash(staging / f) for f in hashed},
        }
        (staging / zoo.CARD).write_text(json.dumps(card, indent=2) + "\n")
        target = zoo.MODELS / name
        shutil.rmtree(target, ignore_errors=True)
        shutil.copytree(staging, target)
    print(f"{name}: {seconds:.0f} s, test {test_metrics}, sample {sample_metrics}", flush=True)
    return card


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("names", nargs="+", choices=[*SPECS, "all"], metavar="NAME")
    parser.add_argument("--data-dir", help="shared datasets (else $AUTOENCODERS_DATA)")
    parser.add_argument("--threads", type=int, default=2, help="training threads (hashes)")
    args = parser.parse_args(argv)
    names = list(SPECS) if "all" in args.names else args.names
    root = data_dir(args.data_dir)
    for name in names:
        build(name, root, args.threads)
    total = sum(p.stat().st_size for p in zoo.ROOT.rglob("*") if p.is_file())
    print(f"zoo: {total / 1e6:.2f} MB in {zoo.ROOT}", file=sys.stderr)


if __name__ == "__main__":
    main()
