"""The learned codec: exact round trips, the file format, and files it must refuse."""

import json
import zlib

import numpy as np
import pytest
import torch
from PIL import Image

from autoencoders.cli import main
from autoencoders.compression import ImageCodec, bitstream
from autoencoders.compression.entropy import FactorizedPrior, GaussianConditional
from autoencoders.errors import DataError, ModelFileError
from tests.quality import SEED, holds
from tests.test_cli import assert_one_line_error, run

pytest.importorskip("constriction")

SMALL = {
    "filters": 8,
    "global_dim": 16,
    "latent_channels": 4,
    "levels": 1,
    "batch_size": 32,
    "learning_rate": 3e-3,
}


CLI_SMALL = ["--filters", "8", "--global-dim", "16", "--latent-channels", "4", "--levels", "1"]


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """These models are tiny: one thread is faster, and much faster on a busy machine."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def images(digits):
    """The 8×8 digits as uint8 images (n, 1, 8, 8)."""
    return np.round(digits[0].X[:600] * 255).astype(np.uint8)


@pytest.fixture(scope="module")
def codec(images):
    return ImageCodec(lmbda=0.05, epochs=20, random_state=SEED, **SMALL).fit(images)


# ------------------------------------------------------------------ round trips
def test_decoding_gives_the_quantised_forward_pass_bit_for_bit(codec, images):
    batch = images[:50]
    expected = codec.reconstruct(batch)
    assert expected.dtype == np.uint8 and expected.shape == batch.shape
    np.testing.assert_array_equal(codec.decode_bytes(codec.encode_bytes(batch)), expected)
    for i in range(0, 50, 7):  # one file per image decodes to the same pixels as the batch
        single = codec.decode_bytes(codec.encode_bytes(batch[i : i + 1]))
        np.testing.assert_array_equal(single, expected[i : i + 1])


@pytest.mark.quality
def test_the_codec_compresses_and_reconstructs(codec, images):
    metrics = codec.evaluate(images[:100])
    raw = images[0].size
    assert metrics["bytes_per_image"] < raw  # 64 raw bytes per 8×8 image
    assert metrics["archive_bytes_per_image"] < metrics["bytes_per_image"]
    assert holds("PSNR", metrics["psnr"], above=14)  # measured 15.6-18.0
    sizes = [len(codec.encode_bytes(image[None])) for image in images[:100]]
    assert metrics["bytes_per_image"] == pytest.approx(np.mean(sizes))


@pytest.mark.quality
def test_lambda_trades_rate_for_distortion(images):
    low, high = (
        ImageCodec(lmbda=lmbda, epochs=20, random_state=SEED, **SMALL).fit(images).evaluate(images)
        for lmbda in (0.002, 0.2)
    )
    assert low["bytes_per_image"] < high["bytes_per_image"]
    assert holds("PSNR gain of the higher lambda", high["psnr"] - low["psnr"], above=0)


def test_floats_in_unit_range_are_8_bit_images(codec, images):
    np.testing.assert_array_equal(
        codec.reconstruct(images[:5] / 255.0), codec.reconstruct(images[:5])
    )


# ------------------------------------------------------------------ file format
def test_header_magic_version_model_id_and_checksum(codec, images):
    data = codec.encode_bytes(images[:1])
    assert data[:2] == bitstream.MAGIC
    assert data[2] == bitstream.FORMAT_VERSION  # one image: no count
    assert data[3:7] == bytes.fromhex(codec.model_id_)[:4]
    assert int.from_bytes(data[-4:], "big") == zlib.crc32(data[:-4])
    archive = codec.encode_bytes(images[:300])
    assert archive[2] == bitstream.FORMAT_VERSION | bitstream.ARCHIVE
    assert archive[7:9] == bytes([300 & 0x7F | 0x80, 300 >> 7])  # the count, LEB128
    assert len(codec.decode_bytes(archive)) == 300


def test_every_damaged_byte_is_refused(codec, images):
    data = codec.encode_bytes(images[:3])
    for i in range(len(data)):
        for flip in (0x01, 0x80):
            damaged = bytearray(data)
            damaged[i] ^= flip
            with pytest.raises(DataError):
                codec.decode_bytes(bytes(damaged))
    for cut in (1, 4, len(data) - 1):
        with pytest.raises(DataError, match=r"damaged|not a file"):
            codec.decode_bytes(data[:-cut])


def test_damage_and_foreign_files_have_clear_messages(codec, images):
    data = bytearray(codec.encode_bytes(images[:1]))
    data[9] ^= 0x10
    with pytest.raises(DataError, match=r"damaged file \(checksum"):
        codec.decode_bytes(bytes(data), name="x.aec")
    with pytest.raises(DataError, match="not a file made by"):
        codec.decode_bytes(b"\x89PNG\r\n\x1a\n" + bytes(40))
    newer = bytearray(codec.encode_bytes(images[:1]))
    newer[2] = bitstream.FORMAT_VERSION + 1
    with pytest.raises(DataError, match="format version"):
        codec.decode_bytes(bytes(newer))


def test_a_file_from_another_model_is_refused(codec, images):
    other = ImageCodec(lmbda=0.05, epochs=1, random_state=1, **SMALL).fit(images[:100])
    assert other.model_id_ != codec.model_id_
    with pytest.raises(DataError, match=r"compressed with model .* but this codec is model"):
        other.decode_bytes(codec.encode_bytes(images[:1]))


def test_images_of_another_size_are_refused(codec):
    with pytest.raises(DataError, match="trained on"):
        codec.encode_bytes(np.zeros((1, 1, 28, 28), np.uint8))
    with pytest.raises(DataError, match="uint8 or floats in"):
        codec.encode_bytes(np.full((1, 1, 8, 8), 3.0))


def test_symbol_groups_round_trip_through_the_range_coder():
    rng = np.random.default_rng(0)
    rows = rng.integers(0, 500, size=(20, 9)).astype(np.int32)  # one table per symbol
    rows[:, 0] += 1
    table = np.array([5, 1000, 30, 1], dtype=np.int32)  # one table for a whole group
    groups = [
        (np.array([rng.choice(9, p=row / row.sum()) for row in rows]), rows),
        (rng.choice(4, size=50, p=table / table.sum()), table),
        (np.zeros(0, dtype=np.int32), table),
    ]
    encoder = bitstream.SymbolEncoder()
    for symbols, counts in groups:
        encoder.encode(symbols, counts)
    payload = encoder.finish()
    decoder = bitstream.SymbolDecoder(payload)
    for symbols, counts in groups:
        np.testing.assert_array_equal(decoder.decode(counts, len(symbols)), symbols)
    full = bitstream.SymbolEncoder()
    full._coder.encode(groups[0][0].astype(np.int32), *bitstream._model(rows))
    assert len(payload) <= 4 * len(full._coder.get_compressed())  # the tail was cut, not grown


def test_coding_tables_match_the_densities_with_the_tails_in_the_edge_bins():
    torch.manual_seed(0)
    prior = FactorizedPrior(3)
    prior.update_tables()
    lengths = (prior.table_counts > 0).sum(1)
    for c in range(3):
        values = (prior.table_low[c] + torch.arange(int(lengths[c]))).float()
        density = prior.likelihood(values.expand(3, -1))[c].detach().numpy()
        table = prior.table_counts[c, : lengths[c]].numpy() / prior.table_counts[c].sum().item()
        np.testing.assert_allclose(table[1:-1], density[1:-1], atol=1e-5)
        assert table[0] >= density[0] - 1e-6 and table[-1] >= density[-1] - 1e-6
        assert abs(table.sum() - 1) < 1e-9
    gaussian = GaussianConditional()
    for i in (0, 20, 63):
        r = int(gaussian.radius[i])
        table = gaussian.table_counts[i, : 2 * r + 1].numpy().astype(float)
        table /= table.sum()
        residuals = torch.arange(-r, r + 1).float()
        density = gaussian.likelihood(residuals, gaussian.scales[i]).numpy()
        np.testing.assert_allclose(table[1:-1], density[1:-1], atol=1e-5)
    assert gaussian.index(torch.tensor([0.01, 0.11, 1.0, 1e3])).tolist()[::3] == [0, 63]


# ------------------------------------------------------------------ persistence
def test_a_saved_codec_decodes_the_same_files(codec, images, tmp_path):
    data = codec.encode_bytes(images[:5])
    codec.save(tmp_path / "run")
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    assert config["estimator"] == "ImageCodec" and config["fitted"]["model_id"] == codec.model_id_
    loaded = ImageCodec.load(tmp_path / "run")
    assert loaded.model_id_ == codec.model_id_
    np.testing.assert_array_equal(loaded.decode_bytes(data), codec.reconstruct(images[:5]))


def test_altered_weights_are_refused(codec, tmp_path):
    from safetensors.torch import load_file, save_file

    codec.save(tmp_path / "run")
    weights = load_file(tmp_path / "run" / "model.safetensors")
    name = next(k for k in weights if weights[k].is_floating_point())
    weights[name] = weights[name] + 1e-3
    save_file(weights, tmp_path / "run" / "model.safetensors")
    with pytest.raises(ModelFileError, match="does not match the model id"):
        ImageCodec.load(tmp_path / "run")


# ------------------------------------------------------------------ command line
@pytest.fixture(scope="module")
def cli_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("codec") / "run"
    args = ["train-codec", "digits", "--lmbda", "0.05", "--epochs", "2", "--limit", "300", "-q"]
    args += [*CLI_SMALL, "--out", out]
    main([str(a) for a in args])
    return out


@pytest.fixture
def png_folder(tmp_path, images):
    folder = tmp_path / "pngs"
    (folder / "sub").mkdir(parents=True)
    for i in range(4):
        Image.fromarray(images[i, 0]).save(folder / ("sub" if i == 3 else "") / f"d{i}.png")
    return folder


def test_cli_compresses_a_folder_of_pngs_and_restores_it(cli_run, png_folder, tmp_path, capsys):
    assert (cli_run / "model.safetensors").exists() and (cli_run / "report.html").exists()
    code, out, _ = run(["compress", cli_run, png_folder, "-o", tmp_path / "c"], capsys)
    assert code == 0 and "wrote 4 files" in out
    assert (tmp_path / "c" / "d0.aec").exists() and (tmp_path / "c" / "sub" / "d3.aec").exists()
    code, out, _ = run(["decompress", cli_run, tmp_path / "c", "-o", tmp_path / "r"], capsys)
    assert code == 0 and "wrote 4 images" in out
    codec = ImageCodec.load(cli_run)
    restored = np.asarray(Image.open(tmp_path / "r" / "sub" / "d3.png"))
    original = np.asarray(Image.open(png_folder / "sub" / "d3.png"))
    np.testing.assert_array_equal(restored, codec.reconstruct(original[None, None])[0, 0])


def test_cli_archive_of_a_dataset(cli_run, tmp_path, capsys):
    archive = tmp_path / "digits.aec"
    code, out, _ = run(["compress", cli_run, "digits", "--limit", "12", "-o", archive], capsys)
    assert code == 0 and "12 images" in out
    code, _, _ = run(["decompress", cli_run, archive, "-o", tmp_path / "r"], capsys)
    assert code == 0 and len(list((tmp_path / "r" / "digits").glob("*.png"))) == 12


def test_cli_refuses_damaged_and_foreign_files(cli_run, png_folder, tmp_path, capsys):
    target = tmp_path / "d0.aec"
    run(["compress", cli_run, png_folder / "d0.png", "-o", tmp_path / "c"], capsys)
    data = bytearray((tmp_path / "c" / "d0.aec").read_bytes())
    data[len(data) // 2] ^= 0xFF
    target.write_bytes(bytes(data))
    code, _, err = run(["decompress", cli_run, target, "-o", tmp_path / "r"], capsys)
    assert_one_line_error(code, err, str(target), "damaged")
    other = tmp_path / "other"
    args = ["train-codec", "digits", "--epochs", "1", "--limit", "100", "--seed", "3", "-q"]
    args += [*CLI_SMALL, "--out", other]
    assert run(args, capsys)[0] == 0
    code, _, err = run(["decompress", other, tmp_path / "c", "-o", tmp_path / "r"], capsys)
    assert_one_line_error(code, err, "compressed with model", "decompress it with the run")
    code, _, err = run(["decompress", cli_run, png_folder / "d0.png", "-o", tmp_path / "r"], capsys)
    assert_one_line_error(code, err, "not a file made by")
    assert not (tmp_path / "r").exists() or not list((tmp_path / "r").rglob("*.png"))
