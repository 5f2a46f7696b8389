"""ONNX and torch.export exports give what the estimator gives, at any batch size."""

import numpy as np
import onnxruntime
import pytest
import torch

from autoencoders import AutoEncoder
from autoencoders.cli import main
from autoencoders.export import export_model
from tests.conftest import curved_table

TOLERANCE = 1e-5


@pytest.fixture(scope="module")
def conv_model(digits):
    """Images, min-max scaling, a conv encoder with a dense bottleneck."""
    return AutoEncoder("conv", latent_dim=8, epochs=3, random_state=0).fit(digits[0].X[:300])


@pytest.fixture(scope="module")
def table_model():
    """A table, per-feature standardisation (the scaling the graphs must carry), MSE."""
    X = curved_table(200)
    return AutoEncoder("deep", hidden=(16,), latent_dim=2, epochs=5, random_state=0).fit(X), X


def run_onnx(path, array):
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(None, {session.get_inputs()[0].name: array.astype(np.float32)})[0]


def max_diff(a, b):
    assert a.shape == b.shape, (a.shape, b.shape)
    return float(np.abs(a - b).max())


@pytest.mark.parametrize("which", ["conv", "table"])
def test_onnx_matches_pytorch(which, conv_model, table_model, digits, tmp_path):
    if which == "conv":
        estimator, X = conv_model, digits[1].X
    else:
        estimator, X = table_model
    model, encoder, decoder = export_model(estimator, tmp_path / "model.onnx")
    assert [p.name for p in (model, encoder, decoder)] == [
        "model.onnx",
        "model.encoder.onnx",
        "model.decoder.onnx",
    ]
    for batch in (X[:1], X[:37]):  # the batch axis is dynamic
        codes = estimator.transform(batch)
        assert max_diff(run_onnx(model, batch), estimator.predict(batch)) < TOLERANCE
        assert max_diff(run_onnx(encoder, batch), codes) < TOLERANCE
        assert max_diff(run_onnx(decoder, codes), estimator.inverse_transform(codes)) < TOLERANCE


def test_torch_export_program_matches(conv_model, digits, tmp_path):
    model, _, _ = export_model(conv_model, tmp_path / "model.pt2", format="pt2")
    program = torch.export.load(str(model)).module()  # our own file, written just above
    X = digits[1].X[:5]
    with torch.no_grad():
        out = program(torch.from_numpy(X)).numpy()
    assert max_diff(out, conv_model.predict(X)) < TOLERANCE


def test_export_from_the_cli(conv_model, tmp_path, capsys):
    run = conv_model.save(tmp_path / "run")
    main(["export", str(run), "-o", str(tmp_path / "out.onnx")])
    out = capsys.readouterr().out
    assert {"out.onnx", "out.encoder.onnx", "out.decoder.onnx"} <= {
        p.name for p in tmp_path.iterdir()
    }
    assert out.count("wrote") == 3


@pytest.mark.parametrize(
    "output, fragment",
    [("model.txt", "with the .onnx suffix"), ("missing/model.onnx", "does not exist")],
)
def test_bad_export_paths_get_one_line(conv_model, tmp_path, capsys, output, fragment):
    run = conv_model.save(tmp_path / "run")
    with pytest.raises(SystemExit) as exit_:
        main(["export", str(run), "-o", str(tmp_path / output)])
    err = capsys.readouterr().err
    assert exit_.value.code == 2
    assert err.startswith("autoencoders: error:") and fragment in err
    assert len(err.strip().splitlines()) == 1
