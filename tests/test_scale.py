"""Beyond one machine's memory and one process: memory-mapped data and DDP training."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from autoencoders import AutoEncoder
from autoencoders.training.distributed import shard
from tests.test_cli import run

LINUX = sys.platform.startswith("linux")

# The child imports everything and trains once on a small in-memory array (so that lazy
# imports and first-use caches are paid for), then caps its data segment with
# RLIMIT_DATA at what it uses plus BUDGET and trains on, then scores, the whole file.
# RLIMIT_DATA counts the memory the process allocates (heap, tensors, numpy arrays),
# not a read-only memory map of a file: those pages are page cache that the kernel
# drops when it needs the room, which is how data larger than memory is trained on.
# (Peak RSS would count them too, so it grows with the file however little is held.)
# MALLOC_MMAP_THRESHOLD_ makes glibc return each freed batch buffer to the system
# instead of keeping it in its heap, so the limit measures live memory.
CHILD = """
import json, re, resource, sys
import numpy as np
import torch
from autoencoders import AutoEncoder

def data_segment():
    status = open("/proc/self/status").read()
    return int(re.search(r"VmData:\\s+(\\d+)", status).group(1)) * 1024

path, budget = sys.argv[1], int(sys.argv[2])
torch.set_num_threads(1)
settings = dict(latent_dim=16, epochs=1, batch_size=512, random_state=0, device="cpu")
warm = np.random.default_rng(0).random((2000, 784), dtype=np.float32)
AutoEncoder("dense", **settings).fit(warm).score_samples(warm)
base = data_segment()
resource.setrlimit(resource.RLIMIT_DATA, (base + budget, resource.RLIM_INFINITY))
X = np.load(path, mmap_mode="r")
model = AutoEncoder("dense", **settings).fit(X)
scores = model.score_samples(X)
try:
    np.array(X)  # the control: the whole array does not fit in the budget
    held_whole = True
except MemoryError:
    held_whole = False
print(json.dumps({"loss": model.history_[-1]["loss"], "scores": len(scores),
                  "finite": bool(np.isfinite(scores).all()), "held_whole": held_whole}))
