"""Test log-likelihood of our variational autoencoders on dynamically binarised MNIST.

The protocol of Burda et al. (2016), "Importance weighted autoencoders": train on the
60 000 training images, each batch a fresh Bernoulli draw of the grey levels; binarise
the 10 000 test images once (seed 0); report the importance-sampled negative
log-likelihood with k = 5000 posterior samples, in nats (lower is better), and the
ELBO. Anchors from the literature sit beside our figures in the table.

Usage::

    AUTOENCODERS_DATA=../shared/datasets python benchmarks/vae_nll.py [--epochs 100]
        [--only vae,iwae,vamp,hvae-vamp] [--k 5000] [--test-limit N]
"""

from __future__ import annotations

import argparse
import json
import re
import time

import numpy as np
from _common import RESULTS, command_line, data_dir, machine, write_results

from autoencoders import VariationalAutoEncoder
from autoencoders.data import load_dataset

ANCHORS = [  # test NLL in nats, dynamically binarised MNIST unless noted
    ("VAE, 1 stochastic layer (Burda et al. 2016)", 86.76),
    ("IWAE k=50, 1 stochastic layer (Burda et al. 2016)", 84.78),
    ("IWAE k=50, 2 stochastic layers (Burda et al. 2016)", 82.90),
    ("pythae VAE (statically binarised)", 89.78),
    ("pythae IWAE (statically binarised)", 86.82),
]
TARGETS = {"vae": 86.76, "best": 84.0}
FULL_TEST = 10_000


def configurations(epochs: int, seed: int) -> dict[str, VariationalAutoEncoder]:
    """``vae`` is the default VAE with dynamic binarisation; the others what we ship beyond it."""
    common = {"binarize": True, "epochs": epochs, "random_state": seed, "verbose": 1}
    return {
        "vae": VariationalAutoEncoder("vae", **common),
        "iwae": VariationalAutoEncoder("vae", iwae_samples=5, **common),
        "vamp": VariationalAutoEncoder("vae", prior="vamp", **common),
        "hvae-vamp": VariationalAutoEncoder("hvae", prior="vamp", **common),
    }


def binarised(images: np.ndarray, seed: int) -> np.ndarray:
    """One fixed Bernoulli draw of uint8 grey levels, kept in the data's units (0 or 255)."""
    rng = np.random.default_rng(seed)
    return (rng.random(images.shape) < images / 255.0).astype(np.uint8) * 255


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir")
    parser.add_argument("--epochs", type=int, default=100)
    parser.add_argument("--only", help="Comma-separated configurations to run.")
    parser.add_argument("--k", type=int, default=5000, help="Importance samples for the NLL.")
    parser.add_argument("--test-limit", type=int, help="Evaluate on the first N test images.")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    folder = data_dir(args.data_dir)
    train = load_dataset("mnist", "train", data_dir=folder)
    test = load_dataset("mnist", "test", data_dir=folder, limit=args.test_limit)
    X_train = train.X.reshape(len(train.X), -1)
    X_test = binarised(test.X.reshape(len(test.X), -1), seed=0)

    chosen = configurations(args.epochs, args.seed)
    if args.only:
        chosen = {name: chosen[name] for name in args.only.split(",")}
    results = {}
    for name, estimator in chosen.items():
        started = time.perf_counter()
        estimator.fit(X_train)
        train_seconds = time.perf_counter() - started
        started = time.perf_counter()
        nll = -estimator.log_likelihood(X_test, samples=args.k).mean()
        results[name] = {
            "params": {
                k: v for k, v in estimator.get_params().items() if k not in ("verbose", "device")
            },
            "hidden": list(estimator.model_config_.hidden),
            "latent_dim": estimator.model_config_.latent_dim,
            "test_nll": float(nll),
            "test_negative_elbo": float(-estimator.score(X_test)),
            "train_seconds": train_seconds,
            "seconds_per_epoch": train_seconds / len(estimator.history_),
            "eval_seconds": time.perf_counter() - started,
            "test_images": len(X_test),
            "command": command_line("benchmarks/vae_nll.py", args.data_dir),
        }
        print(name, results[name], flush=True)

    protocol = (
        "MNIST, dynamic binarisation in training, test set binarised once (seed 0), "
        f"importance-sampled NLL with k = {args.k}"
    )
    previous = RESULTS / "vae_nll.json"
    if args.only and previous.exists():  # a partial rerun replaces its rows, keeps the others
        old = json.loads(previous.read_text())
        if old["protocol"].startswith(protocol):
            counted = re.search(r"(\d+) test images", old["protocol"])
            for row in old["results"].values():
                row.setdefault("test_images", int(counted.group(1)) if counted else None)
            results = old["results"] | results
    full = {name: r for name, r in results.items() if r["test_images"] == FULL_TEST}
    best = min((r["test_nll"] for r in full.values()), default=float("inf"))
    payload = {
        "protocol": protocol,
        "machine": machine(),
        "results": results,
        "anchors": dict(ANCHORS),
        "targets": TARGETS,
        "default_vae_meets_target": "vae" in full and full["vae"]["test_nll"] <= TARGETS["vae"],
        "best_meets_target": best <= TARGETS["best"],
    }
    lines = [
        "# VAE test log-likelihood on dynamically binarised MNIST",
        "",
        payload["protocol"] + ".",
        "",
        "| model | hidden | latent | epochs | test images | test NLL (nats) | −ELBO | train time "
        "| s/epoch |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name, r in results.items():
        p = r["params"]
        label = name if p.get("iwae_samples", 1) == 1 else f"{name} (k={p['iwae_samples']})"
        if p.get("prior", "normal") != "normal":
            label += f", {p['model']} + VampPrior (K={p['pseudo_inputs']})"
        lines.append(
            f"| ours: {label} | {r['hidden']} | {r['latent_dim']} | {p['epochs']} | "
            f"{r['test_images']} | "
            f"**{r['test_nll']:.2f}** | {r['test_negative_elbo']:.2f} | "
            f"{r['train_seconds'] / 60:.1f} min | {r['seconds_per_epoch']:.1f} |"
        )
    for label, value in ANCHORS:
        lines.append(f"| {label} | | | | {FULL_TEST} | {value:.2f} | | | |")
    lines += [
        "",
        "The targets count only rows scored on all 10 000 test images, as the anchors are "
        "(the first test images are the easier ones).",
        f"Targets: default VAE ≤ {TARGETS['vae']} nats "
        f"({'met' if payload['default_vae_meets_target'] else 'not met'}); best configuration "
        f"≤ {TARGETS['best']} ({'met' if payload['best_meets_target'] else 'not met'}).",
        f"Machine: {payload['machine']['cpu']}, {payload['machine']['cores']} cores, "
        f"torch {payload['machine']['torch']}. Commands: "
        + "; ".join(sorted({f"`{r['command']}`" for r in results.values()}))
        + ".",
        "",
    ]
    write_results("vae_nll", payload, "\n".join(lines))


if __name__ == "__main__":
    main()
