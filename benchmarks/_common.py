"""Shared by the benchmark scripts: where the data is, what machine ran, how results are written."""

from __future__ import annotations

import json
import os
import platform
import shlex
import sys
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "benchmarks" / "results"


def data_dir(option: str | None) -> Path:
    """--data-dir, else $AUTOENCODERS_DATA, else the shared datasets beside the checkout."""
    chosen = option or os.environ.get("AUTOENCODERS_DATA") or REPO.parent / "shared/datasets"
    return Path(chosen)


def command_line(script: str, data_dir_option: str | None) -> str:
    """The command line of this run, with $AUTOENCODERS_DATA in front when it chose the data."""
    line = shlex.join(["python", script, *sys.argv[1:]])
    if not data_dir_option and os.environ.get("AUTOENCODERS_DATA"):
        line = f"AUTOENCODERS_DATA={os.environ['AUTOENCODERS_DATA']} {line}"
    return line


def machine() -> dict:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "python": platform.python_version(),
        "cuda": torch.cuda.get_device_name() if torch.cuda.is_available() else None,
    }


def write_results(name: str, payload: dict, table: str) -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{name}.json").write_text(json.dumps(payload, indent=2) + "\n")
    (RESULTS / f"{name}.md").write_text(table)
    print(table)
