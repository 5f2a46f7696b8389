"""Reproduce the classic Keras autoencoder tutorials on MNIST and compare with Keras.

Trains, on the 60 000 MNIST training images, the models of the Keras blog tutorial
("Building Autoencoders in Keras") with its settings, and measures them on the 10 000
test images:

* dense 784-32-784 (ReLU code, sigmoid output), Adam, batch 256, 50 epochs;
* deep 784-128-64-32-64-128-784, Adam, batch 256, 50 epochs;
* conv (Conv(32)+MaxPool ×2 / Conv+UpSampling ×2), Adam, batch 128;
* the same conv model as a denoiser of x + 0.5·N(0, 1), clipped.

The Keras figures beside ours were measured on the same kind of machine (2-core AMD EPYC,
Keras 3.15, TensorFlow CPU). Usage::

    AUTOENCODERS_DATA=../shared/datasets python benchmarks/classics.py [--conv-epochs 5]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

from _common import RESULTS, data_dir, machine, write_results

from autoencoders import AutoEncoder
from autoencoders.data import load_dataset
from autoencoders.training.trainer import OPTIMIZERS

KERAS_ANCHORS = {  # test BCE and seconds per epoch, Keras 3.15 on 2 CPU cores
    "dense": {"bce": 0.0915, "seconds_per_epoch": 0.62, "epochs": 50},
    "deep": {"bce": 0.0845, "seconds_per_epoch": 0.90, "epochs": 50},
    "conv": {"bce": None, "seconds_per_epoch": 20.7, "epochs": None},
    "conv-denoiser": {"bce": None, "seconds_per_epoch": None, "epochs": None},
}


def models(conv_epochs: int, seed: int) -> dict[str, AutoEncoder]:
    common = {"random_state": seed, "verbose": 1}
    return {
        "dense": AutoEncoder("dense", latent_dim=32, epochs=50, batch_size=256, **common),
        "deep": AutoEncoder("deep", epochs=50, batch_size=256, **common),
        "conv": AutoEncoder("conv", epochs=conv_epochs, batch_size=128, **common),
        "conv-denoiser": AutoEncoder(
            "conv", noise="gaussian:0.5", epochs=conv_epochs, batch_size=128, **common
        ),
    }


def run_one(estimator: AutoEncoder, train, test) -> dict:
    X_train, X_test = train.X, test.X
    if estimator.model != "conv":  # the tutorial flattens to 784 features
        X_train, X_test = X_train.reshape(len(X_train), -1), X_test.reshape(len(X_test), -1)
    started = time.perf_counter()
    estimator.fit(X_train)
    elapsed = time.perf_counter() - started
    seconds = [row["seconds"] for row in estimator.history_]
    result = {
        "seed": estimator.random_state,
        "seconds_per_epoch": statistics.median(seconds[1:] or seconds),
        "train_seconds": elapsed,
        "test": estimator.evaluate(X_test),
    }
    if estimator.noise:
        result["denoising"] = estimator.evaluate(X_test, noise=estimator.noise)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", help="folder with mnist/ (else $AUTOENCODERS_DATA)")
    parser.add_argument("--conv-epochs", type=int, default=5)
    parser.add_argument(
        "--seeds",
        type=int,
        nargs="+",
        default=[0, 1, 2],
        help="seeds for the dense and deep rows (the conv rows use the first)",
    )
    parser.add_argument("--only", nargs="*", help="run only these rows")
    args = parser.parse_args()

    folder = data_dir(args.data_dir)
    train = load_dataset("mnist", "train", data_dir=folder)
    test = load_dataset("mnist", "test", data_dir=folder)
    rows = {}
    for name in models(args.conv_epochs, 0):
        if args.only and name not in args.only:
            continue
        seeds = args.seeds if name in ("dense", "deep") else args.seeds[:1]
        runs = []
        for seed in seeds:
            estimator = models(args.conv_epochs, seed)[name]
            print(f"== {name}, seed {seed}", flush=True)
            runs.append(run_one(estimator, train, test))
            print(runs[-1], flush=True)
        bces = [run["test"]["bce"] for run in runs]
        rows[name] = {
            "epochs": estimator.epochs,
            "batch_size": estimator.batch_size,
            "settings": {k: v for k, v in estimator.get_params().items() if v is not None},
            "test_bce_mean": statistics.fmean(bces),
            "test_bce_per_seed": bces,
            "test_psnr_mean": statistics.fmean(run["test"]["psnr"] for run in runs),
            "seconds_per_epoch": statistics.median(run["seconds_per_epoch"] for run in runs),
            "runs": runs,
            "keras": KERAS_ANCHORS[name],
        }

    previous = RESULTS / "classics.json"
    if args.only and previous.exists():  # a partial rerun updates its rows, keeps the others
        rows = json.loads(previous.read_text())["rows"] | rows
        rows = {name: rows[name] for name in KERAS_ANCHORS if name in rows}
    info = machine()
    write_results("classics", {"machine": info, "rows": rows}, markdown(rows, info))


def markdown(rows: dict, info: dict) -> str:
    lines = [
        "# Classic Keras tutorials on MNIST, reproduced",
        "",
        f"Machine: {info['cpu']}, {info['cores']} cores, torch {info['torch']}. "
        "Command: `AUTOENCODERS_DATA=../shared/datasets python benchmarks/classics.py`.",
        "Test metrics on the 10 000 MNIST test images; BCE per pixel, PSNR per image (peak 1). "
        f"Our defaults: Adam (lr {OPTIMIZERS['adam'][1]:g}, a warm-up of 5% of the steps "
        "up to 100, then cosine-annealed to 0); `init='auto'`: the one-layer dense "
        "model starts at PCA, the others at Glorot-uniform.",
        "The Keras columns are anchors measured on a 2-core AMD EPYC (Keras 3.15), not in "
        "this run: for speed, compare within one run (`speed.md`, `time_to_quality.md`).",
        "",
        "| model | epochs | batch | test BCE, mean (per seed) | Keras BCE | PSNR (dB) | s/epoch "
        "| Keras s/epoch |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, row in rows.items():
        keras = row["keras"]
        keras_bce = f"{keras['bce']:.4f}" if keras["bce"] else "–"
        keras_s = f"{keras['seconds_per_epoch']:.2f}" if keras["seconds_per_epoch"] else "–"
        per_seed = ", ".join(f"{b:.4f}" for b in row["test_bce_per_seed"])
        lines.append(
            f"| {name} | {row['epochs']} | {row['batch_size']} | {row['test_bce_mean']:.4f} "
            f"({per_seed}) | {keras_bce} | {row['test_psnr_mean']:.2f} "
            f"| {row['seconds_per_epoch']:.2f} | {keras_s} |"
        )
    for name, row in rows.items():
        if "denoising" in row["runs"][0]:
            d = row["runs"][0]["denoising"]
            lines += [
                "",
                f"Denoising ({name}, gaussian σ = 0.5): noisy input PSNR "
                f"{d['noisy_psnr']:.2f} dB → denoised {d['psnr']:.2f} dB "
                f"(BCE vs clean {d['bce']:.4f}).",
            ]
    lines += [
        "",
        "The conv rows use fewer epochs than the tutorial (50 / 100) to fit a 2-core "
        "CPU budget; the Keras conv anchor is its time per epoch only.",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
