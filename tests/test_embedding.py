"""Dimensionality reduction and features: the scores beside PCA,
``embed`` and ``features`` from the command line, and their figures."""

from __future__ import annotations

import json

import numpy as np
import pytest

from autoencoders import AutoEncoder
from autoencoders.applications.embedding import (
    embedding_scores,
    knn_accuracy,
    pca_embedding,
    plane,
    trustworthiness_score,
)
from autoencoders.applications.features import cluster_scores, compare_features, linear_probe
from autoencoders.errors import DataError
from autoencoders.report import embedding_scatter, score_bars
from tests.quality import SEED, holds
from tests.test_cli import assert_one_line_error, run


@pytest.fixture(scope="module")
def embedded(digits):
    """A 2-D code of the digits (a linear one: a ReLU could silence an axis)."""
    train, _ = digits
    model = AutoEncoder("dense", hidden=(128,), latent_dim=2, learning_rate=1e-2, epochs=60,
                        batch_size=64, random_state=SEED)  # fmt: skip
    return model.fit(train.X)


@pytest.mark.quality
def test_a_2d_code_keeps_classes_apart_better_than_pca(digits, embedded):
    train, test = digits
    code = knn_accuracy(embedded.transform(train.X), train.y, embedded.transform(test.X), test.y)
    pca_train, pca_test = pca_embedding(train.X, test.X)
    gain = code - knn_accuracy(pca_train, train.y, pca_test, test.y)
    assert holds("5-NN accuracy gain over PCA", gain, above=0.05)  # measured 0.108-0.197
    assert (embedded.transform(train.X) < 0).any()


def test_scores_of_known_embeddings(digits):
    train, test = digits
    flat = test.X.reshape(len(test.X), -1)
    assert trustworthiness_score(flat, flat) == pytest.approx(1.0, abs=1e-4)  # distance ties
    shuffled = np.random.default_rng(0).permutation(flat)
    assert trustworthiness_score(flat, shuffled[:, :2]) < 0.6
    pca_train, pca_test = pca_embedding(train.X, test.X)
    scores = embedding_scores(pca_train, train.y, pca_test, test.y, data=test.X)
    assert 0.4 < scores["knn_accuracy"] < 0.8  # PCA in 2-D mixes several digits
    assert 0.7 < scores["trustworthiness"] < 1.0
    with pytest.raises(DataError, match="samples"):
        trustworthiness_score(flat, flat[:10])


def test_plane_draws_any_code_size():
    codes = np.random.default_rng(0).normal(size=(50, 6))
    assert plane(codes[:, :2])[0].shape == (50, 2)
    assert plane(codes[:, :1])[0].shape == (50, 2)
    points, how = plane(codes)
    assert points.shape == (50, 2) and "principal components" in how


@pytest.mark.quality
def test_features_beside_pca_and_raw(digits):
    train, test = digits
    model = AutoEncoder("dense", latent_dim=16, epochs=20, batch_size=64, random_state=SEED)
    table = compare_features(model.fit(train.X), train, test, max_iter=300)
    assert list(table) == ["code", "PCA (16)", "raw"]
    assert table["raw"]["linear_probe"] > 0.9
    assert holds("linear probe on the code", table["code"]["linear_probe"], above=0.8)
    for row in table.values():
        assert 0 < row["ari"] <= 1 and 0 < row["nmi"] <= 1
    unlabelled = type(test)(test.X, None, "x", "image")
    with pytest.raises(DataError, match="labelled"):
        compare_features(model, train, unlabelled)


def test_probe_and_clusters_of_separable_data():
    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(3), 60)
    x = rng.normal(size=(180, 4)) + 10 * labels[:, None]
    assert linear_probe(x, labels, x, labels) == 1.0
    assert cluster_scores(x, labels) == {"ari": 1.0, "nmi": 1.0}


def test_figures(tmp_path):
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 3, 90)
    path = embedding_scatter(
        {"code": rng.normal(size=(90, 2)), "PCA": rng.normal(size=(90, 2))},
        labels,
        tmp_path / "scatter.png",
        class_names=("a", "b", "c"),
    )
    assert path.stat().st_size > 1000
    with pytest.raises(DataError, match=r"\(n, 2\)"):
        embedding_scatter({"code": rng.normal(size=(90, 3))}, labels, tmp_path / "bad.png")
    bars = score_bars({"code": {"ari": 0.5}, "raw": {"ari": 0.3}}, tmp_path / "bars.png")
    assert bars.stat().st_size > 1000


@pytest.fixture(scope="module")
def saved_run(tmp_path_factory, embedded):
    path = tmp_path_factory.mktemp("runs") / "embed"
    embedded.save(path)
    return path


def test_embed_command(saved_run, tmp_path, capsys):
    output = tmp_path / "embedding.csv"
    code, out, err = run(["embed", saved_run, "digits", "-o", output], capsys)
    assert code == 0, err
    header, *rows = output.read_text().splitlines()
    assert header == "x0,x1,label" and len(rows) == 360
    assert (tmp_path / "embedding.png").stat().st_size > 1000
    accuracies = [float(part.split()[-1]) for part in out.split("5-NN accuracy (5-fold):")[1]
                  .splitlines()[0].split(",")]  # fmt: skip
    assert accuracies[0] > accuracies[1]  # the code beats PCA at the same dimension
    assert "trustworthiness" in out


def test_embed_command_bad_input(saved_run, tmp_path, capsys):
    code, _, err = run(["embed", saved_run, "digits", "-o", tmp_path / "e.npy"], capsys)
    assert_one_line_error(code, err, "CSV")
    code, _, err = run(["embed", tmp_path / "missing", "digits", "-o", tmp_path / "e.csv"], capsys)
    assert code == 2 and "Traceback" not in err


def test_features_command(saved_run, tmp_path, capsys):
    output = tmp_path / "features.json"
    code, _out, err = run(["features", saved_run, "digits", "-o", output], capsys)
    assert code == 0, err
    table = json.loads(output.read_text())
    assert list(table) == ["code", "PCA (2)", "raw"]
    assert table["code"]["nmi"] > table["PCA (2)"]["nmi"]
    assert (tmp_path / "features.png").exists()
    code, _, err = run(["features", saved_run, "x.npy", "-o", output], capsys)
    assert_one_line_error(code, err, "--test")
