"""Anomaly detection: scikit-learn's outlier API over any autoencoder, error maps, files, CLI."""

import json
from typing import ClassVar

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.ensemble import IsolationForest
from sklearn.frozen import FrozenEstimator
from sklearn.metrics import roc_auc_score
from sklearn.utils._param_validation import InvalidParameterError

from autoencoders import AutoEncoder, ModelFileError
from autoencoders.applications import AnomalyDetector, default_model
from autoencoders.applications.anomaly import DETECTOR
from tests.conftest import curved_table
from tests.quality import SEED, holds
from tests.test_cli import run


def small_dense(**params):
    defaults = {"hidden": (16,), "latent_dim": 2, "epochs": 100, "batch_size": 32}
    return AutoEncoder("dense", **(defaults | params))


@pytest.fixture(scope="module")
def table():
    """Points near a curve, plus 15 pushed off it along one feature: (X, is_outlier)."""
    normal = curved_table(300, seed=0)
    rng = np.random.default_rng(1)
    outliers = curved_table(15, seed=2)
    outliers[np.arange(15), rng.integers(0, 5, 15)] += rng.choice([-12.0, 12.0], 15)
    return np.vstack([normal, outliers]), np.r_[np.zeros(300), np.ones(15)].astype(bool)


@pytest.fixture(scope="module")
def table_detector(table):
    X, _ = table
    return AnomalyDetector(small_dense(random_state=SEED), contamination=0.05, trim=0).fit(X)


@pytest.fixture(scope="module")
def image_detector(digits):
    train, _ = digits
    model = AutoEncoder("dense", latent_dim=8, epochs=30, batch_size=64, random_state=SEED)
    return AnomalyDetector(model, contamination=0.02, trim=0).fit(train.X)


@pytest.mark.quality
def test_outliers_score_lower_and_are_flagged(table, table_detector):
    X, outlier = table
    scores = table_detector.score_samples(X)
    assert holds("ROC-AUC", roc_auc_score(outlier, -scores), above=0.95)
    labels = table_detector.predict(X)
    assert set(np.unique(labels)) == {-1, 1}
    assert holds("outliers flagged", (labels[outlier] == -1).mean(), above=0.8)
    assert holds("normal kept", (labels[~outlier] == 1).mean(), above=0.95)


def test_threshold_is_the_contamination_quantile_of_training_scores(table, table_detector):
    X, _ = table
    anomaly = -table_detector.score_samples(X)
    assert table_detector.threshold_ == pytest.approx(np.quantile(anomaly, 0.95))
    assert (table_detector.predict(X) == -1).mean() == pytest.approx(0.05, abs=0.01)
    np.testing.assert_allclose(
        table_detector.decision_function(X), table_detector.threshold_ - anomaly
    )
    assert np.array_equal(table_detector.predict(X) == -1, table_detector.decision_function(X) < 0)


def test_scores_come_from_error_maps_or_the_model(table, table_detector):
    X, _ = table
    detector = table_detector
    assert detector.anomaly_score_ == "normalized"  # "auto" on a table
    errors = detector.error_map(X)
    assert errors.shape == X.shape and (errors >= 0).all()
    np.testing.assert_allclose(
        -detector.score_samples(X), (errors / detector.error_scale_).mean(1), rtol=1e-5
    )
    model_score = AnomalyDetector(FrozenEstimator(detector.model_), anomaly_score="model").fit(X)
    np.testing.assert_allclose(model_score.score_samples(X), detector.model_.score_samples(X))
    mse = AnomalyDetector(FrozenEstimator(detector.model_), anomaly_score="mse").fit(X)
    np.testing.assert_allclose(-mse.score_samples(X), errors.mean(1), rtol=1e-5)


