"""Codes as features on MNIST: a linear probe and k-means, beside raw pixels and PCA.

Linear probe: a logistic regression on standardised features, fitted on the 60 000
training images and scored on the 10 000 test images. Clusters: k-means (k = 10, 10
restarts) on the test images' features, against the labels (ARI and NMI). The same
comparison as ``autoencoders features``, from
:func:`autoencoders.applications.features.compare_features`. Usage::

    AUTOENCODERS_DATA=../shared/datasets python benchmarks/features.py [--epochs 20]

Results: benchmarks/results/features.{json,md}.
"""

from __future__ import annotations

import argparse
import time

from _common import data_dir, machine, write_results

from autoencoders import AutoEncoder
from autoencoders.applications.features import compare_features
from autoencoders.data import load_dataset


def models(epochs: int, seed: int) -> dict[str, AutoEncoder]:
    common = {"epochs": epochs, "random_state": seed}
    return {
        "deep AE, 32-unit code": AutoEncoder("deep", **common),
        "deep AE, 10-unit code": AutoEncoder("deep", latent_dim=10, **common),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", help="folder with mnist/ (else $AUTOENCODERS_DATA)")
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    folder = data_dir(args.data_dir)
    train = load_dataset("mnist", "train", data_dir=folder)
    test = load_dataset("mnist", "test", data_dir=folder)
    tables = {}
    for name, model in models(args.epochs, args.seed).items():
        print(f"== {name}", flush=True)
        started = time.perf_counter()
        model.fit(train.X)
        fit_seconds = time.perf_counter() - started
        tables[name] = {"fit_seconds": fit_seconds, "rows": compare_features(model, train, test)}
        print(tables[name], flush=True)
    payload = {"machine": machine(), "epochs": args.epochs, "seed": args.seed, "tables": tables}
    write_results("features", payload, markdown(payload))


def markdown(payload: dict) -> str:
    info = payload["machine"]
    lines = [
        "# Codes as features on MNIST",
        "",
        f"Machine: {info['cpu']}, {info['cores']} cores, torch {info['torch']}. Command: "
        "`AUTOENCODERS_DATA=../shared/datasets python benchmarks/features.py "
        f"--epochs {payload['epochs']}`.",
        "",
        "Linear probe: logistic regression on standardised features, fitted on the training "
        "images, accuracy on the test images. k-means (k = 10) on the test images' features: "
        "adjusted Rand index and normalised mutual information against the digit labels. "
        "PCA has as many components as the code.",
        "",
    ]
    for name, table in payload["tables"].items():
        lines += [
            f"## {name} ({payload['epochs']} epochs, {table['fit_seconds']:.0f} s)",
            "",
            "| features | linear probe accuracy | k-means ARI | k-means NMI |",
            "|---|---:|---:|---:|",
        ]
        for row, scores in table["rows"].items():
            lines.append(
                f"| {row} | {scores['linear_probe']:.3f} | {scores['ari']:.3f} | "
                f"{scores['nmi']:.3f} |"
            )
        lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
