"""Time to quality on MNIST: wall-clock seconds from the start of training to Keras's own
test BCE, for this toolkit, Keras 3 and a plain PyTorch loop, in one invocation.

MLPerf Training and DAWNBench measure what a user waits for: the time to a model good
enough on held-out data. For each of the three networks of benchmarks/speed.py (dense
784-32-784, deep 784-128-64-32, conv; batch 256, 256, 128):

1. Keras (the tutorial's settings: Adam at 1e-3, BCE) trains its tutorial's epochs (50
   for dense and deep, 10 for conv), its test BCE checked after every epoch; the
   **target** is the median of its final test BCEs over the runs.
2. Every framework then trains toward the target, the test BCE checked after every epoch
   (the checks' time left out, as MLPerf leaves out evaluation), and stops at the first
   epoch at or below it. Ours runs with the defaults a user gets (50 planned epochs);
   the PyTorch loop may take up to 3× Keras's epochs.

Each figure is the median over ``--runs`` seeds (a run that never reaches the target
counts as infinitely slow); the CPU, core count and library versions are recorded. Run it
alone on a quiet machine. Usage::

    python benchmarks/time_to_quality.py [--models dense deep conv] [--runs 3]

Results: ``benchmarks/results/time_to_quality.{json,md}``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import statistics
import time

import torch
from _common import command_line, data_dir, machine, write_results
from speed_setup import BATCH, call_peer

from autoencoders import AutoEncoder
from autoencoders.data import load_dataset
from autoencoders.training.runtime import bf16_is_faster

MODELS = ("dense", "deep", "conv")
KERAS_EPOCHS = {"dense": 50, "deep": 50, "conv": 10}
TARGETS = {"dense": 10.0, "deep": 10.0, "conv": 5.0}  # the ratios to Keras's time
PEERS = ("keras", "pytorch")
OURS = {"ours": {}, "ours-auto": {"precision": "auto"}}  # defaults; + the one switch


class Reached(Exception):
    """Raised by the epoch callback to end a run at the target."""


def run_ours(model: str, target: float, seed: int, data: dict, settings: dict) -> dict:
    """Our defaults (50 planned epochs, cosine schedule) and ``settings``, stopped at the
    target."""
    X_train, X_test = data["train"], data["test"]
    if model != "conv":
        X_train, X_test = X_train.reshape(len(X_train), -1), X_test.reshape(len(X_test), -1)
    estimator = AutoEncoder(model, batch_size=BATCH[model], random_state=seed, **settings)
    started, excluded, points = time.perf_counter(), 0.0, []

    def check(row: dict, module) -> None:
        nonlocal excluded
        checked = time.perf_counter()
        seconds = checked - started - excluded
        test_bce = estimator.evaluate(X_test)["bce"]
        excluded += time.perf_counter() - checked
        points.append({"epoch": row["epoch"], "seconds": seconds, "test_bce": test_bce})
        if test_bce <= target:
            raise Reached

    with contextlib.suppress(Reached):
        estimator.fit(X_train, callbacks=[check])
    return {"versions": {"torch": torch.__version__}, "curve": points}


def run_peer(framework: str, model: str, epochs: int, seed: int, target, args) -> dict:
    """A peer trained with its test BCE checked after every epoch, stopped at ``target``."""
    return call_peer(
        framework,
        model,
        epochs,
        seed=seed,
        data=data_dir(args.data_dir),
        options=["--curve", *(["--target-bce", repr(target)] if target is not None else [])],
        log_name=f"ttq-{framework}-{model}-{seed}",
        limit=args.limit,
    )


def time_to(curve: list[dict], target: float) -> float:
    """Seconds to the first epoch at or below the target (inf if none)."""
    return next((p["seconds"] for p in curve if p["test_bce"] <= target), math.inf)


def summarise(framework: str, runs: list[dict], target: float) -> dict:
    times = [time_to(run["curve"], target) for run in runs]
    epochs = [
        next((p["epoch"] for p in run["curve"] if p["test_bce"] <= target), None) for run in runs
    ]
    return {
        "framework": framework,
        "seconds": statistics.median(times),
        "reached": sum(math.isfinite(t) for t in times),
        "runs": len(runs),
        "epochs_to_target": epochs,
        "seconds_per_run": times,
        "versions": runs[0].get("versions", {}),
        "curves": [run["curve"] for run in runs],
    }


def measure(model: str, args, data: dict) -> dict:
    seeds = range(args.runs)
    keras = [run_peer("keras", model, KERAS_EPOCHS[model], s, None, args) for s in seeds]
    target = statistics.median(run["curve"][-1]["test_bce"] for run in keras)
    print(f"{model}: target test BCE {target:.5f} (Keras, {KERAS_EPOCHS[model]} epochs)")
    rows = [summarise("keras", keras, target)]
    if "pytorch" in args.frameworks:
        epochs = 3 * KERAS_EPOCHS[model]
        loops = [run_peer("pytorch", model, epochs, s, target, args) for s in seeds]
        rows.append(summarise("pytorch", loops, target))
    for name in args.ours:
        ours = [run_ours(model, target, s, data, OURS[name]) for s in seeds]
        rows.append(summarise(name, ours, target))
    keras_seconds = rows[0]["seconds"]
    for row in rows:
        row["speedup_vs_keras"] = keras_seconds / row["seconds"] if row["seconds"] else None
        print(json.dumps({k: row[k] for k in ("framework", "seconds", "reached")}), flush=True)
    speedup = max(row["speedup_vs_keras"] or 0 for row in rows if row["framework"] in OURS)
    return {
        "model": model,
        "keras_epochs": KERAS_EPOCHS[model],
        "target_bce": target,
        "rows": rows,
        "target_speedup": TARGETS[model],
        "met": bool(speedup and speedup >= TARGETS[model]),
    }


def markdown(results: list[dict], info: dict) -> str:
    lines = [
        f"Machine: {info['cpu']}, {info['cores']} cores, torch {info['torch']}; "
        f'`precision="auto"` chose {info["auto_precision"]} here.',
        "",
        "| model | target BCE | framework | seconds to target | epochs | reached "
        "| vs Keras | goal |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for result in results:
        for row in result["rows"]:
            epochs = ", ".join("–" if e is None else str(e) for e in row["epochs_to_target"])
            goal = ""
            if row["framework"] in OURS:
                met = row["speedup_vs_keras"] >= result["target_speedup"]
                goal = f"≥ {result['target_speedup']:g}×: {'met' if met else 'not met'}"
            lines.append(
                f"| {result['model']} | {result['target_bce']:.4f} | {row['framework']} "
                f"| {row['seconds']:.1f} | {epochs} | {row['reached']}/{row['runs']} "
                f"| {row['speedup_vs_keras']:.2f}× | {goal} |"
            )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data-dir")
    parser.add_argument("--models", nargs="+", choices=MODELS, default=list(MODELS))
    parser.add_argument("--frameworks", nargs="+", choices=PEERS, default=list(PEERS))
    parser.add_argument("--ours", nargs="+", choices=OURS, default=list(OURS))
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--limit", type=int, help="first N images of each split (a smoke run)")
    args = parser.parse_args()
    root = data_dir(args.data_dir)
    data = {
        split: load_dataset("mnist", split, data_dir=root).X[: args.limit]
        for split in ("train", "test")
    }
    started = time.perf_counter()
    results = [measure(model, args, data) for model in args.models]
    info = machine() | {"auto_precision": "bf16" if bf16_is_faster("cpu") else "fp32"}
    payload = {
        "command": command_line("benchmarks/time_to_quality.py", args.data_dir),
        "machine": info,
        "seconds": time.perf_counter() - started,
        "results": results,
    }
    write_results("time_to_quality", payload, markdown(results, info))


if __name__ == "__main__":
    main()