@pytest.mark.quality
def test_image_error_maps_point_at_the_damage(digits, image_detector):
    _, test = digits
    assert image_detector.anomaly_score_ == "mse"
    clean = test.X[:20]
    damaged = clean.copy()
    damaged[:, :, 5:8, 5:8] = 1 - damaged[:, :, 5:8, 5:8]  # invert a 3×3 corner patch
    maps = image_detector.error_map(damaged)
    assert maps.shape == damaged.shape
    patch = maps[:, 0, 5:8, 5:8].mean()
    rest = (maps[:, 0].sum((1, 2)) - maps[:, 0, 5:8, 5:8].sum((1, 2))).mean() / 55
    assert holds("patch / rest error", patch / rest, above=3)
    worse = image_detector.score_samples(damaged) < image_detector.score_samples(clean)
    assert holds("damaged score lower", worse.mean(), above=0.9)


def test_any_estimator_with_score_samples_works(table):
    """The score can be any model's score_samples (an ELBO, an isolation forest's)."""
    X, outlier = table
    detector = AnomalyDetector(IsolationForest(random_state=0), anomaly_score="model", trim=0).fit(
        X
    )
    assert roc_auc_score(outlier, -detector.score_samples(X)) > 0.8
    assert detector.predict(X).shape == (len(X),)


class RecordingAutoEncoder(AutoEncoder):
    """An autoencoder that records the epochs of each fit."""

    epochs_seen: ClassVar[list[int]] = []

    def fit(self, X, y=None, **kwargs):
        self.epochs_seen.append(self.epochs)
        return super().fit(X, y, **kwargs)


def test_screens_are_quick_fits(table):
    X, _ = table
    RecordingAutoEncoder.epochs_seen.clear()
    model = RecordingAutoEncoder("dense", latent_dim=2, epochs=6, random_state=0)
    AnomalyDetector(model, screen_epochs=2).fit(X)
    assert RecordingAutoEncoder.epochs_seen == [2, 2, 6]


def test_a_frozen_model_is_not_retrained(table):
    X, _ = table
    model = small_dense(random_state=0, epochs=5).fit(X[:300])
    before = {k: v.clone() for k, v in model.module_.state_dict().items()}
    detector = AnomalyDetector(FrozenEstimator(model), trim=0.2).fit(X)
    assert detector.model_.estimator is model
    for name, tensor in model.module_.state_dict().items():
        assert tensor.equal(before[name]), name


class RecordingForest(IsolationForest):
    """An isolation forest that records how many samples each fit saw."""

    fits: ClassVar[list[int]] = []

    def fit(self, X, y=None):
        self.fits.append(len(X))
        return super().fit(X)


def test_trim_refits_without_the_worst_scored_samples(table):
    X, outlier = table
    RecordingForest.fits.clear()
    detector = AnomalyDetector(RecordingForest(random_state=0), anomaly_score="model", trim=0.2)
    detector.fit(X)
    assert RecordingForest.fits == [315, 252, 252]  # two screens, then the final fit
    assert roc_auc_score(outlier, -detector.score_samples(X)) > 0.8
    RecordingForest.fits.clear()
    AnomalyDetector(RecordingForest(random_state=0), anomaly_score="model", trim=0).fit(X)
    assert RecordingForest.fits == [315]


def test_default_models_by_kind(table, digit_images):
    X, _ = table
    assert default_model(X).model == "dense"
    assert default_model(digit_images).get_params()["model"] in ("conv", "dense", "deep")
    detector = AnomalyDetector(random_state=0).fit(X)
    assert detector.model_.random_state == 0


def test_sklearn_contract_and_parameter_checks(table):
    X, _ = table
    detector = AnomalyDetector(small_dense(), contamination=0.2, anomaly_score="mse")
    assert clone(detector).get_params()["contamination"] == 0.2
    with pytest.raises(InvalidParameterError):
        AnomalyDetector(contamination=0.7).fit(X)
    with pytest.raises(InvalidParameterError):
        AnomalyDetector(model="dense").fit(X)
    with pytest.raises(InvalidParameterError):
        AnomalyDetector(anomaly_score="elbo").fit(X)


