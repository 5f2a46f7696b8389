"""Anomalies in time series: one score per step, from windows as long as the series' period."""

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from autoencoders.applications.series import (
    DEFAULT_WINDOW,
    SeriesAnomalyDetector,
    find_period,
    step_scores,
)
from autoencoders.errors import DataError
from tests.quality import SEED, holds
from tests.test_cli import assert_one_line_error, run


def periodic(n: int = 3000, period: int = 40, seed: int = 0, features: int = 1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(n)[:, None]
    phases = np.arange(features)[None, :]
    series = np.sin(2 * np.pi * t / period + phases) + 0.05 * rng.normal(size=(n, features))
    return series[:, 0] if features == 1 else series


def with_anomalies(series: np.ndarray, starts=(1500, 2300), length: int = 25):
    """A level shift and a stretch of the wrong frequency; the labels, one per step."""
    series, labels = series.copy(), np.zeros(len(series), dtype=bool)
    first, second = (start * len(series) // 3000 for start in starts)
    wrong = np.sin(np.arange(length) * 1.3)
    series[first : first + length] += 1.5
    series[second : second + length] = wrong if series.ndim == 1 else wrong[:, None]
    labels[first : first + length] = labels[second : second + length] = True
    return series, labels


def test_the_period_is_read_off_the_autocorrelation():
    assert find_period(periodic(period=40)) == 40
    assert find_period(periodic(period=97)) == 97
    assert find_period(np.zeros(500)) == DEFAULT_WINDOW
    assert find_period(periodic(period=40, features=3)) == 40


def test_step_scores_average_the_windows_that_cover_each_step():
    window_scores = np.zeros(8)  # 8 windows of 3 steps over 10 steps
    window_scores[4] = 3.0  # window 4 covers steps 4, 5 and 6
    scores = step_scores(window_scores, 10)
    assert scores.shape == (10,)
    np.testing.assert_allclose(scores[4:7], 1.0)  # each covered by 3 windows, one of them 4
    assert np.count_nonzero(scores) == 3
    np.testing.assert_allclose(scores[0:2], 0.0)
    np.testing.assert_allclose(step_scores([2.0] + [0.0] * 7, 10)[0], 2.0)  # step 0: 1 window
    np.testing.assert_allclose(step_scores(np.ones(8), 10), np.ones(10))


@pytest.mark.quality
@pytest.mark.parametrize("model", ["dense", "pca"])
def test_finds_the_anomalous_steps_of_a_series(model):
    series, labels = with_anomalies(periodic(seed=SEED))
    detector = SeriesAnomalyDetector(
        model, train_size=1000, contamination=labels.mean(), random_state=SEED
    ).fit(series)
    assert detector.window_ == 40
    scores = -detector.score_samples(series)
    assert scores.shape == series.shape
    assert holds("ROC-AUC per step", roc_auc_score(labels, scores), above=0.95)
    flagged = detector.predict(series) == -1
    # 0.56-0.80 over seeds 0-5 (Intel Xeon): a window's score covers all its steps, so
    # the flagged steps straddle each stretch's edges and miss part of the stretch.
    assert holds("anomalous steps flagged", flagged[labels].mean(), above=0.4)
    assert flagged[1500:1525].any() and flagged[2300:2325].any()  # both stretches found


@pytest.mark.quality
def test_learns_unsupervised_from_a_series_with_anomalies_in_it():
    series, labels = with_anomalies(periodic(seed=SEED, features=3))
    detector = SeriesAnomalyDetector(random_state=SEED).fit(series)
    assert detector.n_features_in_ == 3
    scores = -detector.score_samples(series)
    assert holds("ROC-AUC per step", roc_auc_score(labels, scores), above=0.9)


def test_a_recurrent_window_model_scores_every_step():
    series, _ = with_anomalies(periodic(1200))
    detector = SeriesAnomalyDetector("gru", window=20, epochs=2, random_state=0).fit(series)
    assert detector.score_samples(series).shape == (1200,)
    assert set(np.unique(detector.predict(series))) <= {-1, 1}


@pytest.mark.parametrize(
    ("series", "message"),
    [
        (np.arange(20.0), "too few"),
        (np.r_[np.sin(np.arange(500.0)), np.nan, np.zeros(10)], "step 500 is NaN"),
        (np.array([["1.0", "a"]] * 300), "numbers only"),
        (np.zeros((300, 2, 2)), r"\(n_steps,\) or \(n_steps, d\)"),
    ],
)
def test_bad_series_are_refused_in_one_line(series, message):
    with pytest.raises(DataError, match=message) as error:
        SeriesAnomalyDetector(epochs=1).fit(series)
    assert "\n" not in str(error.value)


def test_scoring_refuses_other_columns_or_a_stretch_shorter_than_a_window():
    detector = SeriesAnomalyDetector("pca", window=30).fit(periodic(800))
    with pytest.raises(DataError, match="2 features per step"):
        detector.score_samples(np.zeros((100, 2)))
    with pytest.raises(DataError, match="fewer than one window"):
        detector.score_samples(np.zeros(10))


def test_a_constant_series_trains_and_scores_finitely():
    detector = SeriesAnomalyDetector("pca", window=16).fit(np.full(400, 3.0))
    assert np.isfinite(detector.score_samples(np.full(400, 3.0))).all()


def write_series_csv(path, series, labels=None, *, timestamps=True, gaps=()):
    lines = ["time,value,label" if labels is not None else "time,value"]
    for i, value in enumerate(series):
        cell = "" if i in gaps else f"{value:.6f}"
        row = [f"2026-01-01T{i:06d}"] if timestamps else []
        row.append(cell)
        if labels is not None:
            row.append(str(int(labels[i])))
        lines.append(",".join(row))
    path.write_text("\n".join(lines) + "\n")
    return path


def test_detect_series_from_the_command_line_saves_and_streams(tmp_path, capsys, monkeypatch):
    series, labels = with_anomalies(periodic(1500))
    data = write_series_csv(tmp_path / "series.csv", series, labels, gaps=(10, 11))
    out, run_dir = tmp_path / "scores.csv", tmp_path / "detector"
    code, stdout, err = run(
        ["detect-series", data, "--train-size", "600", "--window", "40", "-q", "-o", out,
         "--save", run_dir],
        capsys,
    )  # fmt: skip
    assert code == 0, err
    assert "skipped the text column 'time'" in err and "filled 2 empty" in err
    scores = np.loadtxt(out, delimiter=",", skiprows=1)
    assert scores.shape == (1500, 4)  # index, anomaly_score, is_anomaly, label
    np.testing.assert_array_equal(scores[:, 3], labels)
    assert out.with_suffix(".png").stat().st_size > 10_000
    assert "steps flagged (window 40" in stdout

    detector = SeriesAnomalyDetector.load(run_dir)
    assert detector.window_ == 40 and detector.n_features_in_ == 1
    assert len(detector.models_) == 2  # the prefix's model and the whole series'
    assert (run_dir / "whole-series" / "model.safetensors").is_file()
    clean = np.interp(np.arange(1500), np.delete(np.arange(1500), [10, 11]),
                      np.delete(series, [10, 11]))  # fmt: skip
    np.testing.assert_allclose(-detector.score_samples(clean), scores[:, 1], rtol=1e-4, atol=1e-7)

    lines = "\n".join(f"{v:.6f}" for v in series[-100:]) + "\n"
    monkeypatch.setattr("sys.stdin", __import__("io").StringIO(lines))
    code, stdout, err = run(["detect-series", "-", "--from", run_dir, "-o", "-"], capsys)
    assert code == 0, err
    rows = stdout.strip().splitlines()
    assert rows[0] == "index,anomaly_score,is_anomaly" and len(rows) == 101
    assert rows[39].endswith(",,") and rows[40].count(",") == 2 and rows[40].split(",")[1]
    assert detector.score_stream(series[-61:]) == pytest.approx(
        float(rows[-1].split(",")[1]), rel=1e-4
    )


@pytest.mark.parametrize(
    ("content", "options", "fragments"),
    [
        ("time,value\n1,2\n", ["--column", "speed"], ["no column 'speed'", "time, value"]),
        ("value\n1\nabc\n", [], ["no numeric column"]),
        ("a,b\n1,2\n3\n", [], ["line 3 has another number of cells"]),
        ("value\n" + "1\n" * 20, [], ["too few"]),
        ("value,label\n" + "1,x\n" * 50, [], ["labels column 'label' must hold 0 or 1"]),
    ],
)
def test_detect_series_refuses_bad_files_in_one_line(tmp_path, capsys, content, options, fragments):
    path = tmp_path / "bad.csv"
    path.write_text(content)
    code, _, err = run(["detect-series", path, "-o", tmp_path / "s.csv", *options], capsys)
    assert_one_line_error(code, err, str(path) if "too few" not in fragments else "", *fragments)