"""
BUDGET = 96 * 2**20  # measured need here: 48-64 MiB (4096-sample inference batches)
ROWS = 170_000  # 170 000 × 784 float32 = 508 MiB, 5.3 times the budget


def write_large_npy(path: Path, rows: int, width: int) -> None:
    """A float32 .npy of uniform values, written in blocks so the writer stays small too."""
    out = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32, shape=(rows, width))
    rng = np.random.default_rng(0)
    for start in range(0, rows, 8192):
        out[start : start + 8192] = rng.random((min(8192, rows - start), width), np.float32)
    out.flush()
    del out


@pytest.mark.skipif(not LINUX, reason="RLIMIT_DATA and /proc are Linux's")
def test_trains_on_a_memory_mapped_array_five_times_larger_than_its_memory(tmp_path):
    path = tmp_path / "large.npy"
    write_large_npy(path, ROWS, 784)
    assert path.stat().st_size > 5 * BUDGET
    env = os.environ | {"MALLOC_MMAP_THRESHOLD_": "131072"}
    child = subprocess.run(
        [sys.executable, "-c", CHILD, str(path), str(BUDGET)],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    assert child.returncode == 0, child.stderr[-2000:]
    result = json.loads(child.stdout.strip().splitlines()[-1])
    assert not result["held_whole"]  # the limit bites: the array itself would not fit
    assert result["scores"] == ROWS and result["finite"]
    assert 0.6 < result["loss"] < 0.8  # BCE of uniform noise is about ln 2 ≈ 0.69


def test_memory_mapped_training_equals_in_memory_training(tmp_path):
    """Bit for bit: each batch is read in file order and put back in the shuffled order,
    and scaled by the same elementwise float32 arithmetic, so the very same numbers
    meet the very same operations (validation split and noise included)."""
    X = np.random.default_rng(1).random((600, 3, 6, 6), dtype=np.float32) * 255
    np.save(tmp_path / "x.npy", X)
    mapped = np.load(tmp_path / "x.npy", mmap_mode="r")
    settings = dict(
        hidden=(24,),
        latent_dim=6,
        epochs=3,
        batch_size=50,
        validation_split=0.2,
        noise="gaussian:0.1",
        random_state=0,
        device="cpu",
    )
    in_memory = AutoEncoder("dense", **settings).fit(X)
    streamed = AutoEncoder("dense", **settings).fit(mapped)
    strip = [{k: v for k, v in row.items() if k != "seconds"} for row in in_memory.history_]
    assert strip == [{k: v for k, v in row.items() if k != "seconds"} for row in streamed.history_]
    for p, q in zip(in_memory.module_.parameters(), streamed.module_.parameters(), strict=True):
        assert torch.equal(p, q)
    assert np.array_equal(in_memory.transform(X), in_memory.transform(mapped))
    assert np.array_equal(in_memory.score_samples(X), in_memory.score_samples(mapped))
    assert in_memory.evaluate(X, noise="mask:0.3") == in_memory.evaluate(mapped, noise="mask:0.3")


def test_the_ranks_batches_together_are_the_single_process_batch():
    order = torch.randperm(10, generator=torch.Generator().manual_seed(0))
    parts = [shard(order, rank, 4) for rank in range(4)]  # padded to 12: 2 wrap around
    assert all(len(part) == 3 for part in parts)
    local = 1  # a global batch of 4 over 4 ranks
    for step in range(3):
        together = torch.stack([part[step * local : (step + 1) * local] for part in parts])
        expected = torch.cat([order, order])[step * 4 : (step + 1) * 4]
        assert torch.equal(together.flatten(), expected)


def _train_cli(tmp_path: Path, out: str, *extra: str) -> subprocess.CompletedProcess:
    args = ["train", "data.npy", "--hidden", "32", "--latent-dim", "8", "--epochs", "3"]
    args += ["--batch-size", "64", "--device", "cpu", "--out", out, *extra]
    return subprocess.run(
        [sys.executable, "-m", "autoencoders", *args],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_two_gloo_processes_train_like_one(tmp_path):
    """With the global batch equal (64 = 2 × 32), the two ranks' batches together are
    the single process's batches and DDP averages their gradients, so both runs take
    the same steps: they differ only by float rounding (the sum over a batch split in
    two, then all-reduced), which three epochs of Adam keep far below 1e-4."""
    X = np.random.default_rng(2).random((1000, 64), dtype=np.float32)
    np.save(tmp_path / "data.npy", X)
    single = _train_cli(tmp_path, "one", "--validation-split", "0.1")
    assert single.returncode == 0, single.stderr[-2000:]
    double = _train_cli(tmp_path, "two", "--validation-split", "0.1", "--nproc", "2")
    assert double.returncode == 0, double.stderr[-2000:]

    def history(run):
        lines = (tmp_path / run / "history.csv").read_text().splitlines()
        return np.array([[float(v) for v in line.split(",")[1:-1]] for line in lines[1:]])

    assert history("two").shape == (3, 2)  # written once: 3 epochs, loss and val_loss
    np.testing.assert_allclose(history("two"), history("one"), rtol=1e-4)
    weights = load_file(tmp_path / "two" / "model.safetensors")
    expected = load_file(tmp_path / "one" / "model.safetensors")
    for name, value in expected.items():
        torch.testing.assert_close(weights[name], value, rtol=1e-4, atol=1e-4)
    assert double.stdout.count("report:") == 1  # rank 1 said nothing
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data.npy", "one", "two"]


def test_compiled_two_process_training_says_nothing_per_rank(tmp_path):
    """torch.compile traces through DDP; dynamo's note that it skips DDP's profiler
    ranges is filtered, so the ranks print only the progress of rank 0."""
    np.save(tmp_path / "data.npy", np.random.default_rng(2).random((256, 16), np.float32))
    done = _train_cli(tmp_path, "run", "--nproc", "2", "--compile")
    assert done.returncode == 0, done.stderr[-2000:]
    assert "[rank" not in done.stderr and "Profiler" not in done.stderr, done.stderr[-2000:]
    assert len((tmp_path / "run" / "history.csv").read_text().splitlines()) == 4


def test_bad_input_under_nproc_is_still_one_line(tmp_path):
    """Every process meets the bad data; only the first says so."""
    np.save(tmp_path / "data.npy", np.full((100, 8), np.nan, np.float32))
    done = _train_cli(tmp_path, "run", "--nproc", "2")
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert done.returncode == 2, done.stderr[-2000:]
    assert len(lines) == 1 and lines[0].startswith("autoencoders: error: "), lines
    assert "Traceback" not in done.stderr and not (tmp_path / "run").exists()


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--nproc", "0"], "--nproc"),
        (["--nproc", "2", "--batch-size", "63"], "does not split evenly over --nproc 2"),
    ],
)
def test_bad_nproc_is_a_one_line_error(tmp_path, capsys, extra, message):
    np.save(tmp_path / "x.npy", np.zeros((10, 4), np.float32))
    code, _, err = run(["train", tmp_path / "x.npy", "--out", tmp_path / "run", *extra], capsys)
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == 2 and len(lines) == 1 and lines[0].startswith("autoencoders: error:")
    assert message in lines[0]
    assert not (tmp_path / "run").exists()


RESUME_SCRIPT = """
import sys
import torch
import torch.distributed as dist
from autoencoders.models import ModelConfig, build_model, glorot_init_
from autoencoders.training import Corruption, Objective, ReconstructionLoss, TrainConfig, Trainer
from autoencoders.training.checkpoint import Checkpoint
from autoencoders.training.distributed import process_group

