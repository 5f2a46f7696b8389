"""Training and encoding speed on MNIST, side by side with Keras, pythae and a plain PyTorch loop.

In one invocation, one after the other on the same machine, trains the same three
networks on the 60 000 MNIST training images with

* this toolkit: ``AutoEncoder`` with its defaults (cosine-annealed Adam at 4e-3);
* a plain PyTorch loop, the honest floor (benchmarks/peers/torch_loop.py, this venv);
* Keras 3 on TensorFlow, the models of the Keras tutorial (benchmarks/peers/keras_peer.py,
  in benchmarks/.venv-keras);
* pythae's ``AE`` and ``VAE`` on the same networks, trained by its ``BaseTrainer``
  (benchmarks/peers/pythae_peer.py, in benchmarks/.venv-pythae).

Models: dense 784-32-784 and deep 784-128-64-32-64-128-784 (batch 256), conv
(Conv(32)+MaxPool ×2 / Conv(32)+UpSampling ×2 + Conv(1), batch 128). For each it records
seconds per epoch (median over the epochs after the first), samples per second, the test
BCE after those epochs, and the achieved GFLOP/s (forward + backward counted analytically
as 3× the forward's multiply-adds × 2) as a fraction of this machine's fp32 matmul peak,
measured here with large ``torch.matmul``. It also times encoding the 10 000 test images.

The peers' virtual environments are created on first use (``python -m venv`` + pinned
``pip install``); pythae's gets this venv's torch version first, so pip never pulls a CUDA
build (where no CPU wheel of it is at hand, set ``PIP_EXTRA_INDEX_URL`` to PyTorch's CPU
index). A framework that cannot be installed or run gets its reason in the results,
never a number. Usage::

    python benchmarks/speed.py [--epochs-dense 5 --epochs-deep 5 --epochs-conv 3]
        [--only dense conv] [--frameworks ours keras] [--limit 5000]

A full run with the defaults takes about 10 minutes on 2 CPU cores. Logs of the peers
(and of the venv installs) go to benchmarks/.cache/speed-logs/.
"""

from __future__ import annotations

import argparse
import itertools
import json
import statistics
import time

import torch
from _common import RESULTS, command_line, data_dir, machine, write_results
from speed_report import markdown, order, peer_versions, summary, targets
from speed_setup import (
    BATCH,
    CONVS,
    ENCODE_REPEATS,
    FLOP_PER_MAC_TRAINED,
    FRAMEWORKS,
    HIDDEN,
    MODELS,
    PEAK_REPEATS,
    PEAK_SIZE,
    Ours,
    Peer,
    PeerError,
    call_peer,
    label,
)

from autoencoders import AutoEncoder
from autoencoders.data import load_dataset


# -------------------------------------------------------------------- what to count
def forward_macs(model: str, framework: str = "ours") -> int:
    """Multiply-adds of one sample's forward pass (elementwise work is not counted)."""
    if model == "conv":
        return sum(h * w * c_in * c_out * 9 for h, w, c_in, c_out in CONVS)
    sizes = [28 * 28, *HIDDEN[model], 32]
    macs = 2 * sum(a * b for a, b in itertools.pairwise(sizes))  # encoder + mirrored decoder
    if framework == "pythae-vae":  # a second head for the log-variance
        macs += sizes[-2] * sizes[-1]
    return macs


def matmul_peak(dtype: torch.dtype) -> float:
    """Best GFLOP/s of a few large square matmuls in ``dtype`` on this machine."""
    a = torch.randn(PEAK_SIZE, PEAK_SIZE).to(dtype)
    b = torch.randn(PEAK_SIZE, PEAK_SIZE).to(dtype)
    torch.matmul(a, b)  # warm-up
    best = float("inf")
    for _ in range(PEAK_REPEATS):
        started = time.perf_counter()
        torch.matmul(a, b)
        best = min(best, time.perf_counter() - started)
    return 2 * PEAK_SIZE**3 / best / 1e9


# ----------------------------------------------------------------------- the runs
def run_ours(model: str, epochs: int, seed: int, data: dict, settings: dict) -> dict:
    X_train, X_test = data["train"], data["test"]
    if model != "conv":
        X_train, X_test = X_train.reshape(len(X_train), -1), X_test.reshape(len(X_test), -1)
    estimator = AutoEncoder(
        model, epochs=epochs, batch_size=BATCH[model], random_state=seed, **settings
    )
    estimator.fit(X_train)
    best = float("inf")
    for _ in range(ENCODE_REPEATS):
        started = time.perf_counter()
        estimator.transform(X_test)
        best = min(best, time.perf_counter() - started)
    return {
        "versions": {"torch": torch.__version__},
        "threads": torch.get_num_threads(),
        "epoch_seconds": [row["seconds"] for row in estimator.history_],
        "train_losses": [row["loss"] for row in estimator.history_],
        "test_bce": estimator.evaluate(X_test)["bce"],
        "encode": {
            "seconds": best,
            "batch_size": estimator._inference_batch(),  # the batch transform picks itself
            "images": len(X_test),
            "images_per_second": len(X_test) / best,
        },
    }


