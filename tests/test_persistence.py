"""Saved models: a folder of JSON + safetensors that reloads exactly and never unpickles."""

import json
import subprocess
import sys

import numpy as np
import pytest
import torch
from safetensors.torch import load_file, save_file

from autoencoders import (
    AutoEncoder,
    ModelFileError,
    SequenceAutoEncoder,
    VariationalAutoEncoder,
    load,
)
from autoencoders.persistence import FORMAT_VERSION
from tests.conftest import REPO

FIXTURES = REPO / "tests" / "fixtures"


@pytest.fixture(scope="module")
def saved(tmp_path_factory, digits):
    train, _ = digits
    ae = AutoEncoder("conv", epochs=2, batch_size=64, noise="gaussian:0.3", random_state=0).fit(
        train.X[:300]
    )
    path = ae.save(tmp_path_factory.mktemp("runs") / "model", metrics={"mse": 0.1})
    return ae, path


def test_a_saved_model_is_config_weights_history_metrics(saved):
    _, path = saved
    assert {p.name for p in path.iterdir()} == {
        "config.json",
        "model.safetensors",
        "history.csv",
        "metrics.json",
    }
    config = json.loads((path / "config.json").read_text())
    assert config["format_version"] == FORMAT_VERSION
    assert config["model"]["model"] == "conv" and config["params"]["noise"] == "gaussian:0.3"
    assert config["scaling"]["input"]["kind"] == "minmax"
    assert {"torch", "numpy", "autoencoders"} <= set(config["versions"])
    assert len((path / "history.csv").read_text().splitlines()) == 3  # header + 2 epochs


def test_reload_in_a_new_process_gives_identical_outputs(saved, digits, tmp_path):
    ae, path = saved
    X = digits[1].X[:20]
    np.save(tmp_path / "x.npy", X)
    script = (
        "import numpy as np, sys\n"
        "from autoencoders import AutoEncoder\n"
        f"ae = AutoEncoder.load({str(path)!r}, device='cpu')\n"
        f"x = np.load({str(tmp_path / 'x.npy')!r})\n"
        f"np.save({str(tmp_path / 'out.npy')!r}, ae.predict(x))\n"
        f"np.save({str(tmp_path / 'codes.npy')!r}, ae.transform(x))\n"
    )
    subprocess.run([sys.executable, "-c", script], check=True)
    assert np.array_equal(np.load(tmp_path / "out.npy"), ae.predict(X))
    assert np.array_equal(np.load(tmp_path / "codes.npy"), ae.transform(X))


def test_loaded_model_keeps_params_and_history(saved):
    ae, path = saved
    loaded = AutoEncoder.load(path)
    assert loaded.get_params() == ae.get_params()
    assert [row["loss"] for row in loaded.history_] == pytest.approx(
        [row["loss"] for row in ae.history_]
    )
    assert loaded.code_shape_ == ae.code_shape_ and loaded.loss_ == ae.loss_


def copy_model(path, tmp_path):
    target = tmp_path / "copy"
    target.mkdir()
    for file in path.iterdir():
        (target / file.name).write_bytes(file.read_bytes())
    return target


def test_weights_of_the_wrong_shape_are_named(saved, tmp_path):
    _, path = saved
    broken = copy_model(path, tmp_path)
    weights = load_file(broken / "model.safetensors")
    name = next(iter(weights))
    weights[name] = torch.zeros(3, 3)
    save_file(weights, broken / "model.safetensors")
    with pytest.raises(ModelFileError, match=f"tensor '{name}' has shape"):
        AutoEncoder.load(broken)


def test_missing_and_extra_tensors_are_named(saved, tmp_path):
    _, path = saved
    broken = copy_model(path, tmp_path)
    weights = load_file(broken / "model.safetensors")
    name = sorted(weights)[-1]
    del weights[name]
    save_file(weights, broken / "model.safetensors")
    with pytest.raises(ModelFileError, match=f"tensor '{name}' is missing"):
        AutoEncoder.load(broken)
    weights = load_file(path / "model.safetensors") | {"intruder": torch.zeros(1)}
    save_file(weights, broken / "model.safetensors")
    with pytest.raises(ModelFileError, match="unexpected tensor 'intruder'"):
        AutoEncoder.load(broken)


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda c: c | {"format_version": FORMAT_VERSION + 1}, "newer"),
        (lambda c: c | {"model": c["model"] | {"model": "nope"}}, "unknown model"),
        (lambda c: c | {"model": c["model"] | {"latent_dim": -3}}, "latent_dim"),
        (lambda c: c | {"params": c["params"] | {"epochs": "many"}}, "epochs"),
        (lambda c: {k: v for k, v in c.items() if k != "scaling"}, "scaling"),
        (lambda c: c | {"scaling": {"input": {"kind": "weird"}, "target": {}}}, "scaling"),
    ],
)
def test_bad_configs_are_rejected_with_the_field_named(saved, tmp_path, edit, message):
    _, path = saved
    broken = copy_model(path, tmp_path)
    config = json.loads((broken / "config.json").read_text())
    (broken / "config.json").write_text(json.dumps(edit(config)))
    with pytest.raises(ModelFileError, match=message):
        AutoEncoder.load(broken)


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda p: (p / "config.json").write_text("{not json"), "unreadable JSON"),
        (lambda p: (p / "config.json").unlink(), "missing"),
        (lambda p: (p / "model.safetensors").write_bytes(b"\x00" * 10), "safetensors"),
        (lambda p: (p / "model.safetensors").unlink(), "missing"),
    ],
)
def test_damaged_model_directories_are_rejected(saved, tmp_path, damage, message):
    _, path = saved
    broken = copy_model(path, tmp_path)
    damage(broken)
    with pytest.raises(ModelFileError, match=message):
        AutoEncoder.load(broken)


def test_nothing_in_the_package_unpickles():
    """Weights are safetensors and configs JSON: no pickle, eval or exec anywhere."""
    import re
    from pathlib import Path

    import autoencoders

    root = Path(autoencoders.__file__).parent
    forbidden = re.compile(
        r"import pickle|from pickle|torch\.load\(|(?<![.\w])eval\(|(?<![.\w])exec\(|"
        r"allow_pickle=True"
    )
    for source in root.rglob("*.py"):
        found = forbidden.search(source.read_text())
        assert found is None, f"{source.relative_to(root)} uses {found.group()}"


@pytest.mark.parametrize(
    ("name", "family"),
    [("dense", AutoEncoder), ("vae", VariationalAutoEncoder), ("lstm", SequenceAutoEncoder)],
)
def test_models_saved_in_format_1_load_into_their_family_and_answer_the_same(name, family):
    """tests/fixtures/format1 holds models saved by the one-class layout (README there)."""
    path = FIXTURES / "format1" / name
    assert json.loads((path / "config.json").read_text())["format_version"] == 1
    model = load(path, device="cpu")
    assert type(model) is family and family.load(path, device="cpu").get_params() == (
        model.get_params()
    )
    X = np.load(path / "input.npy")
    np.testing.assert_allclose(model.transform(X), np.load(path / "codes.npy"), atol=1e-6)
    np.testing.assert_allclose(model.predict(X), np.load(path / "reconstruction.npy"), atol=1e-6)
    if name == "vae":
        assert model.beta == 0.5 and model.sample(2).shape == (2, 1, 8, 8)
    if name == "dense":
        assert model.noise == "gaussian:0.2" and model.sparsity_ is None
    with pytest.raises(ModelFileError, match=f"holds a {family.__name__}"):
        (VariationalAutoEncoder if family is AutoEncoder else AutoEncoder).load(path)