x = torch.rand(256, 16, generator=torch.Generator().manual_seed(0))


def fit(epochs, checkpoint=None):
    model = build_model(ModelConfig("dense", (16,), (16,), latent_dim=4))
    glorot_init_(model, torch.Generator().manual_seed(0))
    objective = Objective(ReconstructionLoss("mse", model.decoder.output_activation))
    config = TrainConfig(epochs=epochs, batch_size=32, lr_schedule="constant", verbose=0)
    trainer = Trainer(config, objective, corruption=Corruption.parse("gaussian:0.3"), seed=0)
    trainer.fit(model, x, x, checkpoint=checkpoint)
    return model


with process_group("cpu"):  # joins and leaves the group as `autoencoders train` does
    checkpoint = Checkpoint(sys.argv[1], "fingerprint")
    fit(1, checkpoint)  # "interrupted" after its first epoch: the checkpoint holds epoch 1
    dist.barrier()  # rank 0 has written it
    resumed = fit(3, checkpoint)  # takes it up: epochs 2 and 3
    straight = fit(3)
    if dist.get_rank() == 1:  # rank 1's noise stream is the one a resume used to restart
        same = all(torch.equal(a, b) for a, b in zip(resumed.parameters(), straight.parameters()))
        print("identical" if same else "different")
"""


def test_a_resumed_two_process_run_equals_an_uninterrupted_one(tmp_path):
    """Every rank's noise stream is checkpointed, so resuming continues each rank's draws
    and the weights come out bit for bit as without the interruption."""
    script = tmp_path / "resume.py"
    script.write_text(RESUME_SCRIPT)
    launcher = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node=2"]
    done = subprocess.run(
        [*launcher, str(script), str(tmp_path / "checkpoint.safetensors")],
        capture_output=True,
        text=True,
        timeout=300,
        env=os.environ | {"OMP_NUM_THREADS": "1"},
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == ["identical"], done.stdout + done.stderr[-2000:]
