"""TensorBoard logging through the trainer's per-epoch callbacks."""

import sys

import numpy as np
import pytest
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from autoencoders import AutoEncoder
from autoencoders.cli import main
from autoencoders.training.tensorboard import TensorBoardLogger


def events(folder):
    accumulator = EventAccumulator(str(folder), size_guidance={"images": 0, "scalars": 0})
    accumulator.Reload()
    return accumulator


def model(**settings):
    return AutoEncoder("conv", latent_dim=4, epochs=3, batch_size=64, random_state=0, **settings)


def test_callbacks_see_every_epoch_and_change_nothing(digit_images):
    rows = []
    with_callback = model().fit(digit_images, callbacks=[lambda row, module: rows.append(row)])
    assert rows == with_callback.history_
    without = model().fit(digit_images)
    for a, b in zip(with_callback.module_.parameters(), without.module_.parameters(), strict=True):
        assert a.detach().equal(b.detach())


def test_logger_writes_losses_reconstructions_codes_and_metrics(digits, tmp_path):
    (train, test) = digits
    estimator = model()
    with TensorBoardLogger(tmp_path / "tb", estimator, images=test.X[:6]) as logger:
        estimator.fit(train.X[:300], validation_data=test.X, callbacks=[logger])
        logger.finish({"reconstruction": {"mse": 0.5, "psnr": 12.0}, "data": "digits"}, test)
    logged = events(tmp_path / "tb")
    assert [e.step for e in logged.Scalars("loss/loss")] == [1, 2, 3]
    assert [e.value for e in logged.Scalars("loss/val_loss")] == pytest.approx(
        [row["val_loss"] for row in estimator.history_]
    )
    assert logged.Scalars("metrics/reconstruction/psnr")[0].value == 12.0
    grids = logged.Images("reconstructions")
    assert len(grids) == 3 and (grids[-1].width, grids[-1].height) == (6 * 8, 2 * 8)
    projector = tmp_path / "tb" / "00003" / "default"
    codes = np.loadtxt(projector / "tensors.tsv", delimiter="\t")
    np.testing.assert_allclose(codes, estimator.transform(test.X), rtol=1e-4, atol=1e-5)
    labels = (projector / "metadata.tsv").read_text().split()
    assert labels == [str(y) for y in test.y]
    assert (projector / "sprite.png").exists()


def test_train_command_logs_beside_the_run(tmp_path, capsys):
    out = tmp_path / "runs" / "conv"
    main(["train", "digits", "--model", "conv", "--epochs", "2", "--limit", "200", "--quiet",
          "--log", "tensorboard", "--out", str(out)])  # fmt: skip
    assert f"tensorboard --logdir {tmp_path / 'runs' / 'tensorboard'}" in capsys.readouterr().out
    logged = events(tmp_path / "runs" / "tensorboard" / "conv")
    assert len(logged.Scalars("loss/loss")) == 2
    assert logged.Scalars("metrics/reconstruction/psnr")
    assert (out / "history.csv").exists()  # the csv log is always written


def test_missing_tensorboard_is_one_line(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "torch.utils.tensorboard", None)  # as if not installed
    with pytest.raises(SystemExit) as exit_:
        main(["train", "digits", "--epochs", "1", "--log", "tensorboard",
              "--out", str(tmp_path / "run")])  # fmt: skip
    err = capsys.readouterr().err
    assert exit_.value.code == 2 and "pip install 'autoencoders[tensorboard]'" in err
    assert not (tmp_path / "run").exists()
