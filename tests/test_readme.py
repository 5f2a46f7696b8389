"""The README's Python examples run as written, on small stand-in data and one epoch.

The examples train on MNIST for tens of epochs; here ``load_dataset("mnist", …)`` gives
a few hundred MNIST-shaped images and every fit trains one epoch, so what is checked is
that each line is a real call with real arguments, in the order the README shows.
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import numpy as np
import pytest

import autoencoders.data
from autoencoders.data.datasets import Dataset
from autoencoders.estimators import fitting

README = Path(__file__).parents[1] / "README.md"
BLOCKS = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)


def _mnist_stand_in(spec, split="train", **_):
    assert spec == "mnist", f"the README loads {spec!r}; give the test a stand-in for it"
    rng = np.random.default_rng(0 if split == "train" else 1)
    n = 300 if split == "train" else 100
    y = np.arange(n) % 10
    X = (rng.random((n, 1, 28, 28)) < 0.1 + 0.05 * y[:, None, None, None]) * 255
    return Dataset(X.astype(np.uint8), y, "mnist", "image")


@pytest.fixture
def quick(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(autoencoders.data, "load_dataset", _mnist_stand_in)
    train_config = fitting.train_config
    monkeypatch.setattr(
        fitting,
        "train_config",
        lambda *a, **k: dataclasses.replace(train_config(*a, **k), epochs=1),
    )


def test_the_readme_has_its_examples():
    assert len(BLOCKS) >= 4


def test_the_readme_python_examples_run_in_order(quick):
    namespace: dict = {}
    for number, block in enumerate(BLOCKS, 1):
        try:
            exec(compile(block, f"README.md python block {number}", "exec"), namespace)
        except Exception as error:
            pytest.fail(f"README python block {number} fails: {type(error).__name__}: {error}")
    assert Path("runs/shallow/config.json").exists()
    assert namespace["codes"].shape == (100, 32)
    assert namespace["images"].shape == (100, 1, 28, 28)
    assert namespace["seq"].score_steps(namespace["windows"]).shape == (985, 64)