def run_peer(framework: str, model: str, epochs: int, args) -> dict:
    return call_peer(
        framework,
        model,
        epochs,
        seed=args.seed,
        data=data_dir(args.data_dir),
        options=FRAMEWORKS[framework].options,
        log_name=f"{framework}-{model}",
        limit=args.limit,
        timeout=args.timeout,
    )


def measure(framework: str, model: str, epochs: int, n_train: int, peak: float, args, data):
    row = {"model": model, "framework": framework, "epochs": epochs, "batch_size": BATCH[model]}
    try:
        entry = FRAMEWORKS[framework]
        if isinstance(entry, Ours):
            result = run_ours(model, epochs, args.seed, data, entry.settings)
        else:
            result = run_peer(framework, model, epochs, args)
    except PeerError as error:
        return row | {"error": str(error)}
    seconds = statistics.median(result["epoch_seconds"][1:] or result["epoch_seconds"])
    flop = FLOP_PER_MAC_TRAINED * forward_macs(model, framework) * n_train
    gflops = flop / seconds / 1e9
    return row | {
        "seconds_per_epoch": seconds,
        "samples_per_second": n_train / seconds,
        "test_bce": result["test_bce"],
        "train_gflop_per_epoch": flop / 1e9,
        "gflops": gflops,
        "fp32_peak_fraction": gflops / peak,
        **result,
    }


# --------------------------------------------------------------------------- main
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", help="folder with mnist/ (else $AUTOENCODERS_DATA)")
    parser.add_argument("--epochs-dense", type=int, default=5, help="epochs of dense")
    parser.add_argument("--epochs-deep", type=int, default=5, help="epochs of deep")
    parser.add_argument("--epochs-conv", type=int, default=3, help="epochs of conv")
    parser.add_argument("--only", nargs="+", choices=MODELS, help="run only these models")
    parser.add_argument("--frameworks", nargs="+", choices=list(FRAMEWORKS), help="only these")
    parser.add_argument("--limit", type=int, help="first N images of each split (development)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--timeout", type=int, default=1800, help="seconds per peer run")
    args = parser.parse_args()
    epochs = {"dense": args.epochs_dense, "deep": args.epochs_deep, "conv": args.epochs_conv}

    folder = data_dir(args.data_dir)
    data = {
        split: load_dataset("mnist", split, data_dir=folder).X[: args.limit]
        for split in ("train", "test")
    }
    n_train = len(data["train"])
    print(f"== matmul peak ({PEAK_SIZE}², best of {PEAK_REPEATS})", flush=True)
    peak = {"fp32": matmul_peak(torch.float32), "bf16": matmul_peak(torch.bfloat16)}
    print(f"   fp32 {peak['fp32']:.0f} GFLOP/s, bf16 {peak['bf16']:.0f} GFLOP/s", flush=True)

    rows = []
    for model in args.only or MODELS:
        for framework in args.frameworks or FRAMEWORKS:
            entry = FRAMEWORKS[framework]
            if isinstance(entry, Peer) and model not in entry.models:
                continue
            print(f"== {model}, {label(framework)}, {epochs[model]} epochs", flush=True)
            row = measure(framework, model, epochs[model], n_train, peak["fp32"], args, data)
            rows.append(row)
            print("   " + summary(row), flush=True)

    settings = {"epochs": epochs, "limit": args.limit, "seed": args.seed, "n_train": n_train}
    previous = RESULTS / "speed.json"
    command = command_line("benchmarks/speed.py", args.data_dir)
    if (args.only or args.frameworks) and previous.exists():  # a partial rerun updates its rows
        old = json.loads(previous.read_text())
        if old.get("settings") == settings:
            done = {(row["model"], row["framework"]) for row in rows}
            kept = [r for r in old["rows"] if (r["model"], r["framework"]) not in done]
            rows = sorted(kept + rows, key=order)
            rerun = f"{command} (its rows replace the earlier ones)"
            if not old["command"].endswith(rerun):  # the same rerun again adds nothing to say
                command = f"{old['command']}, then {rerun}"
            else:
                command = old["command"]
    info = machine() | {"peers": peer_versions(rows)}
    payload = {
        "command": command,
        "machine": info,
        "matmul_peak_gflops": peak | {"size": PEAK_SIZE, "repeats": PEAK_REPEATS},
        "settings": settings,
        "rows": rows,
    }
    payload["targets"] = targets(rows)
    write_results("speed", payload, markdown(payload))


if __name__ == "__main__":
    main()
