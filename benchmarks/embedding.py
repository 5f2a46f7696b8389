"""2-D embeddings of MNIST: autoencoders beside PCA, with the anchors of Sainburg et al.

The protocol of Sainburg, McInnes & Gentner (2021), "Parametric UMAP embeddings for
representation and semisupervised learning": fit on the 60 000 training images, embed
the 10 000 test images in 2-D; score the 5-NN accuracy of the test embedding (a kNN
classifier fitted on the training embedding) and its trustworthiness (scikit-learn,
k = 5, on a 10 000-point sample: the whole test set). Usage::

    AUTOENCODERS_DATA=../shared/datasets python benchmarks/embedding.py [--only "UMAP AE"]

Each model trains for its own number of epochs (listed in its row); ``--only`` reruns
some rows and keeps the others of the last results.

Results: benchmarks/results/embedding.{json,md,png}.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
from _common import RESULTS, command_line, data_dir, machine, write_results

from autoencoders import AutoEncoder, VariationalAutoEncoder
from autoencoders.applications.embedding import embedding_scores, pca_embedding
from autoencoders.data import load_dataset
from autoencoders.report import embedding_scatter

ANCHORS = {  # Sainburg et al. (2021), MNIST, 2-D: 5-NN accuracy, trustworthiness
    "PCA": {"knn_accuracy": 0.420},
    "AE": {"knn_accuracy": 0.793, "trustworthiness": 0.966},
    "VAE": {"knn_accuracy": 0.765},
    "UMAP": {"knn_accuracy": 0.954},
    "parametric UMAP": {"knn_accuracy": 0.961},
    "t-SNE": {"trustworthiness": 0.987},
}
TARGET = 0.90


def models(seed: int) -> dict[str, tuple[str, AutoEncoder]]:
    common = {"latent_dim": 2, "random_state": seed}
    return {
        "deep AE": (
            "deep 784-512-256-2 (linear code), BCE, 20 epochs",
            AutoEncoder("deep", hidden=(512, 256), epochs=20, **common),
        ),
        "VAE": (
            "VAE 784-512-256-2, Bernoulli decoder, 20 epochs",
            VariationalAutoEncoder("vae", epochs=20, **common),
        ),
        "UMAP AE": (
            "deep 784-256-256-2, BCE + neighbour term (parametric UMAP, weight 10), "
            "150 epochs of batch 1024 at lr 1e-2",
            AutoEncoder(
                "deep",
                hidden=(256, 256),
                neighbors=10.0,
                epochs=150,
                batch_size=1024,
                learning_rate=1e-2,
                **common,
            ),
        ),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", help="folder with mnist/ (else $AUTOENCODERS_DATA)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--only", nargs="*", help="run only these models (and PCA)")
    args = parser.parse_args()
    previous = RESULTS / "embedding.json"
    kept = json.loads(previous.read_text())["rows"] if args.only and previous.exists() else {}
    folder = data_dir(args.data_dir)
    train = load_dataset("mnist", "train", data_dir=folder)
    test = load_dataset("mnist", "test", data_dir=folder)
    rows, planes = {}, {}
    started = time.perf_counter()
    pca_train, pca_test = pca_embedding(train.X / 255.0, test.X / 255.0)
    rows["PCA"] = {"description": "PCA, 2 components", "fit_seconds": time.perf_counter() - started}
    rows["PCA"] |= embedding_scores(pca_train, train.y, pca_test, test.y, data=test.X)
    planes["PCA"] = pca_test
    for name, (description, model) in models(args.seed).items():
        if args.only and name not in args.only:
            codes = RESULTS / f"embedding-{slug(name)}.npy"
            if name in kept and codes.exists():
                rows[name], planes[name] = kept[name], np.load(codes)
            continue
        print(f"== {name}: {description}", flush=True)
        started = time.perf_counter()
        model.fit(train.X)
        seconds = time.perf_counter() - started
        codes = model.transform(test.X)
        scores = embedding_scores(model.transform(train.X), train.y, codes, test.y, data=test.X)
        rows[name] = {"description": description, "fit_seconds": seconds} | scores
        planes[name] = codes
        np.save(RESULTS / f"embedding-{slug(name)}.npy", codes.astype(np.float32))
        print(rows[name], flush=True)
    embedding_scatter(planes, test.y, RESULTS / "embedding.png", title="MNIST test set in 2-D")
    payload = {
        "machine": machine(),
        "command": command_line("benchmarks/embedding.py", args.data_dir),
        "seed": args.seed,
        "rows": rows,
        "anchors": ANCHORS,
        "target": TARGET,
    }
    write_results("embedding", payload, markdown(payload))


def slug(name: str) -> str:
    return name.lower().replace(" ", "-")


def markdown(payload: dict) -> str:
    info = payload["machine"]
    lines = [
        "# 2-D embeddings of MNIST",
        "",
        f"Machine: {info['cpu']}, {info['cores']} cores, torch {info['torch']}. Command: "
        f"`{payload['command']}`.",
        "",
        "Fit on the 60 000 training images, embed the 10 000 test images in 2-D. 5-NN "
        "accuracy: a kNN classifier fitted on the training embedding, scored on the test "
        "embedding; trustworthiness: scikit-learn, k = 5, on the test set. Anchors: "
        f"Sainburg et al. (2021), same protocol. Target: ≥ {payload['target']} 5-NN accuracy.",
        "",
        "| method | 5-NN accuracy | trustworthiness | fit (s) |",
        "|---|---:|---:|---:|",
    ]
    for row in payload["rows"].values():
        lines.append(
            f"| {row['description']} (ours) | {row['knn_accuracy']:.3f} | "
            f"{row['trustworthiness']:.3f} | {row['fit_seconds']:.0f} |"
        )
    for name, anchor in payload["anchors"].items():
        accuracy = anchor.get("knn_accuracy")
        trust = anchor.get("trustworthiness")
        lines.append(
            f"| {name} (Sainburg et al.) | {'–' if accuracy is None else f'{accuracy:.3f}'} | "
            f"{'–' if trust is None else f'{trust:.3f}'} | |"
        )
    lines += ["", "![MNIST test set in 2-D](embedding.png)", ""]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
