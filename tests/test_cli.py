"""The command line as a user meets it: end to end on small data, and every bad input."""

import gzip
import json
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from autoencoders.cli import main
from tests.conftest import curved_table

COMMANDS = ["train", "evaluate", "encode", "decode", "reconstruct", "demo"]


def run(args, capsys):
    """Run the CLI in-process as the console script does; (exit code, stdout, stderr)."""
    try:
        main([str(a) for a in args])
        code = 0
    except SystemExit as exit_:
        code = exit_.code
    out, err = capsys.readouterr()
    return code, out, err


def assert_one_line_error(code, err, *fragments):
    assert code == 2
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert lines[0].startswith("autoencoders: error:")
    assert "Traceback" not in err
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


@pytest.fixture(scope="module")
def conv_run(tmp_path_factory):
    """A small denoising conv model trained from the CLI once for the tests below."""
    out = tmp_path_factory.mktemp("runs") / "denoise"
    code = main_exit(
        [
            "train",
            "digits",
            "--model",
            "conv",
            "--noise",
            "gaussian:0.3",
            "--epochs",
            "40",
            "--batch-size",
            "32",
            "--limit",
            "300",
            "--quiet",
            "--out",
            str(out),
        ]
    )
    assert code == 0
    return out


def main_exit(args):
    try:
        main(args)
    except SystemExit as exit_:
        return exit_.code
    return 0


def test_train_writes_a_complete_run(conv_run):
    names = {p.name for p in conv_run.iterdir()}
    assert {
        "config.json",
        "model.safetensors",
        "history.csv",
        "metrics.json",
        "report.html",
        "reconstructions.png",
        "denoising.png",
        "loss.png",
    } <= names
    metrics = json.loads((conv_run / "metrics.json").read_text())
    assert metrics["evaluated_on"] == "digits" and metrics["n_evaluated"] == 300  # --limit
    assert 0 < metrics["reconstruction"]["bce"] < 1
    assert metrics["denoising"]["psnr"] > metrics["denoising"]["noisy_psnr"]
    report = (conv_run / "report.html").read_text()
    for figure in ("reconstructions.png", "denoising.png", "loss.png"):
        assert f'src="{figure}"' in report
        with Image.open(conv_run / figure) as image:
            assert image.size[0] > 300
    assert not [p for p in conv_run.parent.iterdir() if "staging" in p.name]


def test_evaluate_prints_metrics_json(conv_run, capsys, tmp_path):
    code, out, _ = run(["evaluate", conv_run, "digits", "-o", tmp_path / "m.json"], capsys)
    assert code == 0
    metrics = json.loads(out)
    assert set(metrics["reconstruction"]) == {"bce", "mse", "psnr", "ssim"}
    assert 0 < metrics["reconstruction"]["ssim"] <= 1
    assert "denoising" in metrics
    assert json.loads((tmp_path / "m.json").read_text()) == metrics


def test_encode_decode_reconstruct(conv_run, capsys, tmp_path):
    code, out, _ = run(["encode", conv_run, "digits", "-o", tmp_path / "codes.npy"], capsys)
    assert code == 0 and "codes.npy" in out
    codes = np.load(tmp_path / "codes.npy")
    assert codes.shape == (360, 128)

    code, _, _ = run(["decode", conv_run, tmp_path / "codes.npy", "-o", tmp_path / "d.npy"], capsys)
    assert code == 0
    assert np.load(tmp_path / "d.npy").shape == (360, 1, 8, 8)

    code, _, _ = run(
        ["reconstruct", conv_run, "digits", "--noise", "gaussian:0.3", "-o", tmp_path / "pngs"],
        capsys,
    )
    assert code == 0
    pngs = sorted((tmp_path / "pngs").glob("*.png"))
    assert len(pngs) == 360
    with Image.open(pngs[0]) as image:
        assert image.size == (8, 8)

    code, _, _ = run(["encode", conv_run, "digits", "-o", tmp_path / "codes.csv"], capsys)
    assert code == 0
    table = np.loadtxt(tmp_path / "codes.csv", delimiter=",", skiprows=1)
    np.testing.assert_allclose(table, codes, rtol=1e-5, atol=1e-6)


