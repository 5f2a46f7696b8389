"""Dimensionality reduction and visualisation: how well a low-dimensional code keeps the
data's structure, measured as in Sainburg et al. (2021) and beside PCA.

>>> from autoencoders import AutoEncoder
>>> from autoencoders.data import load_dataset
>>> train, test = load_dataset("digits", "train"), load_dataset("digits", "test")
>>> ae = AutoEncoder("dense", hidden=(64,), latent_dim=2, neighbors=1.0, epochs=2,
...                  random_state=0).fit(train.X)
>>> scores = embedding_scores(ae.transform(train.X), train.y, ae.transform(test.X), test.y,
...                           data=test.X)
>>> sorted(scores)
['knn_accuracy', 'trustworthiness']
"""

from __future__ import annotations

import numpy as np
from sklearn.decomposition import PCA
from sklearn.manifold import trustworthiness
from sklearn.model_selection import cross_val_score
from sklearn.neighbors import KNeighborsClassifier

from autoencoders.errors import DataError

K = 5  # neighbours, for both scores (the protocol of Sainburg et al.)
TRUSTWORTHINESS_SAMPLE = 10_000  # its cost grows as n²


def knn_accuracy(
    train_embedding: np.ndarray,
    train_labels: np.ndarray,
    test_embedding: np.ndarray,
    test_labels: np.ndarray,
    *,
    k: int = K,
) -> float:
    """Accuracy of a k-NN classifier fitted on the training embedding, scored on the test
    one: high when classes form separate clusters and new samples land in theirs."""
    classifier = KNeighborsClassifier(n_neighbors=k).fit(_flat(train_embedding), train_labels)
    return float(classifier.score(_flat(test_embedding), test_labels))


def cross_validated_knn_accuracy(
    embedding: np.ndarray, labels: np.ndarray, *, k: int = K, folds: int = 5
) -> float:
    """:func:`knn_accuracy` when there is no separate test set: the mean over ``folds``
    stratified folds, each scored by a classifier fitted on the others."""
    classifier = KNeighborsClassifier(n_neighbors=k)
    return float(cross_val_score(classifier, _flat(embedding), labels, cv=folds).mean())


def trustworthiness_score(
    data: np.ndarray,
    embedding: np.ndarray,
    *,
    k: int = K,
    sample: int = TRUSTWORTHINESS_SAMPLE,
    random_state: int = 0,
) -> float:
    """scikit-learn's trustworthiness (Venna & Kaski): 1 when every point's ``k`` nearest
    neighbours in the embedding are also near it in the data; on at most ``sample``
    points, drawn at random."""
    data, embedding = _flat(data), _flat(embedding)
    if len(data) != len(embedding):
        raise DataError(f"data has {len(data)} samples but the embedding {len(embedding)}")
    if len(data) <= 2 * k + 1:
        raise DataError(f"trustworthiness with k={k} needs more than {2 * k + 1} samples")
    if len(data) > sample:
        keep = np.random.default_rng(random_state).choice(len(data), sample, replace=False)
        data, embedding = data[keep], embedding[keep]
    return float(trustworthiness(data.astype(np.float32), embedding, n_neighbors=k))


def embedding_scores(
    train_embedding: np.ndarray,
    train_labels: np.ndarray,
    test_embedding: np.ndarray,
    test_labels: np.ndarray,
    *,
    data: np.ndarray,
    k: int = K,
    sample: int = TRUSTWORTHINESS_SAMPLE,
) -> dict[str, float]:
    """Both scores of a test embedding; ``data`` are the test samples it embeds."""
    return {
        "knn_accuracy": knn_accuracy(
            train_embedding, train_labels, test_embedding, test_labels, k=k
        ),
        "trustworthiness": trustworthiness_score(data, test_embedding, k=k, sample=sample),
    }


def pca_embedding(
    train: np.ndarray, *others: np.ndarray, n_components: int = 2
) -> list[np.ndarray]:
    """PCA fitted on ``train`` (flattened), applied to it and to each of ``others``: the
    linear baseline every code is compared with."""
    pca = PCA(n_components=n_components, random_state=0).fit(_flat(train))
    return [pca.transform(_flat(x)) for x in (train, *others)]


def plane(codes: np.ndarray) -> tuple[np.ndarray, str]:
    """Codes as 2-D points to draw, and how: as they are, padded, or their top two
    principal components when the code is larger."""
    codes = _flat(codes)
    if codes.shape[1] == 2:
        return codes, "code"
    if codes.shape[1] == 1:
        return np.column_stack([codes[:, 0], np.zeros(len(codes))]), "1-D code"
    return PCA(n_components=2, random_state=0).fit_transform(codes), (
        f"{codes.shape[1]}-D code, top 2 principal components"
    )


def _flat(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x)
    return x.reshape(len(x), -1).astype(np.float64, copy=False)
