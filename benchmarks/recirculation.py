"""Recirculation (Hinton & McClelland, 1988) against back-propagation on MNIST.

The same one-hidden-layer sigmoid autoencoder, trained without back-propagation by
recirculation and with it by Adam, on the 60 000 MNIST training images; the training
loss (BCE) per epoch of both, their test BCE, and a figure of the two curves.

Usage::

    AUTOENCODERS_DATA=../shared/datasets python benchmarks/recirculation.py [--epochs 10]
"""

from __future__ import annotations

import argparse
import time

from _common import RESULTS, data_dir, machine, write_results

from autoencoders import AutoEncoder
from autoencoders.data import load_dataset
from autoencoders.report import loss_curves
from autoencoders.theory import RECIRCULATION_RATES


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--latent-dim", type=int, default=64)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    folder = data_dir(args.data_dir)
    train = load_dataset("mnist", "train", data_dir=folder)
    test = load_dataset("mnist", "test", data_dir=folder)
    X_train = train.X.reshape(len(train.X), -1)
    X_test = test.X.reshape(len(test.X), -1)

    results = {}
    for trainer, rate in RECIRCULATION_RATES.items():
        model = AutoEncoder(
            "dense",
            latent_dim=args.latent_dim,
            activation="sigmoid",
            trainer=trainer,
            learning_rate=rate,
            epochs=args.epochs,
            batch_size=32,
            random_state=args.seed,
            verbose=1,
        )
        started = time.perf_counter()
        model.fit(X_train)
        results[trainer] = {
            "learning_rate": rate,
            "train_loss": [row["loss"] for row in model.history_],
            "test_bce": model.evaluate(X_test)["bce"],
            "train_seconds": time.perf_counter() - started,
        }
        print(trainer, results[trainer], flush=True)

    loss_curves(
        {name: r["train_loss"] for name, r in results.items()},
        RESULTS / "recirculation.png",
        title=f"MNIST, 784-{args.latent_dim}-784 sigmoid autoencoder: training BCE",
    )
    lines = [
        "# Recirculation vs back-propagation on MNIST",
        "",
        f"784-{args.latent_dim}-784 sigmoid autoencoder, batch 32, {args.epochs} epochs, "
        "60 000 training images; test BCE on the 10 000 test images.",
        "",
        "| trainer | learning rate | train BCE, epoch 1 → last | test BCE | time |",
        "|---|---|---|---|---|",
    ]
    for name, r in results.items():
        lines.append(
            f"| {name} | {r['learning_rate']:g} | {r['train_loss'][0]:.4f} → "
            f"{r['train_loss'][-1]:.4f} | {r['test_bce']:.4f} | {r['train_seconds']:.0f} s |"
        )
    lines += ["", "![training curves](recirculation.png)", ""]
    write_results(
        "recirculation",
        {"machine": machine(), "latent_dim": args.latent_dim, "results": results},
        "\n".join(lines),
    )


if __name__ == "__main__":
    main()
