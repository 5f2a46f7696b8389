"""Crash safety: checkpoints every epoch, resume to the same weights, clean failures."""

import errno
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from safetensors.torch import load_file

from autoencoders import AutoEncoder, DataError, ModelFileError
from autoencoders.training import checkpoint as checkpoint_module
from tests.test_cli import assert_one_line_error, run


def settings(**extra):
    return {"epochs": 6, "batch_size": 64, "random_state": 3, "noise": "mask:0.2"} | extra


def test_resuming_after_an_interruption_gives_the_same_weights(digit_images, tmp_path, monkeypatch):
    reference = AutoEncoder("conv", **settings()).fit(digit_images)

    saves = {"n": 0}
    original = checkpoint_module.Checkpoint.save

    def crash_after_three(self, *args):
        original(self, *args)
        saves["n"] += 1
        if saves["n"] == 3:
            raise KeyboardInterrupt  # as if the process died right after epoch 3's save

    monkeypatch.setattr(checkpoint_module.Checkpoint, "save", crash_after_three)
    path = tmp_path / "checkpoint.safetensors"
    with pytest.raises(KeyboardInterrupt):
        AutoEncoder("conv", **settings()).fit(digit_images, checkpoint=path)
    monkeypatch.setattr(checkpoint_module.Checkpoint, "save", original)
    assert load_file(path)  # a complete checkpoint of epoch 3 is on disk

    resumed = AutoEncoder("conv", **settings()).fit(digit_images, checkpoint=path)
    assert [row["epoch"] for row in resumed.history_] == [1, 2, 3, 4, 5, 6]
    for name, tensor in reference.module_.state_dict().items():
        assert np.array_equal(tensor.numpy(), resumed.module_.state_dict()[name].numpy()), name


def test_a_checkpoint_from_other_settings_is_refused(digit_images, tmp_path):
    path = tmp_path / "checkpoint.safetensors"
    AutoEncoder("dense", **settings(epochs=1)).fit(digit_images, checkpoint=path)
    with pytest.raises(ModelFileError, match="other settings or data"):
        AutoEncoder("dense", **settings(epochs=1, latent_dim=5)).fit(digit_images, checkpoint=path)
    with pytest.raises(ModelFileError, match="other settings or data"):
        AutoEncoder("dense", **settings(epochs=1)).fit(digit_images[::-1], checkpoint=path)


def test_a_full_disk_fails_clearly_and_keeps_the_previous_checkpoint(
    digit_images, tmp_path, monkeypatch
):
    path = tmp_path / "checkpoint.safetensors"
    real_fsync, calls = os.fsync, {"n": 0}

    def fsync_that_fills_up(fd):
        calls["n"] += 1
        if calls["n"] >= 3:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync_that_fills_up)
    with pytest.raises(DataError, match="no space left"):
        AutoEncoder("dense", **settings()).fit(digit_images, checkpoint=path)
    monkeypatch.setattr(os, "fsync", real_fsync)
    kept = load_file(path)
    assert any(name.startswith("model/") for name in kept)
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_written_files_follow_the_umask_like_any_other_file(tmp_path):
    from autoencoders.files import atomic_write_bytes

    previous = os.umask(0o022)
    try:
        atomic_write_bytes(tmp_path / "a.bin", b"data")
    finally:
        os.umask(previous)
    assert (tmp_path / "a.bin").stat().st_mode & 0o777 == 0o644
    assert (tmp_path / "a.bin").read_bytes() == b"data"


def test_an_unwritable_output_fails_before_training(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    code, _, err = run(["train", "digits", "--out", blocker / "run", "--epochs", "1"], capsys)
    assert_one_line_error(code, err, "cannot create")


def test_partial_runs_must_be_resumed_or_overwritten(tmp_path, capsys):
    out = tmp_path / "run"
    (tmp_path / "run.partial").mkdir()
    code, _, err = run(["train", "digits", "--epochs", "1", "--out", out], capsys)
    assert_one_line_error(code, err, "--resume")
    code, _, err = run(["train", "digits", "--epochs", "1", "-q", "--resume", out], capsys)
    assert code == 0, err
    assert (out / "model.safetensors").exists() and not (tmp_path / "run.partial").exists()
    assert not (out / "checkpoint.safetensors").exists()
    code, _, err = run(["train", "digits", "--epochs", "1", "--resume", tmp_path / "x"], capsys)
    assert_one_line_error(code, err, "no interrupted run")


TRAIN = [
    "-m",
    "autoencoders",
    "train",
    "digits",
    "--model",
    "conv",
    "--epochs",
    "30",
    "--batch-size",
    "32",
    "--noise",
    "gaussian:0.3",
    "--seed",
    "7",
    "-q",
]


def _wait_for_progress(checkpoint: Path, process: subprocess.Popen, timeout: float = 60) -> None:
    """Return once the run has written a new checkpoint (or has ended)."""
    before = checkpoint.stat().st_mtime_ns if checkpoint.exists() else None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and process.poll() is None:
        if checkpoint.exists() and checkpoint.stat().st_mtime_ns != before:
            return
        time.sleep(0.02)


def test_sigkill_at_random_moments_then_resume_ends_bit_identical(tmp_path):
    """Kill training 5 times at random points (mid-epoch or mid-write); every resume must
    work and the final weights must equal an uninterrupted run's, bit for bit."""
    env = os.environ | {"PYTHONHASHSEED": "0"}
    reference = tmp_path / "reference"
    subprocess.run([sys.executable, *TRAIN, "--out", str(reference)], check=True, env=env)

    out = tmp_path / "killed"
    checkpoint = tmp_path / "killed.partial" / "checkpoint.safetensors"
    rng = random.Random(1234)
    kills = 0
    args = ["--out", str(out)]
    while kills < 5:
        process = subprocess.Popen(
            [sys.executable, *TRAIN, *args],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        _wait_for_progress(checkpoint, process)
        time.sleep(rng.uniform(0, 0.25))  # land anywhere: in an epoch or in a write
        if process.poll() is not None:
            break
        process.send_signal(signal.SIGKILL)
        process.wait()
        kills += 1
        assert not out.exists(), "a killed run must not look complete"
        args = ["--resume", str(out)]
    assert kills == 5, "the run finished before it was killed 5 times; give it more epochs"
    finished = subprocess.run(
        [sys.executable, *TRAIN, *args], env=env, capture_output=True, text=True
    )
    assert finished.returncode == 0, finished.stderr
    expected = load_file(reference / "model.safetensors")
    got = load_file(out / "model.safetensors")
    assert expected.keys() == got.keys()
    for name in expected:
        assert np.array_equal(expected[name].numpy(), got[name].numpy()), name