def test_train_on_a_csv_table_with_labels(tmp_path, capsys):
    X = curved_table(200)
    rows = ["a,b,c,d,e,kind"] + [
        ",".join(f"{v:.5f}" for v in row) + f",k{i % 2}" for i, row in enumerate(X)
    ]
    (tmp_path / "table.csv").write_text("\n".join(rows) + "\n")
    out = tmp_path / "tab"
    code, stdout, _ = run(
        [
            "train",
            tmp_path / "table.csv",
            "--label-column",
            "kind",
            "--hidden",
            "16",
            "--latent-dim",
            "2",
            "--epochs",
            "30",
            "--batch-size",
            "32",
            "--precision",
            "bf16",
            "--compile",
            "-q",
            "--out",
            out,
        ],
        capsys,
    )
    assert code == 0, stdout
    config = json.loads((out / "config.json").read_text())
    assert config["model"]["input_shape"] == [5] and config["fitted"]["loss"] == "mse"
    assert config["params"]["precision"] == "bf16" and config["params"]["compile"] is True
    code, _, _ = run(
        [
            "encode",
            out,
            tmp_path / "table.csv",
            "--label-column",
            "kind",
            "-o",
            tmp_path / "codes.npy",
        ],
        capsys,
    )
    assert code == 0 and np.load(tmp_path / "codes.npy").shape == (200, 2)


def test_train_on_a_folder_of_rgb_images(tmp_path, capsys):
    rng = np.random.default_rng(0)
    folder = tmp_path / "images"
    folder.mkdir()
    for i in range(24):
        pixels = (rng.random((12, 10, 3)) * 255).astype(np.uint8)
        Image.fromarray(pixels).save(folder / f"{i}.png")
    code, _, err = run(
        ["train", folder, "--model", "conv", "--epochs", "2", "-q", "--out", tmp_path / "rgb"],
        capsys,
    )
    assert code == 0, err
    config = json.loads((tmp_path / "rgb" / "config.json").read_text())
    assert config["model"]["input_shape"] == [3, 12, 10]


def test_paired_training_from_the_cli(tmp_path, capsys, digits):
    gray = digits[0].X[:200]
    np.save(tmp_path / "gray.npy", gray)
    np.save(tmp_path / "color.npy", np.repeat(gray, 3, axis=1) * 0.7)
    code, _, err = run(
        [
            "train",
            tmp_path / "gray.npy",
            "--target",
            tmp_path / "color.npy",
            "--model",
            "conv",
            "--epochs",
            "2",
            "-q",
            "--out",
            tmp_path / "p",
        ],
        capsys,
    )
    assert code == 0, err
    code, _, _ = run(
        ["reconstruct", tmp_path / "p", tmp_path / "gray.npy", "-o", tmp_path / "c.npy"], capsys
    )
    assert code == 0 and np.load(tmp_path / "c.npy").shape == (200, 3, 8, 8)


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help_with_examples(command, capsys):
    code, out, _ = run([command, "--help"], capsys)
    assert code == 0 and "Examples:" in out and "autoencoders " + command in out


def write_bad_inputs(tmp_path):
    """Each bad input the CLI must refuse, with a fragment its message must contain."""
    (tmp_path / "text.csv").write_text("a,b\n1,2\n3,hello\n")
    (tmp_path / "ragged.csv").write_text("1,2,3\n4,5\n")
    (tmp_path / "empty.csv").write_text("")
    np.save(tmp_path / "nan.npy", np.array([[1.0, np.nan], [0.0, 1.0]]))
    (tmp_path / "no_images").mkdir()
    (tmp_path / "no_images" / "notes.txt").write_text("hello")
    (tmp_path / "fake.png").parent.mkdir(exist_ok=True)
    (tmp_path / "fake_images").mkdir()
    (tmp_path / "fake_images" / "a.png").write_text("not a png")
    header = np.array([0, 0, 8, 3, 0, 0, 0, 100, 0, 0, 0, 28, 0, 0, 0, 28], dtype=np.uint8)
    (tmp_path / "train-images-idx3-ubyte").write_bytes(header.tobytes() + bytes(500))
    (tmp_path / "bad.gz").write_bytes(gzip.compress(b"\x00\x00\x08\x03")[:-6])
    (tmp_path / "empty.npy").write_bytes(b"")
    return {
        "missing.npy": "no such file",
        "text.csv": "line 3",
        "ragged.csv": "line 2",
        "empty.csv": "empty",
        "nan.npy": "NaN",
        "no_images": "no_images",
        "fake_images": "a.png",
        "train-images-idx3-ubyte": "truncated",
        "empty.npy": "empty.npy",
    }


