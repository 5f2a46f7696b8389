"""2-D embeddings of MNIST: autoencoders beside PCA, with the anchors of Sainburg et al.

The protocol of Sainburg, McInnes & Gentner (2021), "Parametric UMAP embeddings for
representation and semisupervised learning": fit on the 60 000 training images, embed
the 10 000 test images in 2-D; score the 5-NN accuracy of the test embedding (a kNN
classifier fitted on the training embedding) and its trustworthiness (scikit-learn,
k = 5, on a 10 000-point sample: the whole test set). Usage::

    AUTOENCODERS_DATA=../shared/datasets python benchmarks/embedding.py [--epochs 30]

Results: benchmarks/results/embedding.{json,md,png}.
"""

from __future__ import annotations

import argparse
import time

from _common import RESULTS, data_dir, machine, write_results

from autoencoders import AutoEncoder
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


def models(epochs: int, seed: int) -> dict[str, tuple[str, AutoEncoder]]:
    common = {"latent_dim": 2, "epochs": epochs, "random_state": seed}
    return {
        "deep AE": (
            "deep 784-512-256-2 (linear code), BCE",
            AutoEncoder("deep", hidden=(512, 256), **common),
        ),
        "VAE": ("VAE 784-512-256-2, Bernoulli decoder", AutoEncoder("vae", **common)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", help="folder with mnist/ (else $AUTOENCODERS_DATA)")
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--only", nargs="*", help="run only these models (and PCA)")
    args = parser.parse_args()
    folder = data_dir(args.data_dir)
    train = load_dataset("mnist", "train", data_dir=folder)
    test = load_dataset("mnist", "test", data_dir=folder)
    rows, planes = {}, {}
    started = time.perf_counter()
    pca_train, pca_test = pca_embedding(train.X / 255.0, test.X / 255.0)
    rows["PCA"] = {"description": "PCA, 2 components", "fit_seconds": time.perf_counter() - started}
    rows["PCA"] |= embedding_scores(pca_train, train.y, pca_test, test.y, data=test.X)
    planes["PCA"] = pca_test
    for name, (description, model) in models(args.epochs, args.seed).items():
        if args.only and name not in args.only:
            continue
        print(f"== {name}: {description}", flush=True)
        started = time.perf_counter()
        model.fit(train.X)
        seconds = time.perf_counter() - started
        codes = model.transform(test.X)
        scores = embedding_scores(model.transform(train.X), train.y, codes, test.y, data=test.X)
        rows[name] = {"description": description, "fit_seconds": seconds} | scores
        planes[name] = codes
        print(rows[name], flush=True)
    embedding_scatter(planes, test.y, RESULTS / "embedding.png", title="MNIST test set in 2-D")
    payload = {
        "machine": machine(),
        "epochs": args.epochs,
        "seed": args.seed,
        "rows": rows,
        "anchors": ANCHORS,
        "target": TARGET,
    }
    write_results("embedding", payload, markdown(payload))


def markdown(payload: dict) -> str:
    info = payload["machine"]
    lines = [
        "# 2-D embeddings of MNIST",
        "",
        f"Machine: {info['cpu']}, {info['cores']} cores, torch {info['torch']}. Command: "
        "`AUTOENCODERS_DATA=../shared/datasets python benchmarks/embedding.py "
        f"--epochs {payload['epochs']}`.",
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
