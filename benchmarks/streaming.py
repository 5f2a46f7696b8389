"""Training throughput from a memory-mapped .npy file against the same data in memory.

In one invocation, one after the other, trains the dense 784-32-784 (batch 256) on the
60 000 MNIST training images held three ways:

* in memory: the uint8 array, scaled once into one float32 tensor that batches are
  sliced from (what ``AutoEncoder.fit`` does with an ordinary array);
* memory-mapped float32 .npy (values in [0, 1]): every shuffled batch is read from the
  file in file order and scaled on the fly (``np.load(path, mmap_mode="r")``);
* memory-mapped uint8 .npy: the same, four times fewer bytes to read.

For each it records seconds per epoch (median over the epochs after the first), samples
per second, the test BCE, and whether the weights equal the in-memory run's bit for bit
(they should: the batches hold the same numbers). The .npy files are written just
before, so they are read from the page cache: this measures the cost of gathering and
scaling each batch, not the disk. Usage::

    python benchmarks/streaming.py [--epochs 5] [--data-dir ../shared/datasets]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
from pathlib import Path

import numpy as np
import torch
from _common import command_line, data_dir, machine, write_results

from autoencoders import AutoEncoder
from autoencoders.data import load_dataset


def train(X, test: np.ndarray, epochs: int) -> tuple[dict, AutoEncoder]:
    model = AutoEncoder("dense", epochs=epochs, batch_size=256, random_state=0, device="cpu")
    model.fit(X)
    seconds = statistics.median(row["seconds"] for row in model.history_[1:])
    return {
        "seconds_per_epoch": round(seconds, 4),
        "samples_per_second": round(len(X) / seconds),
        "test_bce": round(model.evaluate(test)["bce"], 5),
    }, model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--data-dir", help="folder holding mnist/ (else $AUTOENCODERS_DATA)")
    args = parser.parse_args()
    root = data_dir(args.data_dir)
    train_images = load_dataset("mnist", "train", data_dir=root).X  # (60000, 1, 28, 28) uint8
    test_images = load_dataset("mnist", "test", data_dir=root).X
    load_before = os.getloadavg()
    rows = {}
    with tempfile.TemporaryDirectory() as folder:
        float_path, byte_path = Path(folder) / "mnist-f32.npy", Path(folder) / "mnist-u8.npy"
        np.save(float_path, train_images.astype(np.float32) / 255)
        np.save(byte_path, train_images)
        reference = None
        test_floats = test_images.astype(np.float32) / 255  # as the float32 file holds them
        for name, X, test in (
            ("in memory (uint8 array)", train_images, test_images),
            ("memory-mapped float32 .npy", np.load(float_path, mmap_mode="r"), test_floats),
            ("memory-mapped uint8 .npy", np.load(byte_path, mmap_mode="r"), test_images),
        ):
            row, model = train(X, test, args.epochs)
            weights = [p.detach() for p in model.module_.parameters()]
            if reference is None:
                reference = weights
            row["same_weights_as_in_memory"] = all(
                torch.equal(a, b) for a, b in zip(reference, weights, strict=True)
            )
            rows[name] = row
            print(name, row, flush=True)
    base = rows["in memory (uint8 array)"]["samples_per_second"]
    for row in rows.values():
        row["throughput_vs_in_memory"] = round(row["samples_per_second"] / base, 3)
    payload = {
        "model": "dense 784-32-784, batch 256, Adam (cosine), 60 000 MNIST training images",
        "epochs": args.epochs,
        "machine": machine(),
        "load_average_before_after": [load_before[0], os.getloadavg()[0]],
        "results": rows,
        "command": command_line("benchmarks/streaming.py", args.data_dir),
    }
    table = [
        "# Training from a memory-mapped .npy vs in memory",
        "",
        f"{payload['model']}; {args.epochs} epochs each, one after the other in one run; "
        f"{payload['machine']['cpu']}, {payload['machine']['cores']} cores, torch "
        f"{payload['machine']['torch']}; 1-minute load average "
        f"{load_before[0]:.1f} before, {payload['load_average_before_after'][1]:.1f} after "
        "(the machine was shared). The files are read from the page cache. Reproduce: "
        f"`{payload['command']}`.",
        "",
        "| data | s/epoch | samples/s | vs in memory | test BCE | same weights |",
        "|---|---:|---:|---:|---:|---|",
    ]
    for name, row in rows.items():
        table.append(
            f"| {name} | {row['seconds_per_epoch']} | {row['samples_per_second']} | "
            f"{row['throughput_vs_in_memory']}× | {row['test_bce']} | "
            f"{'yes' if row['same_weights_as_in_memory'] else 'no'} |"
        )
    write_results("streaming", payload, "\n".join(table) + "\n")


if __name__ == "__main__":
    main()
