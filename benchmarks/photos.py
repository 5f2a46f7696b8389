"""Photographs: reconstruction against PCA (the smile-vector and colourisation parts of
issue 17 are not written yet).

All scores are on images no model saw: CIFAR-10's shared test split (2 000), and for
the faces (no split of their own) a seeded 10% held out. Every row has its training
time (this machine, this run). Parts, each written to ``results/photos-<part>.json``::

    recon-cifar  CIFAR-10 at 64, 128, 256 numbers per image: ours (``resnet``, spatial
                 code of 1, 2, 4 channels on an 8×8 map), the classic Keras conv with a
                 dense bottleneck of that size, PCA with that many components
    recon-faces  the faces at 32, 64, 128: the same three (ours with a flat code)

Usage::

    AUTOENCODERS_DATA=../shared/datasets python benchmarks/photos.py [--parts ...]
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import torch
from _common import command_line, data_dir, machine, write_results
from sklearn.decomposition import PCA

from autoencoders import AutoEncoder
from autoencoders.data.image_folder import read_image_folder
from autoencoders.metrics import psnr, ssim

PARTS = ("recon-cifar", "recon-faces")
TRAINING = {"batch_size": 64, "learning_rate": 2e-3, "loss": "mse", "random_state": 0, "verbose": 1}
CLASSIC = {"batch_size": 128, "loss": "mse", "random_state": 0}  # the Keras tutorial's batch


def scores(output: np.ndarray, target: np.ndarray) -> dict:
    out, ref = torch.from_numpy(np.clip(output, 0, 1)), torch.from_numpy(target)
    return {"psnr": float(psnr(out, ref).mean()), "ssim": float(ssim(out, ref).mean())}


def timed_fit(estimator: AutoEncoder, X, y=None) -> tuple[AutoEncoder, float]:
    start = time.perf_counter()
    estimator.fit(X, y)
    return estimator, time.perf_counter() - start


def pca_row(train: np.ndarray, test: np.ndarray, k: int) -> dict:
    start = time.perf_counter()
    pca = PCA(k, random_state=0).fit(train.reshape(len(train), -1))
    seconds = time.perf_counter() - start
    codes = pca.transform(test.reshape(len(test), -1))
    output = pca.inverse_transform(codes).reshape(test.shape).astype(np.float32)
    return {"method": f"PCA-{k}", "code": k, "seconds": seconds, **scores(output, test)}


def model_row(name: str, estimator: AutoEncoder, train, test, k: int) -> dict:
    estimator, seconds = timed_fit(estimator, train)
    assert int(np.prod(estimator.code_shape_)) == k, estimator.code_shape_
    row = {"method": name, "code": k, "seconds": seconds, "epochs": estimator.epochs}
    return {**row, **scores(estimator.predict(test), test)}, estimator


def faces(root) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    X, y, names = read_image_folder(root / "smiles")
    smiling = (y == names.index("smiling")).astype(int)
    order = np.random.default_rng(0).permutation(len(X))
    test, train = order[: len(X) // 10], order[len(X) // 10 :]
    return X[train], smiling[train], X[test], smiling[test]


def reconstruction(train, test, sizes, ours, epochs: dict) -> tuple[list, dict]:
    rows, models = [], {}
    for k in sizes:
        row, models[k] = model_row(
            "ours (resnet)",
            AutoEncoder("resnet", epochs=epochs["ours"], **ours(k), **TRAINING),
            train,
            test,
            k,
        )
        rows.append(row)
        classic = AutoEncoder("conv", latent_dim=k, epochs=epochs["classic"], **CLASSIC)
        rows += [model_row("classic conv", classic, train, test, k)[0], pca_row(train, test, k)]
        print(json.dumps(rows[-3:]), flush=True)
    return rows, models


def recon_table(title: str, rows: list) -> str:
    lines = [
        f"### {title}",
        "",
        "| code | method | PSNR dB | SSIM | train s |",
        "|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['code']} | {r['method']} | {r['psnr']:.2f} | {r['ssim']:.3f} "
            f"| {r['seconds']:.0f} |"
        )
    return "\n".join(lines) + "\n"


def run_recon_cifar(root, args) -> dict:
    train, _, _ = read_image_folder(root / "cifar10" / "train")
    test, _, _ = read_image_folder(root / "cifar10" / "test")
    rows, _ = reconstruction(
        train,
        test,
        (64, 128, 256),
        lambda k: {"code_channels": k // 64},
        {"ours": args.epochs, "classic": args.classic_epochs},
    )
    return {"rows": rows, "table": recon_table("CIFAR-10 test images (2 000)", rows)}


def run_recon_faces(root, args) -> dict:
    train, _, test, _ = faces(root)
    rows, _models = reconstruction(
        train,
        test,
        (32, 64, 128),
        lambda k: {"latent_dim": k, "filters": (32, 64, 128)},
        {"ours": args.face_epochs, "classic": args.classic_epochs},
    )
    return {"rows": rows, "table": recon_table("Held-out faces (1 215)", rows)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data-dir")
    parser.add_argument("--parts", nargs="+", choices=PARTS, default=list(PARTS))
    parser.add_argument("--epochs", type=int, default=6, help="ours on CIFAR-10")
    parser.add_argument("--face-epochs", type=int, default=8, help="ours on the faces")
    parser.add_argument("--classic-epochs", type=int, default=5)
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    root = data_dir(args.data_dir)
    for part in args.parts:
        start = time.perf_counter()
        result = globals()["run_" + part.replace("-", "_")](root, args)
        payload = {
            "command": command_line("benchmarks/photos.py", args.data_dir),
            "machine": machine(),
            "seconds": time.perf_counter() - start,
            **result,
        }
        write_results(f"photos-{part}", payload, result["table"])


if __name__ == "__main__":
    main()
