"""TSB-AD's side of the time-series anomaly benchmark: its venv, its detectors, its metrics.

TSB-AD (PyPI ``TSB-AD``, the NeurIPS 2024 benchmark of Liu and Paparrizos) pins
numpy<2, so it runs in its own virtual environment, benchmarks/.venv-tsbad, created on
first use with the pins below: torch first, at this project's version (2.13.0, a CPU wheel
on this machine's disk; an unpinned torch pulls gigabytes of CUDA), then TSB-AD and its
declared requirements at the versions they resolved to when this was written (TSB-AD
accepts any torch>=1.8, so no ``--no-deps`` is needed). The script
benchmarks/peers/tsb_ad_peer.py runs in it and answers JSON lines. Two entry points::

    rows = detect(files, methods)          # TSB-AD's detectors, graded by get_metrics
    rows = evaluate({file: scores, ...})   # our scores, graded by the very same code

Each row: file, method, length, train, sliding_window, seconds, metric_seconds and
metrics (get_metrics' names: AUC-PR, AUC-ROC, VUS-PR, VUS-ROC, Standard-F1, PA-F1,
Event-based-F1, R-based-F1, Affiliation-F), or error. Every run gets one thread.
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
from speed_setup import BENCH, Peer, PeerError

SCRIPT = BENCH / "peers" / "tsb_ad_peer.py"
TORCH = "torch==2.13.0"  # the main venv's; pip finds it as the local 2.13.0+cpu wheel
REQUIREMENTS = [
    [TORCH],
    [
        "TSB-AD==1.5",
        # its declared requirements, as resolved on 2026 PyPI (numpy<2 is TSB-AD's pin)
        "numpy==1.26.4",
        "pandas==3.0.6",
        "scikit-learn==1.5.2",  # 1.6+ refuses its AutoEncoder (no __sklearn_tags__)
        "scipy==1.17.1",
        "statsmodels==0.15.0",  # via arch; find_length_rank's ACF
        "arch==8.0.0",
        "hurst==0.0.5",
        "tslearn==0.10.0",
        "stumpy==1.14.1",
        "numba==0.68.1",
        "networkx==3.6.1",
        "matplotlib==3.11.2",
        "h5py==3.16.0",
        "einops==0.8.2",
        "torchinfo==1.8.0",
        "tqdm==4.70.1",
        "cython==3.3.1",
        "transformers==5.24.0",  # only the foundation models import it
    ],
]
TSB_AD = Peer("TSB-AD 1.5", "tsb_ad_peer.py", venv=".venv-tsbad", requirements=REQUIREMENTS)
# TSB-AD's names; the leaderboard's "Sub-PCA" and "KMeansAD" are accepted too.
METHODS = ("Sub_PCA", "POLY", "KMeansAD_U", "IForest", "AutoEncoder", "LSTMAD")
ONE_THREAD = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}


def tsb_ad_python() -> Path:
    """The venv's interpreter, the venv created and filled first if it is not there yet."""
    return TSB_AD.python()


def call_peer(arguments: Sequence[str], timeout: float | None = None) -> list[dict]:
    """Run the peer script with one thread and return the JSON rows it printed."""
    command = [str(tsb_ad_python()), str(SCRIPT), *arguments]
    env = os.environ | ONE_THREAD | {"TQDM_DISABLE": "1"}
    reply = subprocess.run(command, env=env, stdout=subprocess.PIPE, text=True, timeout=timeout)
    rows = [json.loads(line) for line in reply.stdout.splitlines() if line.startswith("{")]
    if reply.returncode:
        raise PeerError(f"tsb_ad_peer.py exited with {reply.returncode} after {len(rows)} rows")
    return rows


def detect(
    files: Sequence[str | Path],
    methods: Sequence[str] = METHODS,
    *,
    time_limit: float | None = None,
    save_scores: str | Path | None = None,
) -> list[dict]:
    """TSB-AD's detectors with its tuned univariate defaults on each file, graded by TSB-AD.

    One row per (file, method); a detector that fails or passes ``time_limit`` seconds
    on a file gives a row with ``error`` instead of ``metrics``.
    """
    arguments = ["detect", *map(str, files), "--methods", *methods]
    if time_limit:
        arguments += ["--time-limit", str(time_limit)]
    if save_scores:
        arguments += ["--save-scores", str(save_scores)]
    return call_peer(arguments)


def evaluate(
    scores: Mapping[str | Path, np.ndarray],
    *,
    method: str = "ours",
    seconds: Mapping[str | Path, float] | None = None,
) -> list[dict]:
    """Per-point scores made in this venv (higher: more anomalous), graded by get_metrics.

    ``scores`` maps each TSB-AD CSV to its scores, one per row of the file after
    ``dropna()``; ``seconds``, keyed the same way, is copied into the rows as the time
    the scores took to make.
    """
    with tempfile.TemporaryDirectory(prefix="tsbad-scores-") as folder:
        for file, score in scores.items():
            np.save(Path(folder) / f"{Path(file).stem}.npy", np.asarray(score, dtype=float))
        rows = call_peer(["evaluate", *map(str, scores), "--scores", folder, "--method", method])
    made = {Path(file).name: value for file, value in (seconds or {}).items()}
    return [row | {"seconds": made[row["file"]]} if row["file"] in made else row for row in rows]


def versions() -> dict[str, str]:
    """The versions of TSB-AD, torch, numpy and the rest as the venv has them."""
    return call_peer(["versions"])[0]


if __name__ == "__main__":
    print(json.dumps(versions()))
