"""Time-series anomaly detection on TSB-AD-U, graded by TSB-AD's own metrics (VUS-PR).

TSB-AD (Liu & Paparrizos, NeurIPS 2024) ranks univariate detectors by the mean VUS-PR
over its evaluation series, with settings chosen on its tuning split only. We have 20 of
its tuning files and 90 further UCR series (the evaluation split is held out): the
defaults of ``SeriesAnomalyDetector`` were chosen on ``--split tuning`` alone, and
``--split ucr`` is a check on series the choice never saw. Each of our detectors is fitted
on the file's anomaly-free prefix ``tr_N`` (the semi-supervised protocol of TSB-AD's
``Run_Detector_U.py``) and scores the whole series; TSB-AD's detectors run in their own
venv with TSB-AD's tuned univariate hyper-parameters (benchmarks/tsb_ad_env.py), and both
are graded by the same ``get_metrics`` call. Usage::

    python benchmarks/tsb_ad.py --split tuning                  # ours, all variants
    python benchmarks/tsb_ad.py --split tuning --peers Sub_PCA POLY KMeansAD_U
    python benchmarks/tsb_ad.py --split ucr --ours default --peers Sub_PCA

Results: benchmarks/results/tsb_ad-<split>.{json,md} (rows per file and method, means,
CPU model). Ours runs on one thread (``torch.set_num_threads(1)``), as the peers do.
"""

from __future__ import annotations

import argparse
import csv
import json
import re
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch
import tsb_ad_env
from _common import command_line, data_dir, machine, write_results

from autoencoders.applications import SeriesAnomalyDetector

METRICS = ("VUS-PR", "AUC-PR", "VUS-ROC", "AUC-ROC", "Standard-F1")
# TSB-AD's published univariate leaderboard: mean VUS-PR over its 350 evaluation series.
LEADERBOARD = {
    "Sub-PCA": 0.42, "KShapeAD": 0.40, "POLY": 0.39, "Series2Graph": 0.39,
    "MOMENT (FT)": 0.39, "USAD": 0.36, "LSTMAD": 0.33, "OmniAnomaly": 0.29,
    "AutoEncoder": 0.26, "TranAD": 0.26,
}  # fmt: skip
# Our variants: SeriesAnomalyDetector settings beyond its defaults.
VARIANTS = {
    "default": {},
    "unsupervised": {"semi_supervised": False},
    "pca": {"model": "pca"},
    "lstm": {"model": "lstm"},
    "gru": {"model": "gru"},
}


def series_files(root: Path, split: str) -> list[Path]:
    """The split's CSVs: the tuning files we have, the other (UCR) ones, or all."""
    folder = root / "tsb-ad" / "TSB-AD-U"
    listing = root / "tsb-ad" / "File_List" / "TSB-AD-U-Tuning.csv"
    if not folder.is_dir():
        sys.exit(f"tsb_ad.py: no TSB-AD-U series in {folder}; pass --data-dir DATASETS")
    with listing.open() as handle:
        tuning = {row["file_name"] for row in csv.DictReader(handle)}
    files = sorted(folder.glob("*.csv"))
    if split == "tuning":
        return [file for file in files if file.name in tuning]
    if split == "ucr":
        return [file for file in files if file.name not in tuning]
    return files


def read_file(path: Path) -> tuple[np.ndarray, int]:
    """The series (as TSB-AD reads it: ``dropna()``) and its training length ``tr_N``."""
    frame = pd.read_csv(path).dropna()
    train = int(re.search(r"_tr_(\d+)_", path.name).group(1))
    return frame.iloc[:, 0].to_numpy(dtype=float), train


def our_scores(path: Path, settings: dict, seed: int) -> tuple[np.ndarray, float]:
    """Per-point anomaly scores of one variant on one file, and the seconds they took."""
    series, train = read_file(path)
    settings = dict(settings)
    semi = settings.pop("semi_supervised", True)
    started = time.perf_counter()
    detector = SeriesAnomalyDetector(train_size=train if semi else None, random_state=seed)
    detector.set_params(**settings).fit(series)
    scores = -detector.score_samples(series)
    return scores, time.perf_counter() - started


