"""Quality bars: the seed a quality test trains with, and what it measured against its bar.

A trained model's accuracy, AUC or PSNR moves with the seed, the CPU, its instruction set
and the thread count, so a bar set from one draw on one machine is a coin toss on the
next. Each test marked ``quality`` trains with :data:`SEED` and passes what it measured
through :func:`holds`; ``benchmarks/quality_bars.py`` reruns those tests over several
seeds and thread counts and tabulates each value's spread against its bar, which is how
every bar was placed (well below the low end of its spread; the comments say by how much).
"""

from __future__ import annotations

import json
import os

import torch

SEED = int(os.environ.get("AUTOENCODERS_TEST_SEED", "0"))
RECORD = os.environ.get("AUTOENCODERS_TEST_RECORD")  # a JSON-lines file to append to


def holds(name: str, value: float, *, above: float | None = None, below: float | None = None):
    """Whether ``value`` is above ``above`` and below ``below``; recorded when asked."""
    value = float(value)
    passed = (above is None or value > above) and (below is None or value < below)
    if RECORD:
        test = os.environ.get("PYTEST_CURRENT_TEST", "?").split(" ")[0]
        row = {"test": test, "name": name, "value": value, "above": above, "below": below}
        row |= {"seed": SEED, "threads": torch.get_num_threads(), "passed": passed}
        with open(RECORD, "a") as file:
            file.write(json.dumps(row) + "\n")
    return passed
