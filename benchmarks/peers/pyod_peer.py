"""PyOD's detectors for benchmarks/tabular_anomaly.py: run inside benchmarks/.venv-pyod.

Each detector is fitted on the whole standardised table with PyOD's defaults and its
``decision_scores_`` (the training data's outlier scores) are compared with the labels,
the unsupervised protocol of ADBench. Prints one JSON object: per detector and data set,
the ROC-AUC and the fit's wall-clock and CPU seconds for every seed. The caller sets
one thread (OMP_NUM_THREADS=1), as for our detector.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from importlib.metadata import version
from pathlib import Path

import numpy as np
import torch
from pyod.models.auto_encoder import AutoEncoder
from pyod.models.ecod import ECOD
from pyod.models.iforest import IForest
from pyod.models.vae import VAE
from sklearn.metrics import roc_auc_score
from sklearn.preprocessing import StandardScaler

DETECTORS = {
    "PyOD AutoEncoder": lambda seed: AutoEncoder(random_state=seed, verbose=0),
    "PyOD VAE": lambda seed: VAE(random_state=seed, verbose=0),
    "IForest": lambda seed: IForest(random_state=seed),
    "ECOD": lambda seed: ECOD(),  # deterministic: one run
}


def main() -> None:
    options = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    options.add_argument("files", nargs="+", help=".npz files with arrays X and y")
    options.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    options.add_argument("--only", nargs="*", help="run only these detectors")
    args = options.parse_args()
    results: dict = {}
    for name, make in DETECTORS.items():
        if args.only and name not in args.only:
            continue
        seeds = args.seeds[:1] if name == "ECOD" else args.seeds
        for file in args.files:
            with np.load(file, allow_pickle=False) as data:
                X = StandardScaler().fit_transform(data["X"].astype(np.float64))
                y = data["y"].astype(int)
            runs = []
            for seed in seeds:
                detector = make(seed)
                wall, cpu = time.perf_counter(), time.process_time()
                detector.fit(X)
                wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
                auc = roc_auc_score(y, detector.decision_scores_)
                runs.append(
                    {"seed": seed, "roc_auc": auc, "fit_seconds": wall, "fit_cpu_seconds": cpu}
                )
                print(
                    f"{name} {Path(file).stem} seed {seed}: {auc:.4f}, {cpu:.2f} s CPU",
                    file=sys.stderr,
                    flush=True,
                )
            results.setdefault(name, {})[Path(file).stem] = runs
    versions = {
        "pyod": version("pyod"),
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
    }
    print(json.dumps({"versions": versions, "results": results}))


if __name__ == "__main__":
    main()