def test_save_and_load_round_trip(tmp_path, table, table_detector):
    X, _ = table
    table_detector.save(tmp_path / "det")
    document = json.loads((tmp_path / "det" / DETECTOR).read_text())
    assert document["fitted"]["score"] == "normalized"
    assert document["params"]["contamination"] == 0.05
    loaded = AnomalyDetector.load(tmp_path / "det")
    np.testing.assert_allclose(loaded.score_samples(X), table_detector.score_samples(X), rtol=1e-6)
    assert loaded.threshold_ == table_detector.threshold_
    assert np.array_equal(loaded.predict(X), table_detector.predict(X))


def test_load_refuses_missing_or_damaged_files(tmp_path, table_detector):
    table_detector.model_.save(tmp_path / "plain")
    with pytest.raises(ModelFileError, match="not a saved AnomalyDetector"):
        AnomalyDetector.load(tmp_path / "plain")
    folder = table_detector.save(tmp_path / "det")
    document = json.loads((folder / DETECTOR).read_text())
    for key, value, message in [
        ("threshold", "high", "finite number"),
        ("error_scale", [1.0, 2.0], "positive numbers"),
        ("score", "elbo", "fitted.score"),
    ]:
        broken = json.loads(json.dumps(document))
        broken["fitted"][key] = value
        (folder / DETECTOR).write_text(json.dumps(broken))
        with pytest.raises(ModelFileError, match=message):
            AnomalyDetector.load(folder)
    (folder / DETECTOR).write_text("{not json")
    with pytest.raises(ModelFileError, match="unreadable JSON"):
        AnomalyDetector.load(folder)


# ----------------------------------------------------------------------------- CLI
@pytest.fixture(scope="module")
def digits_run(tmp_path_factory, image_detector):
    """A model directory as `autoencoders train` leaves it, and one saved with its detector."""
    folder = tmp_path_factory.mktemp("runs")
    image_detector.model_.save(folder / "model")
    image_detector.save(folder / "detector")
    return folder


def test_detect_writes_scores_and_a_figure(tmp_path, capsys, digits_run):
    out = tmp_path / "scores.csv"
    code, stdout, err = run(
        ["detect", digits_run / "model", "digits", "--reference", "digits", "-o", out], capsys
    )
    assert code == 0, err
    rows = np.genfromtxt(out, delimiter=",", names=True)
    assert rows.dtype.names == ("index", "anomaly_score", "is_anomaly", "label")
    assert len(rows) == 360 and set(np.unique(rows["is_anomaly"])) <= {0, 1}
    assert (tmp_path / "scores.png").stat().st_size > 10_000
    assert "anomalies" in stdout and "top 0.1 of digits" in stdout


def test_detect_uses_a_saved_threshold(tmp_path, capsys, digits_run, image_detector, digits):
    out = tmp_path / "scores.csv"
    code, stdout, err = run(["detect", digits_run / "detector", "digits", "-o", out], capsys)
    assert code == 0, err
    rows = np.genfromtxt(out, delimiter=",", names=True)
    expected = image_detector.predict(digits[1].X) == -1
    assert np.array_equal(rows["is_anomaly"].astype(bool), expected)
    assert "saved in" in stdout


def test_detect_bad_input_is_one_line(tmp_path, capsys, digits_run):
    for args, fragment in [
        (["detect", tmp_path / "nowhere", "digits", "-o", tmp_path / "s.csv"], "nowhere"),
        (["detect", digits_run / "model", "digits", "-o", tmp_path / "s.npy"], ".csv"),
        (["detect", digits_run / "model", "mnist.npy", "-o", tmp_path / "s.csv"], "mnist.npy"),
    ]:
        code, _, err = run(args, capsys)
        assert code == 2 and len(err.strip().splitlines()) == 1, err
        assert err.startswith("autoencoders: error:") and fragment in err, err
