"""What the speed benchmark compares: the models, the frameworks and how each is run."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from pathlib import Path
from typing import NamedTuple

import torch
from _common import REPO

BENCH = REPO / "benchmarks"
PEERS = BENCH / "peers"
LOGS = BENCH / ".cache" / "speed-logs"
MODELS = ("dense", "deep", "conv")
BATCH = {"dense": 256, "deep": 256, "conv": 128}
HIDDEN = {"dense": (), "deep": (128, 64)}
CONVS = (  # (H, W, C_in, C_out) of each 3×3 convolution, encoder then decoder
    (28, 28, 1, 32),
    (14, 14, 32, 32),
    (7, 7, 32, 32),
    (14, 14, 32, 32),
    (28, 28, 32, 1),
)
FLOP_PER_MAC_TRAINED = 6  # 2 FLOP per multiply-add, forward + backward ≈ 3× forward
PEAK_SIZE, PEAK_REPEATS = 4096, 5
ENCODE_REPEATS = 3
BROKEN: dict[Path, str] = {}  # venvs whose install failed in this invocation


class Peer:
    """A framework run by a script in a virtual environment, answering JSON on stdout."""

    def __init__(self, label, script, venv=None, requirements=(), options=(), models=MODELS):
        self.label = label
        self.script = PEERS / script
        self.venv = BENCH / venv if venv else None
        self.requirements = requirements  # groups, installed in this order
        self.options = list(options)
        self.models = models

    def python(self) -> Path:
        """The interpreter to run the script with; creates and fills the venv if needed."""
        if self.venv is None:
            return Path(sys.executable)
        python = self.venv / "bin" / "python"
        stamp = self.venv / "speed-requirements.json"
        wanted = json.dumps(self.requirements)
        if python.exists() and stamp.exists() and stamp.read_text() == wanted:
            return python
        if self.venv in BROKEN:  # a failed install is tried once per invocation
            raise PeerError(BROKEN[self.venv])
        LOGS.mkdir(parents=True, exist_ok=True)
        log = LOGS / f"{self.venv.name}-install.log"
        commands = [] if python.exists() else [[sys.executable, "-m", "venv", str(self.venv)]]
        commands += [[str(python), "-m", "pip", "install", *group] for group in self.requirements]
        with log.open("w") as out:
            for command in commands:
                print(f"   $ {shlex.join(command)}", flush=True)
                if subprocess.run(command, stdout=out, stderr=subprocess.STDOUT).returncode:
                    BROKEN[self.venv] = f"`{shlex.join(command)}` failed: {tail(log)}"
                    raise PeerError(BROKEN[self.venv])
        stamp.write_text(wanted)
        return python


class PeerError(Exception):
    """Why a framework gave no number."""


def call_peer(
    framework: str,
    model: str,
    epochs: int,
    *,
    seed: int,
    data: Path,
    options: list[str],
    log_name: str,
    limit: int | None = None,
    timeout: float | None = None,
) -> dict:
    """Train ``model`` with a peer's script in its venv; its JSON reply (logs in LOGS)."""
    peer = FRAMEWORKS[framework]
    command = [
        str(peer.python()),
        str(peer.script),
        *("--model", model, "--epochs", str(epochs), "--batch-size", str(BATCH[model])),
        *("--data-dir", str(data), "--seed", str(seed)),
        *(["--limit", str(limit)] if limit else []),
        *options,
    ]
    env = os.environ | {"KERAS_BACKEND": "tensorflow", "TF_CPP_MIN_LOG_LEVEL": "2"}
    LOGS.mkdir(parents=True, exist_ok=True)
    log = LOGS / f"{log_name}.log"
    with log.open("w") as err:
        try:
            done = subprocess.run(
                command, stdout=subprocess.PIPE, stderr=err, text=True, env=env, timeout=timeout
            )
        except subprocess.TimeoutExpired:
            raise PeerError(f"no answer after {timeout} s (log: {log})") from None
    lines = done.stdout.strip().splitlines()
    if done.returncode or not lines:
        raise PeerError(f"exit status {done.returncode}: {tail(log, 5)}")
    return json.loads(lines[-1])


class Ours(NamedTuple):
    """One row of ours: the label and the estimator settings beyond its defaults."""

    label: str
    settings: dict


FRAMEWORKS = {
    "ours": Ours("autoencoders (ours)", {}),
    "ours-bf16": Ours('autoencoders (ours, `precision="bf16"`)', {"precision": "bf16"}),
    "ours-compiled": Ours(
        'autoencoders (ours, `precision="bf16", compile=True`)',
        {"precision": "bf16", "compile": True},
    ),
    "pytorch": Peer("plain PyTorch loop", "torch_loop.py", options=["--encode"]),
    "keras": Peer(
        "Keras 3 / TensorFlow",
        "keras_peer.py",
        venv=".venv-keras",
        requirements=[["tensorflow-cpu==2.21.0", "keras==3.15.1"]],
        options=["--encode"],
    ),
    "pythae": Peer(
        "pythae AE",
        "pythae_peer.py",
        venv=".venv-pythae",
        requirements=[[f"torch=={torch.__version__}"], ["pythae==0.1.2"]],
    ),
    "pythae-vae": Peer(
        "pythae VAE",
        "pythae_peer.py",
        venv=".venv-pythae",
        requirements=[[f"torch=={torch.__version__}"], ["pythae==0.1.2"]],
        options=["--variant", "vae"],
        models=("dense", "deep"),
    ),
}
OURS = [name for name, entry in FRAMEWORKS.items() if isinstance(entry, Ours)]


def tail(log: Path, lines: int = 15) -> str:
    return " | ".join(log.read_text(errors="replace").strip().splitlines()[-lines:])


def label(framework: str) -> str:
    return FRAMEWORKS[framework].label
