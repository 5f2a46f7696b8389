"""TSB-AD's own detectors and metrics, run inside benchmarks/.venv-tsbad (TSB-AD pins numpy<2).

Follows TSB-AD's ``benchmark_exp/Run_Detector_U.py``: each TSB-AD-U CSV (``Data,Label``) is
read with ``dropna()``, the first ``tr_N`` points (from the file name) are the training
prefix of the semi-supervised detectors, every detector scores the whole series with the
tuned univariate hyper-parameters ``TSB_AD.HP_list.Optimal_Uni_algo_HP_dict``, and
``TSB_AD.evaluation.metrics.get_metrics`` grades the raw score with the sliding window
``find_length_rank(series, rank=1)`` and no ``pred`` (the F1s take their best threshold).
The ``evaluate`` mode grades per-point scores made elsewhere (our detector, in the main
venv) with the same code, so both sides share one metric implementation. Usage::

    python tsb_ad_peer.py detect FILE... [--methods Sub_PCA POLY ...] [--out rows.jsonl]
    python tsb_ad_peer.py evaluate FILE... --scores DIR_OR_ONE_PATH_PER_FILE [--method ours]
    python tsb_ad_peer.py versions

Rows are JSON lines on stdout (and in --out): one per (file, method). TSB-AD's own prints
and progress bars go to stderr. The caller sets the threads (OMP_NUM_THREADS=1).
"""

from __future__ import annotations

import argparse
import json
import random
import re
import signal
import sys
import time
import traceback
import warnings
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from importlib.metadata import version
from pathlib import Path
from typing import IO

import numpy as np
import pandas as pd
import torch
from sklearn.exceptions import UndefinedMetricWarning
from sklearn.preprocessing import MinMaxScaler
from TSB_AD import model_wrapper
from TSB_AD.evaluation.metrics import get_metrics
from TSB_AD.HP_list import Optimal_Uni_algo_HP_dict
from TSB_AD.utils.slidingWindows import find_length_rank

SEED = 2024  # Run_Detector_U.py's seed; set again before every (file, method)
DEFAULT_METHODS = ("Sub_PCA", "POLY", "KMeansAD_U", "IForest", "AutoEncoder", "LSTMAD")
# Leaderboard names that differ from the HP dict's keys: the univariate table's "KMeansAD"
# column is KMeansAD_U (window from the series' period), the only KMeans entry of the
# univariate HP dict; "Sub-PCA" style names use a hyphen where the code has "_".
ALIASES = {"KMeansAD": "KMeansAD_U"}
VERSIONED = ("TSB_AD", "torch", "numpy", "scikit-learn", "scipy", "pandas", "statsmodels")


def tsb_ad_name(method: str) -> str:
    """TSB-AD's key for a method given by its code name or its leaderboard name."""
    name = method.replace("-", "_")
    return ALIASES.get(name, name)


def read_series(path: Path) -> tuple[np.ndarray, np.ndarray, int]:
    """The (n, 1) float series, the 0/1 labels and the training length ``tr_N`` of a file."""
    frame = pd.read_csv(path).dropna()
    data = frame.iloc[:, 0:-1].to_numpy(dtype=float)
    labels = frame["Label"].astype(int).to_numpy()
    found = re.search(r"_tr_(\d+)_", path.name)
    if found is None:
        raise ValueError(f"{path.name}: no _tr_N_ (training length) in the file name")
    return data, labels, int(found.group(1))


def sliding_window(data: np.ndarray) -> int:
    """The VUS window TSB-AD uses: the series' dominant period by autocorrelation."""
    return int(find_length_rank(data[:, 0].reshape(-1, 1), rank=1))


def grade(score: np.ndarray, labels: np.ndarray, window: int) -> dict[str, float]:
    """get_metrics as Run_Detector_U.py calls it (on the score min-max scaled to [0, 1]),
    its names kept, values as plain floats."""
    score = MinMaxScaler(feature_range=(0, 1)).fit_transform(score.reshape(-1, 1)).ravel()
    with warnings.catch_warnings():  # precision with no positive prediction: 0, as intended
        warnings.simplefilter("ignore", UndefinedMetricWarning)
        metrics = get_metrics(score, labels, slidingWindow=window)
    return {name: float(value) for name, value in metrics.items()}


def seed_everything(seed: int) -> None:
    torch.manual_seed(seed)
    np.random.seed(seed)
    random.seed(seed)


@contextmanager
def time_limit(seconds: float | None) -> Iterator[None]:
    """Raise TimeoutError in the running detector once ``seconds`` have passed."""
    if not seconds:
        yield
        return

    def expire(signum: int, frame: object) -> None:
        raise TimeoutError(f"over the {seconds:g} s time limit")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def run_detector(name: str, data: np.ndarray, train: int) -> np.ndarray:
    """One detector's per-point scores through TSB-AD's own ``run_<name>`` wrapper.

    The wrapper is called directly, not through ``run_(Semi|Un)supervise_AD``: those
    catch every exception and return the text "Model function ... is not defined".
    """
    hp = Optimal_Uni_algo_HP_dict[name]
    runner = getattr(model_wrapper, f"run_{name}")
    if name in model_wrapper.Semisupervise_AD_Pool:
        score = runner(data[:train], data, **hp)
    elif name in model_wrapper.Unsupervise_AD_Pool:
        score = runner(data, **hp)
    else:
        raise ValueError(f"{name} is in neither of TSB-AD's detector pools")
    score = np.asarray(score, dtype=float).ravel()
    if score.shape != (len(data),):
        raise ValueError(f"{name} returned {score.shape[0]} scores for {len(data)} points")
    return score


def failure(error: BaseException) -> str:
    print(traceback.format_exc(), file=sys.stderr, flush=True)
    return f"{type(error).__name__}: {error}"


