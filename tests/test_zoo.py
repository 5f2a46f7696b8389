"""The model zoo: every shipped model loads, matches its card, and works as `zoo:NAME`."""

import shutil

import numpy as np
import pytest
from PIL import Image

from autoencoders import estimators, generation, zoo
from autoencoders.errors import ModelFileError
from tests.test_cli import assert_one_line_error, run

NAMES = zoo.names()


def test_the_zoo_ships_one_model_per_task():
    assert {"mnist-dense", "mnist-deep", "mnist-conv", "mnist-vae-2d", "mnist-codec"} <= set(NAMES)
    assert {zoo.card(name)["task"] for name in NAMES} == set(zoo.TASKS)


@pytest.mark.parametrize("name", NAMES)
def test_model_reproduces_its_card_on_its_samples(name):
    """The weights are the ones the card measured: same hashes, same sample metrics."""
    card = zoo.card(name)
    folder = zoo.path(name)
    for file, digest in card["sha256"].items():
        assert zoo.file_hash(folder / file) == digest, file
    assert {"config.json", "model.safetensors"} <= set(card["sha256"])
    model = zoo.load(name)
    measured = zoo.evaluate(model, card["task"], zoo.sample(name)["X"])
    for metric, expected in card["sample_metrics"].items():
        assert measured[metric] == pytest.approx(expected, rel=card["tolerance"]), metric
    assert card["command"].endswith(f"benchmarks/zoo.py {name}")


def test_loading_through_the_zoo_prefix_is_the_same_model():
    images = zoo.sample("mnist-dense")["X"][:8]
    direct = zoo.load("mnist-dense").transform(images)
    prefixed = estimators.load("zoo:mnist-dense").transform(images)
    np.testing.assert_array_equal(direct, prefixed)
    assert direct.shape == (8, 32)


def test_face_model_ships_its_smile_vector_and_region():
    extras = zoo.extras("faces")
    smile, region = extras["smile"], extras["smile_region"]
    faces = zoo.load("faces")
    assert smile.shape == (int(np.prod(faces.code_shape_)),)
    assert np.isfinite(smile).all() and np.linalg.norm(smile) > 0
    assert region.shape == faces.output_shape_ and 0 <= region.min() < region.max() == 1
    plain = zoo.sample("faces")["X"][:2]
    kept = generation.shift(faces, plain, smile, strength=2, region=region)
    unmoved = faces.predict(plain)
    outside = region < 0.05  # far from the mouth, the face stays its reconstruction
    assert np.abs(kept - unmoved)[:, outside].max() < 0.05 * np.abs(kept - unmoved).max()
    assert zoo.extras("mnist-dense") == {}


def test_a_damaged_model_file_is_refused(tmp_path, monkeypatch):
    shutil.copytree(zoo.path("mnist-dense"), tmp_path / "mnist-dense")
    weights = tmp_path / "mnist-dense" / "model.safetensors"
    data = bytearray(weights.read_bytes())
    data[-1] ^= 1
    weights.write_bytes(bytes(data))
    monkeypatch.setattr(zoo, "MODELS", tmp_path)
    with pytest.raises(ModelFileError, match="does not match the hash in its card"):
        zoo.load("mnist-dense")


def test_cli_lists_and_shows_the_zoo(capsys):
    code, out, _ = run(["zoo", "list"], capsys)
    assert code == 0
    for name in NAMES:
        assert f"zoo:{name}" in out
    code, out, _ = run(["zoo", "show", "mnist-conv"], capsys)
    assert code == 0 and '"task": "denoise"' in out and '"sha256"' in out


@pytest.mark.parametrize(
    "args", [["zoo", "show", "no-such"], ["reconstruct", "zoo:no-such", "digits", "-o", "x.png"]]
)
def test_an_unknown_zoo_name_is_a_one_line_error(args, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, _, err = run(args, capsys)
    assert_one_line_error(code, err, "zoo:no-such", "no such zoo model", "mnist-dense")


def test_cli_compresses_with_the_zoo_codec(capsys, tmp_path):
    """`compress zoo:mnist-codec` on PNGs, then `decompress`: the digits come back."""
    digits = zoo.sample("mnist-codec")["X"][:3, 0]
    folder = tmp_path / "pngs"
    folder.mkdir()
    for i, digit in enumerate(digits):
        Image.fromarray(digit).save(folder / f"{i}.png")
    code, _, err = run(["compress", "zoo:mnist-codec", folder, "-o", tmp_path / "aec"], capsys)
    assert code == 0, err
    files = sorted((tmp_path / "aec").rglob("*.aec"))
    assert len(files) == 3 and all(f.stat().st_size < 300 for f in files)
    out = tmp_path / "restored"
    code, _, err = run(["decompress", "zoo:mnist-codec", *files, "-o", out], capsys)
    assert code == 0, err
    for i, digit in enumerate(digits):
        restored = np.asarray(Image.open(out / f"{files[i].stem}.png"), dtype=np.float64)
        mse = np.mean((restored - digit) ** 2)
        assert 10 * np.log10(255**2 / mse) > 25


def test_explorer_of_a_zoo_model_is_written_in_the_working_folder(capsys, tmp_path, monkeypatch):
    """The zoo's folder is package data: a page for it goes where the user is. Without
    --data its points are the model's shipped test sample (MNIST itself may be absent)."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("AUTOENCODERS_DATA", str(tmp_path / "nothing-here"))
    code, _, err = run(["explorer", "zoo:mnist-vae-2d"], capsys)
    assert code == 0, err
    page = (tmp_path / "mnist-vae-2d-explorer.html").read_text()
    assert len(page) > 10_000 and "zoo:mnist-vae-2d sample" in page
    assert not (zoo.path("mnist-vae-2d") / "explorer.html").exists()

    np.save(tmp_path / "digits.npy", zoo.sample("mnist-vae-2d")["X"][:64])
    code, _, err = run(
        ["explorer", "zoo:mnist-vae-2d", "--data", "digits.npy", "-o", "x.html"], capsys
    )
    assert code == 0, err
    assert "digits.npy" in (tmp_path / "x.html").read_text()