def test_bad_data_files_get_one_line_and_exit_2(tmp_path, capsys):
    for name, fragment in write_bad_inputs(tmp_path).items():
        out = tmp_path / f"run-{name}"
        code, _, err = run(["train", tmp_path / name, "--epochs", "1", "--out", out], capsys)
        assert_one_line_error(code, err, fragment)
        assert not out.exists(), f"{name} left a run directory behind"


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--epochs", "0"], "--epochs"),
        (["--epochs", "-5"], "--epochs"),
        (["--batch-size", "0"], "--batch-size"),
        (["--latent-dim", "0"], "--latent-dim"),
        (["--latent-dim", "10000000000"], "--latent-dim"),
        (["--latent-dim", "1000000"], "parameters"),
        (["--model", "conv", "--filters", "100000,100000"], "parameters"),
        (["--noise", "gaussian"], "gaussian:SIGMA"),
        (["--hidden", "12,x"], "--hidden"),
        (["--model", "transformer"], "--model"),
        (["--lr", "-1"], "--lr"),
    ],
)
def test_bad_options_get_one_line_and_exit_2(args, fragment, tmp_path, capsys):
    out = tmp_path / "run"
    code, _, err = run(["train", "digits", "--out", out, *args], capsys)
    assert_one_line_error(code, err, fragment)
    assert not out.exists()


def test_wrong_shape_for_a_saved_model(conv_run, tmp_path, capsys):
    np.save(tmp_path / "wide.npy", np.zeros((4, 1, 9, 9), dtype=np.float32))
    code, _, err = run(
        ["encode", conv_run, tmp_path / "wide.npy", "-o", tmp_path / "c.npy"], capsys
    )
    assert_one_line_error(code, err, "expects")
    np.save(tmp_path / "codes.npy", np.zeros((4, 7), dtype=np.float32))
    code, _, err = run(
        ["decode", conv_run, tmp_path / "codes.npy", "-o", tmp_path / "d.npy"], capsys
    )
    assert_one_line_error(code, err, "code")


def test_missing_model_directory(tmp_path, capsys):
    code, _, err = run(["encode", tmp_path / "nope", "digits", "-o", tmp_path / "c.npy"], capsys)
    assert_one_line_error(code, err, "nope")


def test_an_existing_run_is_kept_when_a_new_one_fails(conv_run, tmp_path, capsys):
    before = {p.name: p.read_bytes() for p in conv_run.iterdir()}
    code, _, err = run(
        ["train", tmp_path / "missing.npy", "--out", conv_run, "--overwrite"], capsys
    )
    assert code == 2
    code, _, err = run(["train", "digits", "--out", conv_run, "--epochs", "1"], capsys)
    assert_one_line_error(code, err, "already exists")
    assert {p.name: p.read_bytes() for p in conv_run.iterdir()} == before


def test_the_console_script_exits_2_without_traceback(tmp_path):
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "autoencoders",
            "train",
            str(tmp_path / "nope.csv"),
            "--out",
            str(tmp_path / "run"),
        ],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr and "nope.csv" in result.stderr


def test_demo_writes_a_report_with_both_models(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)  # a relative --out, as a user types it
    code, stdout, err = run(["demo", "--epochs", "2", "--out", "runs/demo", "-q"], capsys)
    assert code == 0, err
    assert "report: runs/demo/report.html" in stdout
    out = tmp_path / "runs" / "demo"
    report = (out / "report.html").read_text()
    assert "Convolutional autoencoder" in report and "Denoising convolutional" in report
    figures = (
        "conv/reconstructions.png",
        "denoising/denoising.png",
        "conv/loss.png",
        "anomalies.png",
        "pca_curve.png",
        "recirculation.png",
        "vae_samples.png",
        "vae_manifold.png",
        "vae_interpolation.png",
        "vae_traversal.png",
        "latent_scatter.png",
    )
    for figure in figures:
        assert f'src="{figure}"' in report and (out / figure).exists(), figure


def test_train_on_real_mnist_files(mnist_dir, tmp_path, capsys):
    code, _, err = run(
        [
            "train",
            "mnist",
            "--data-dir",
            mnist_dir,
            "--limit",
            "3000",
            "--epochs",
            "10",
            "-q",
            "--out",
            tmp_path / "m",
        ],
        capsys,
    )
    assert code == 0, err
    metrics = json.loads((tmp_path / "m" / "metrics.json").read_text())
    assert metrics["n_train"] == 3000 and metrics["n_evaluated"] == 3000
    assert metrics["reconstruction"]["bce"] < 0.3


@pytest.mark.parametrize(
    ("args", "hidden", "latent"),
    [
        (["--model", "dense", "--latent-dim", "8"], [], 8),
        (["--model", "deep"], [128, 64], 32),
        (["--model", "dense", "--hidden", "32,16", "--latent-dim", "4"], [32, 16], 4),
    ],
)
def test_dense_model_flags(args, hidden, latent, tmp_path, capsys):
    out = tmp_path / "run"
    code, _, err = run(["train", "digits", *args, "--epochs", "1", "-q", "--out", out], capsys)
    assert code == 0, err
    model = json.loads((out / "config.json").read_text())["model"]
    assert model["hidden"] == hidden and model["latent_dim"] == latent
