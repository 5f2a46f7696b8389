"""Codes as features: how much of the labels a linear classifier and k-means find in them,
beside raw inputs and PCA at the same dimension.

>>> from autoencoders import AutoEncoder
>>> from autoencoders.data import load_dataset
>>> train, test = load_dataset("digits", "train"), load_dataset("digits", "test")
>>> ae = AutoEncoder("dense", latent_dim=8, epochs=2, random_state=0).fit(train.X)
>>> table = compare_features(ae, train, test)
>>> list(table), sorted(table["code"])
(['code', 'PCA (8)', 'raw'], ['ari', 'linear_probe', 'nmi'])
"""

from __future__ import annotations

import numpy as np
from sklearn.cluster import KMeans
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from autoencoders.applications.embedding import pca_embedding
from autoencoders.data import Dataset
from autoencoders.errors import DataError


def linear_probe(
    train_features: np.ndarray,
    train_labels: np.ndarray,
    test_features: np.ndarray,
    test_labels: np.ndarray,
    *,
    max_iter: int = 1000,
) -> float:
    """Test accuracy of a logistic regression on standardised features: how linearly
    separable the classes are in them."""
    probe = make_pipeline(StandardScaler(), LogisticRegression(max_iter=max_iter))
    probe.fit(_flat(train_features), train_labels)
    return float(probe.score(_flat(test_features), test_labels))


def cluster_scores(
    features: np.ndarray, labels: np.ndarray, *, n_clusters: int | None = None, seed: int = 0
) -> dict[str, float]:
    """k-means (k = the number of classes by default, 10 restarts) against the labels:
    adjusted Rand index and normalised mutual information (1 = the classes exactly)."""
    k = n_clusters or len(np.unique(labels))
    clusters = KMeans(n_clusters=k, n_init=10, random_state=seed).fit_predict(_flat(features))
    return {
        "ari": float(adjusted_rand_score(labels, clusters)),
        "nmi": float(normalized_mutual_info_score(labels, clusters)),
    }


def compare_features(
    estimator, train: Dataset, test: Dataset, *, max_iter: int = 1000
) -> dict[str, dict[str, float]]:
    """The fitted ``estimator``'s codes, PCA with as many components and the raw (scaled)
    inputs: a linear probe fitted on ``train`` and scored on ``test``, and k-means on
    ``test``, by row."""
    if train.y is None or test.y is None:
        raise DataError("comparing features needs labelled data; give a --label-column")
    scaled = [estimator.input_scaler_.transform(d.X) for d in (train, test)]
    codes = [estimator.transform(d.X) for d in (train, test)]
    size = codes[0].shape[1]
    rows = {"code": codes}
    if size < min(len(scaled[0]), _flat(scaled[0]).shape[1]):
        rows[f"PCA ({size})"] = pca_embedding(*scaled, n_components=size)
    rows["raw"] = scaled
    table = {}
    for name, (train_x, test_x) in rows.items():
        accuracy = linear_probe(train_x, train.y, test_x, test.y, max_iter=max_iter)
        table[name] = {"linear_probe": accuracy} | cluster_scores(test_x, test.y)
    return table


def _flat(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x)
    return x.reshape(len(x), -1)