def run_ours(files: list[Path], variants: dict[str, dict], seed: int) -> list[dict]:
    rows = []
    for name, settings in variants.items():
        scores, seconds = {}, {}
        for file in files:
            scores[file], seconds[file] = our_scores(file, settings, seed)
            print(f"  ours-{name} {file.name}: {seconds[file]:.1f} s", flush=True)
        graded = tsb_ad_env.evaluate(scores, method=f"ours-{name}", seconds=seconds)
        rows += [row | {"settings": settings} for row in graded]
    return rows


def summary(rows: list[dict]) -> dict[str, dict]:
    """Per method: files scored, files failed, mean of each metric, total seconds."""
    methods: dict[str, dict] = {}
    for row in rows:
        entry = methods.setdefault(row["method"], {"files": 0, "failed": 0, "seconds": 0.0})
        entry["seconds"] += row.get("seconds", 0.0)
        if "metrics" not in row:
            entry["failed"] += 1
            continue
        entry["files"] += 1
        for metric in METRICS:
            entry.setdefault(metric, []).append(row["metrics"][metric])
    for entry in methods.values():
        for metric in METRICS:
            entry[metric] = statistics.fmean(entry[metric]) if entry.get(metric) else None
    return methods


def table(split: str, files: list[Path], methods: dict[str, dict], about: dict) -> str:
    lines = [
        f"# TSB-AD-U, {split} split ({len(files)} series)",
        "",
        f"`{about['command']}` on {about['machine']['cpu']} ({about['machine']['cores']} cores),"
        f" one thread per detector; TSB-AD {about['tsb_ad'].get('TSB_AD', '?')}'s get_metrics.",
        "Means over the files a method scored; a method that failed on a file is not averaged.",
        "",
        "| method | " + " | ".join(METRICS) + " | files | failed | seconds |",
        "|---" * (len(METRICS) + 4) + "|",
    ]
    ranked = sorted(methods.items(), key=lambda item: -(item[1]["VUS-PR"] or 0))
    for name, entry in ranked:
        values = " | ".join("–" if entry[m] is None else f"{entry[m]:.3f}" for m in METRICS)
        lines.append(
            f"| {name} | {values} | {entry['files']} | {entry['failed']} | {entry['seconds']:.0f} |"
        )
    board = ", ".join(f"{name} {value:.2f}" for name, value in LEADERBOARD.items())
    lines += ["", f"Published leaderboard (VUS-PR, 350 evaluation series): {board}.", ""]
    return "\n".join(lines)


def main() -> None:
    options = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    options.add_argument("--data-dir", help="the datasets folder (default: $AUTOENCODERS_DATA)")
    options.add_argument("--split", choices=("tuning", "ucr", "all"), default="tuning")
    options.add_argument("--ours", nargs="*", default=list(VARIANTS), choices=list(VARIANTS))
    options.add_argument("--peers", nargs="*", default=[], help="TSB-AD method names")
    options.add_argument("--time-limit", type=float, default=900, help="seconds per peer run")
    options.add_argument("--seed", type=int, default=0)
    args = options.parse_args()
    torch.set_num_threads(1)
    files = series_files(data_dir(args.data_dir), args.split)
    rows = run_ours(files, {name: VARIANTS[name] for name in args.ours}, args.seed)
    if args.peers:
        rows += tsb_ad_env.detect(files, args.peers, time_limit=args.time_limit)
    about = {
        "command": command_line("benchmarks/tsb_ad.py", args.data_dir),
        "machine": machine() | {"torch_threads": 1},
        "tsb_ad": tsb_ad_env.versions(),
        "files": [file.name for file in files],
    }
    methods = summary(rows)
    payload = about | {"summary": methods, "rows": rows}
    write_results(f"tsb_ad-{args.split}", payload, table(args.split, files, methods, about))
    print(json.dumps({name: entry["VUS-PR"] for name, entry in methods.items()}))


if __name__ == "__main__":
    main()
