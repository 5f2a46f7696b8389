"""One-class MNIST: train on one digit, find the other nine among the 10 000 test images.

For each digit k, an :class:`~autoencoders.applications.AnomalyDetector` is fitted on the
training images of k only (about 6 000) and scores all 10 000 test images; the ROC-AUC
treats k as normal and the other digits as anomalies (the protocol of Ruff et al., 2018,
"Deep One-Class Classification"). One set of settings serves all ten digits. Each
variant is scored twice from the same fit: by the mean squared error (``anomaly_score="mse"``,
the detector's default for images) and by the loss the model was trained with
(``anomaly_score="model"``: BCE per pixel, or a VAE's negative ELBO). Usage::

    AUTOENCODERS_DATA=../shared/datasets python benchmarks/one_class.py [--only deep]

A run with ``--only`` updates those variants in benchmarks/results/one_class.json and
keeps the others.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import numpy as np
from _common import RESULTS, command_line, data_dir, machine, write_results
from sklearn.frozen import FrozenEstimator
from sklearn.metrics import roc_auc_score

from autoencoders import AutoEncoder
from autoencoders.applications import AnomalyDetector, default_model
from autoencoders.data import load_dataset

# Published one-class MNIST ROC-AUCs (%), mean over the ten digits.
DEEP_SVDD = [98.0, 99.7, 91.7, 91.9, 94.9, 88.5, 98.3, 94.6, 93.9, 96.5]  # Ruff et al., ICML 2018
ANCHORS = {
    "Deep SVDD (one-class; Ruff et al., ICML 2018)": {
        "mean": statistics.fmean(DEEP_SVDD),
        "per_class": DEEP_SVDD,
    },
    "GEOM (geometric transforms; Golan & El-Yaniv, NeurIPS 2018)": {"mean": 98.0},
    "ARNet (attribute restoration; Fei et al., 2020)": {"mean": 98.3},
}
TARGET = 96.0
SCORES = ("mse", "model")


def variants(seed: int) -> dict[str, tuple[str, dict]]:
    """The detectors tried (AnomalyDetector parameters), each one setting for all digits."""
    common = {"random_state": seed, "batch_size": 128, "epochs": 30}
    return {
        "default": ("`AnomalyDetector()`: its defaults", {"random_state": seed}),
        "deep-16": (
            "deep 784-128-64-16, no trimming (clean training data)",
            {"model": AutoEncoder("deep", latent_dim=16, **common), "trim": 0},
        ),
        "deep-32": (
            "deep 784-128-64-32, no trimming",
            {"model": AutoEncoder("deep", **common), "trim": 0},
        ),
        "dense-32": (
            "shallow 784-32-784 (the Keras tutorial's), no trimming",
            {"model": AutoEncoder("dense", **common), "trim": 0},
        ),
        "deep-16-denoising": (
            "deep 784-128-64-16, denoising (gaussian:0.2), no trimming",
            {
                "model": AutoEncoder("deep", latent_dim=16, noise="gaussian:0.2", **common),
                "trim": 0,
            },
        ),
    }


def run_variant(params: dict, train, test) -> dict:
    per_score = {score: [] for score in SCORES}
    seconds = []
    for digit in range(10):
        normal = train.X[train.y == digit]
        started = time.perf_counter()
        fitted = AnomalyDetector(**params).fit(normal).model_
        seconds.append(time.perf_counter() - started)
        anomalous = test.y != digit
        for score in SCORES:
            detector = AnomalyDetector(FrozenEstimator(fitted), anomaly_score=score).fit(normal)
            per_score[score].append(100 * roc_auc_score(anomalous, -detector.score_samples(test.X)))
        print(
            f"  digit {digit}: "
            + ", ".join(f"{s} {v[-1]:.1f}" for s, v in per_score.items())
            + f" ({seconds[-1]:.0f} s)",
            flush=True,
        )
    return {
        "scores": {
            score: {"mean": statistics.fmean(values), "per_class": values}
            for score, values in per_score.items()
        },
        "fit_seconds": seconds,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", help="folder with mnist/ (else $AUTOENCODERS_DATA)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--only", nargs="*", help="run only these variants")
    args = parser.parse_args()
    folder = data_dir(args.data_dir)
    train = load_dataset("mnist", "train", data_dir=folder)
    test = load_dataset("mnist", "test", data_dir=folder)
    rows = {}
    for name, (description, params) in variants(args.seed).items():
        if args.only and name not in args.only:
            continue
        print(f"== {name}: {description}", flush=True)
        rows[name] = {"description": description} | run_variant(params, train, test)
        rows[name]["settings"] = _settings(params, train.X[:1])
    previous = RESULTS / "one_class.json"
    if args.only and previous.exists():  # a partial rerun updates its rows, keeps the others
        rows = json.loads(previous.read_text())["rows"] | rows
        rows = {name: rows[name] for name in variants(args.seed) if name in rows}
    command = command_line("benchmarks/one_class.py", args.data_dir)
    payload = {
        "machine": machine(),
        "command": command,
        "seed": args.seed,
        "rows": rows,
        "anchors": ANCHORS,
    }
    write_results("one_class", payload, markdown(payload))


def _settings(params: dict, sample: np.ndarray) -> dict:
    """The detector's and its model's parameters, as run (the default model resolved)."""
    detector = AnomalyDetector(**params)
    model = detector.model if detector.model is not None else default_model(sample)
    detector_params = {k: v for k, v in detector.get_params(deep=False).items() if k != "model"}
    model_params = {k: v for k, v in model.get_params().items() if v is not None}
    return {"detector": detector_params, "model": model_params}


def markdown(payload: dict) -> str:
    rows, info = payload["rows"], payload["machine"]
    digits = " | ".join(str(d) for d in range(10))
    lines = [
        "# One-class MNIST",
        "",
        f"Machine: {info['cpu']}, {info['cores']} cores, torch {info['torch']}. "
        f"Command: `{payload['command']}`.",
        "",
        "For each digit k: fit on the ~6 000 training images of k only, score all 10 000 test "
        "images, ROC-AUC (%) with k as normal; one setting for all ten digits, seed "
        f"{payload['seed']}. Each of our rows is scored by the mean squared error (MSE, the "
        "detector's default for images) and, from the same fit, by the BCE the model trains "
        f"with. Target: our best ≥ {TARGET}.",
        "",
        f"| detector | score | mean | {digits} |",
        "|---|---|---:|" + "---:|" * 10,
    ]
    best = max(rows, key=lambda name: rows[name]["scores"]["mse"]["mean"])
    for name, row in rows.items():
        for score, label in (("mse", "MSE"), ("model", "BCE")):
            result = row["scores"][score]
            cells = " | ".join(f"{v:.1f}" for v in result["per_class"])
            bold = "**" if name == best and score == "mse" else ""
            lines.append(
                f"| {row['description']} | {label} | {bold}{result['mean']:.1f}{bold} | {cells} |"
            )
    for label, anchor in payload["anchors"].items():
        cells = " | ".join(f"{v:.1f}" for v in anchor.get("per_class", [])) or " | ".join(
            "–" for _ in range(10)
        )
        lines.append(f"| {label} | | {anchor['mean']:.1f} | {cells} |")
    lines += [
        "",
        "GEOM and ARNet are not autoencoders (they learn from transformed copies of the "
        "images); their papers give the mean over digits. The defaults of `AnomalyDetector` "
        "drop the 20% worst-reconstructed training images before the final fit, which helps "
        "on contaminated data (benchmarks/results/tabular_anomaly.md) and costs a little on "
        "this clean training data.",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