def detect_rows(args: argparse.Namespace) -> Iterator[dict]:
    for file in map(Path, args.files):
        data, labels, train = read_series(file)
        window = sliding_window(data)
        for method in args.methods:
            name = tsb_ad_name(method)
            row = {"file": file.name, "method": method, "tsb_ad_name": name}
            row |= {"length": len(data), "train": train, "sliding_window": window}
            if name not in Optimal_Uni_algo_HP_dict:
                yield row | {"error": f"{name} has no entry in Optimal_Uni_algo_HP_dict"}
                continue
            row["hp"] = Optimal_Uni_algo_HP_dict[name]
            print(f"{name} on {file.name} ({len(data)} points)", file=sys.stderr, flush=True)
            seed_everything(args.seed)
            wall, cpu = time.perf_counter(), time.process_time()
            try:
                with time_limit(args.time_limit):
                    score = run_detector(name, data, train)
            except Exception as error:
                yield row | {"seconds": time.perf_counter() - wall, "error": failure(error)}
                continue
            row |= {"seconds": time.perf_counter() - wall, "cpu_seconds": time.process_time() - cpu}
            if args.save_scores:
                folder = Path(args.save_scores) / name
                folder.mkdir(parents=True, exist_ok=True)
                np.save(folder / f"{file.stem}.npy", score)
            yield row | graded(score, labels, window)


def graded(score: np.ndarray, labels: np.ndarray, window: int) -> dict:
    """The metrics of a score and how long they took, or why they could not be had."""
    started = time.perf_counter()
    try:
        metrics = grade(score, labels, window)
    except Exception as error:
        return {"metric_seconds": time.perf_counter() - started, "error": failure(error)}
    return {"metric_seconds": time.perf_counter() - started, "metrics": metrics}


def load_scores(path: Path) -> np.ndarray:
    """Per-point scores from .npy, or from a CSV's ``score`` (else last) column, header or not."""
    if path.suffix == ".npy":
        return np.load(path, allow_pickle=False).astype(float).ravel()
    frame = pd.read_csv(path)
    try:
        float(frame.columns[-1])  # a number as the header: the file has none
        frame = pd.read_csv(path, header=None)
    except ValueError:
        pass
    column = "score" if "score" in frame.columns else frame.columns[-1]
    return frame[column].to_numpy(dtype=float)


def score_path(scores: list[str], index: int, file: Path) -> Path:
    """The score file of the index-th series: one path per series, or <stem>.npy/.csv in DIR."""
    if len(scores) == 1 and Path(scores[0]).is_dir():
        for suffix in (".npy", ".csv"):
            candidate = Path(scores[0]) / f"{file.stem}{suffix}"
            if candidate.exists():
                return candidate
        raise FileNotFoundError(f"no {file.stem}.npy or .csv in {scores[0]}")
    return Path(scores[index])


def evaluate_rows(args: argparse.Namespace) -> Iterator[dict]:
    single_dir = len(args.scores) == 1 and Path(args.scores[0]).is_dir()
    if not single_dir and len(args.scores) != len(args.files):
        raise SystemExit("--scores: one directory, or one score file per series")
    for index, file in enumerate(map(Path, args.files)):
        data, labels, train = read_series(file)
        window = sliding_window(data)
        row = {"file": file.name, "method": args.method, "length": len(data), "train": train}
        row["sliding_window"] = window
        try:
            path = score_path(args.scores, index, file)
            score = load_scores(path)
            if score.shape != (len(data),):
                raise ValueError(f"{path.name}: {score.shape[0]} scores for {len(data)} points")
            if not np.isfinite(score).all():
                raise ValueError(f"{path.name}: scores that are NaN or infinite")
        except Exception as error:
            yield row | {"error": failure(error)}
            continue
        yield row | {"score_file": str(path)} | graded(score, labels, window)


def versions() -> dict[str, str]:
    return {name: version(name) for name in VERSIONED} | {"threads": str(torch.get_num_threads())}


def parser() -> argparse.ArgumentParser:
    options = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    modes = options.add_subparsers(dest="mode", required=True)
    detect = modes.add_parser("detect", help="run TSB-AD's detectors, then grade them")
    detect.add_argument("files", nargs="+", help="TSB-AD-U CSV files")
    detect.add_argument("--methods", nargs="+", default=list(DEFAULT_METHODS))
    detect.add_argument("--seed", type=int, default=SEED)
    detect.add_argument("--time-limit", type=float, help="seconds per (file, method) run")
    detect.add_argument("--save-scores", help="also save DIR/<method>/<file stem>.npy")
    evaluate = modes.add_parser("evaluate", help="grade score files made elsewhere")
    evaluate.add_argument("files", nargs="+", help="TSB-AD-U CSV files")
    evaluate.add_argument("--scores", nargs="+", required=True, help="DIR, or one per file")
    evaluate.add_argument("--method", default="ours", help="the rows' method name")
    for mode in (detect, evaluate):
        mode.add_argument("--out", help="also append the JSON lines to this file")
    modes.add_parser("versions", help="the versions of TSB-AD and what it runs on")
    return options


def main() -> None:
    args = parser().parse_args()
    replies: IO[str] = sys.stdout
    sys.stdout = sys.stderr  # TSB-AD prints as it goes: only rows go to the real stdout
    if args.mode == "versions":
        print(json.dumps(versions()), file=replies, flush=True)
        return
    rows = detect_rows(args) if args.mode == "detect" else evaluate_rows(args)
    with ExitStack() as stack:
        out = stack.enter_context(Path(args.out).open("a")) if args.out else None
        for row in rows:
            line = json.dumps(row)
            print(line, file=replies, flush=True)
            if out:
                print(line, file=out, flush=True)


if __name__ == "__main__":
    main()
