"""The data layer on good input: IDX, MNIST lookup and download, files, folders, scaling."""

import gzip
import hashlib
import io
import json
import os
import urllib.error
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from autoencoders.data import (
    BUILTIN_DATASETS,
    Dataset,
    fit_scaler,
    load_dataset,
    scaler_from_dict,
)
from autoencoders.data import mnist as mnist_module
from autoencoders.data.idx import read_idx
from autoencoders.data.readers import read_array_file
from autoencoders.errors import DataError, ModelFileError

MNIST_DIR = Path(
    os.environ.get(
        "AUTOENCODERS_TEST_MNIST",
        Path(__file__).resolve().parents[2] / "shared" / "datasets" / "mnist",
    )
)
IDX_CODES = {np.uint8: 0x08, np.int8: 0x09, np.int16: 0x0B, np.int32: 0x0C, np.float32: 0x0D}


def idx_bytes(array: np.ndarray) -> bytes:
    header = bytes([0, 0, IDX_CODES[array.dtype.type], array.ndim])
    dims = np.asarray(array.shape, dtype=">u4").tobytes()
    return header + dims + array.astype(array.dtype.newbyteorder(">")).tobytes()


def write_idx(path: Path, array: np.ndarray) -> Path:
    data = idx_bytes(array)
    path.write_bytes(gzip.compress(data) if path.suffix == ".gz" else data)
    return path


@pytest.fixture(autouse=True)
def isolated_cache(tmp_path, monkeypatch):
    """Keep every test away from the real cache and from AUTOENCODERS_DATA."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("AUTOENCODERS_DATA", raising=False)


# --- IDX -------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["images-idx3-ubyte", "images-idx3-ubyte.gz"])
@pytest.mark.parametrize("dtype", [np.uint8, np.int16, np.int32, np.float32])
def test_idx_round_trip(tmp_path, name, dtype):
    array = (np.arange(2 * 3 * 4) - 5).astype(dtype).reshape(2, 3, 4)
    result = read_idx(write_idx(tmp_path / name, array))
    assert result.dtype == np.dtype(dtype) and result.dtype.isnative
    np.testing.assert_array_equal(result, array)


def test_idx_file_through_load_dataset_is_an_image_set(tmp_path):
    write_idx(tmp_path / "x.idx", np.zeros((5, 6, 7), np.uint8))
    dataset = load_dataset(tmp_path / "x.idx")
    assert dataset.kind == "image" and dataset.image_shape == (1, 6, 7) and dataset.y is None


# --- MNIST -----------------------------------------------------------------------------


def fake_mnist_files(n: int = 3) -> dict[str, bytes]:
    """Gzipped IDX bytes for the four file names, with ``n`` tiny samples."""
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
    labels = np.arange(n, dtype=np.uint8) % 10
    files = {}
    for prefix in ("train", "t10k"):
        files[f"{prefix}-images-idx3-ubyte"] = gzip.compress(idx_bytes(images), mtime=0)
        files[f"{prefix}-labels-idx1-ubyte"] = gzip.compress(idx_bytes(labels), mtime=0)
    return files


def serve(files: dict[str, bytes], urls: list[str], fail_hosts: tuple[str, ...] = ()):
    """A stand-in for urlopen that serves ``files`` by name, failing for ``fail_hosts``."""

    def urlopen(url, timeout=None):
        assert timeout is not None, "downloads must time out"
        urls.append(url)
        if any(host in url for host in fail_hosts):
            raise urllib.error.URLError("no route to host")
        return io.BytesIO(files[url.rsplit("/", 1)[1].removesuffix(".gz")])

    return urlopen


def trust(monkeypatch, name: str, files: dict[str, bytes]) -> None:
    """Make the fake files' MD5s the expected ones."""
    for stem, data in files.items():
        monkeypatch.setitem(mnist_module.MNIST_LIKE[name].md5, stem, hashlib.md5(data).hexdigest())


def test_download_verifies_and_caches(tmp_path, monkeypatch):
    files, urls = fake_mnist_files(), []
    trust(monkeypatch, "mnist", files)
    monkeypatch.setattr(mnist_module.urllib.request, "urlopen", serve(files, urls))
    images, labels = mnist_module.load_mnist("mnist", "test", data_dir=tmp_path / "empty")
    assert images.shape == (3, 1, 28, 28) and images.dtype == np.uint8
    assert labels.dtype == np.int64 and labels.tolist() == [0, 1, 2]
    cached = tmp_path / "cache" / "autoencoders" / "mnist"
    assert sorted(p.name for p in cached.iterdir()) == [
        "t10k-images-idx3-ubyte.gz",
        "t10k-labels-idx1-ubyte.gz",
    ]
    assert len(urls) == 2
    mnist_module.load_mnist("mnist", "test")  # second time from the cache, no download
    assert len(urls) == 2


def test_download_falls_back_to_the_next_mirror(monkeypatch):
    files, urls = fake_mnist_files(), []
    trust(monkeypatch, "mnist", files)
    fake = serve(files, urls, fail_hosts=("ossci-datasets",))
    monkeypatch.setattr(mnist_module.urllib.request, "urlopen", fake)
    images, _ = mnist_module.load_mnist("mnist", "train")
    assert len(images) == 3
    assert [url.split("/")[2] for url in urls] == [
        "ossci-datasets.s3.amazonaws.com",
        "yann.lecun.com",
    ] * 2


def test_download_with_wrong_checksum_keeps_nothing(tmp_path, monkeypatch):
    urls = []
    monkeypatch.setattr(mnist_module.urllib.request, "urlopen", serve(fake_mnist_files(), urls))
    with pytest.raises(DataError) as error:
        mnist_module.load_mnist("fashion-mnist", "train")
    assert_one_line(error, "train-images-idx3-ubyte")
    assert "checksum mismatch" in str(error.value)
    assert list((tmp_path / "cache" / "autoencoders" / "fashion-mnist").iterdir()) == []


def test_offline_explains_where_to_put_the_files(tmp_path, monkeypatch):
    urls = []
    monkeypatch.setattr(mnist_module.urllib.request, "urlopen", serve({}, urls, ("http",)))
    with pytest.raises(DataError) as error:
        load_dataset("mnist", data_dir=tmp_path / "mine")
    assert_one_line(error, "train-images-idx3-ubyte")
    message = str(error.value)
    assert str(tmp_path / "mine") in message and "AUTOENCODERS_DATA" in message
    assert "--data-dir" in message and "download failed" in message
    assert len(urls) == 2  # both mirrors tried


@pytest.mark.parametrize("subdir", ["fashion-mnist", "fashion_mnist", "."])
def test_files_are_found_under_autoencoders_data(tmp_path, monkeypatch, subdir):
    folder = tmp_path / "data" / subdir
    folder.mkdir(parents=True)
    for stem, data in fake_mnist_files(4).items():
        (folder / stem).write_bytes(gzip.decompress(data))  # raw, not gzipped
    monkeypatch.setenv("AUTOENCODERS_DATA", str(tmp_path / "data"))
    monkeypatch.setattr(mnist_module.urllib.request, "urlopen", serve({}, [], ("http",)))
    dataset = load_dataset("fashion-mnist", "all")
    assert dataset.X.shape == (8, 1, 28, 28) and dataset.class_names[-1] == "Ankle boot"


def test_shared_folder_with_the_other_dataset_is_not_mistaken(tmp_path, monkeypatch):
    """MNIST .gz files in a bare base folder must not be served as Fashion-MNIST."""
    files = fake_mnist_files()
    trust(monkeypatch, "mnist", files)
    for stem, data in files.items():
        (tmp_path / (stem + ".gz")).write_bytes(data)
    monkeypatch.setattr(mnist_module.urllib.request, "urlopen", serve({}, [], ("http",)))
    assert len(load_dataset("mnist", data_dir=tmp_path)) == 3
    with pytest.raises(DataError, match="fashion-mnist"):
        load_dataset("fashion-mnist", data_dir=tmp_path)


@pytest.mark.skipif(not MNIST_DIR.is_dir(), reason=f"no MNIST files at {MNIST_DIR}")
def test_real_mnist_shapes_and_counts(monkeypatch):
    monkeypatch.setattr(mnist_module.urllib.request, "urlopen", serve({}, [], ("http",)))
    train = load_dataset("mnist", "train", data_dir=MNIST_DIR)
    test = load_dataset("mnist", "test", data_dir=MNIST_DIR)
    assert train.X.shape == (60000, 1, 28, 28) and test.X.shape == (10000, 1, 28, 28)
    assert train.X.dtype == np.uint8 and train.y.dtype == np.int64
    assert np.bincount(train.y).tolist()[:2] == [5923, 6742] and np.bincount(test.y).sum() == 10000
    assert train.class_names == tuple("0123456789") and train.image_shape == (1, 28, 28)


# --- digits and load_dataset -----------------------------------------------------------


def test_digits_splits_are_stratified_disjoint_and_fixed():
    train, test, every = (load_dataset("digits", split) for split in ("train", "test", "all"))
    assert (len(train), len(test), len(every)) == (1437, 360, 1797)
    assert train.X.shape[1:] == (1, 8, 8) and train.X.dtype == np.float32
    assert train.X.min() == 0.0 and train.X.max() == 1.0
    rows = sorted(map(bytes, np.concatenate([train.X, test.X]).reshape(1797, -1)))
    assert rows == sorted(map(bytes, every.X.reshape(1797, -1)))  # a partition of all
    assert np.bincount(test.y).min() >= 35  # stratified: ~36 per digit
    np.testing.assert_array_equal(load_dataset("digits", "test").X, test.X)


def test_limit_keeps_the_first_samples():
    full, short = load_dataset("digits"), load_dataset("digits", limit=10)
    np.testing.assert_array_equal(short.X, full.X[:10])
    np.testing.assert_array_equal(short.y, full.y[:10])
    assert "digits" in BUILTIN_DATASETS and isinstance(short, Dataset)


def test_npy_table_stays_memory_mapped(tmp_path):
    np.save(tmp_path / "t.npy", np.arange(12, dtype=np.float64).reshape(4, 3))
    dataset = load_dataset(tmp_path / "t.npy", "test")  # split is ignored for files
    assert dataset.kind == "table" and dataset.image_shape is None and dataset.y is None
    assert isinstance(dataset.X, np.memmap) and dataset.X.shape == (4, 3)
    assert dataset.name == str(tmp_path / "t.npy")


@pytest.mark.parametrize(
    ("shape", "to_first"),
    [
        ((2, 5, 6), lambda a: a[:, None]),
        ((2, 3, 5, 6), lambda a: a),
        ((2, 5, 6, 3), lambda a: a.transpose(0, 3, 1, 2)),
        ((2, 5, 6, 1), lambda a: a.transpose(0, 3, 1, 2)),
    ],
)
def test_npy_images_become_channels_first(tmp_path, shape, to_first):
    array = np.arange(np.prod(shape), dtype=np.uint8).reshape(shape)
    np.save(tmp_path / "images.npy", array)
    dataset = load_dataset(str(tmp_path / "images.npy"))
    assert dataset.kind == "image" and dataset.X.dtype == np.uint8
    np.testing.assert_array_equal(dataset.X, to_first(array))


def test_npz_with_named_arrays_and_text_labels(tmp_path):
    X = np.random.default_rng(0).random((4, 3))
    np.savez(tmp_path / "d.npz", y=np.array(["b", "a", "b", "c"]), X=X)
    dataset = load_dataset(tmp_path / "d.npz")
    np.testing.assert_array_equal(dataset.X, X)
    assert dataset.y.tolist() == [1, 0, 1, 2] and dataset.class_names == ("a", "b", "c")


def test_npz_takes_the_only_array_and_a_named_label_array(tmp_path):
    np.savez(tmp_path / "one.npz", np.ones((3, 2)))
    assert read_array_file(tmp_path / "one.npz").X.shape == (3, 2)
    np.savez(tmp_path / "two.npz", x=np.ones((3, 2)), target=np.array([0.0, 1.0, 1.0]))
    data = read_array_file(tmp_path / "two.npz", label_column="target")
    assert data.y.dtype == np.int64 and data.y.tolist() == [0, 1, 1] and data.class_names is None


# --- CSV -------------------------------------------------------------------------------


def test_csv_with_header_and_text_label_column(tmp_path):
    path = tmp_path / "iris.csv"
    path.write_text("a,b,species,c\n1,2,setosa,3\n\n4,5.5,virginica,6\n7,8,setosa,-9e1\n")
    dataset = load_dataset(path, label_column="species")
    assert dataset.kind == "table" and dataset.X.dtype == np.float32
    np.testing.assert_array_equal(dataset.X, [[1, 2, 3], [4, 5.5, 6], [7, 8, -90]])
    assert dataset.y.tolist() == [0, 1, 0] and dataset.class_names == ("setosa", "virginica")


def test_csv_without_header_and_label_index(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("1,2,0\n3,4,1\n5,6,1\n")
    data = read_array_file(path, label_column="-1")
    np.testing.assert_array_equal(data.X, [[1, 2], [3, 4], [5, 6]])
    assert data.y.tolist() == [0, 1, 1] and data.class_names is None
    assert read_array_file(path).X.shape == (3, 3)


def test_csv_text_labels_by_index_without_header(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("cat,1,2\ndog,3,4\n")
    data = read_array_file(path, label_column="0")
    assert data.X.shape == (2, 2) and data.class_names == ("cat", "dog")


# --- image folders ---------------------------------------------------------------------


def save_image(path: Path, mode: str, size: tuple[int, int], value: int = 128) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new(mode, size, value if mode in ("L", "P") else (value,) * len(mode)).save(path)


def test_grayscale_folder_with_classes_and_mixed_sizes(tmp_path):
    save_image(tmp_path / "cat" / "1.png", "L", (8, 6), 255)  # PIL sizes are (W, H)
    save_image(tmp_path / "cat" / "2.png", "L", (8, 6), 0)
    save_image(tmp_path / "dog" / "deep" / "3.png", "L", (4, 4), 51)
    (tmp_path / "dog" / "notes.txt").write_text("not an image, and ignored")
    dataset = load_dataset(tmp_path)
    assert dataset.kind == "image" and dataset.X.shape == (3, 1, 6, 8)
    assert dataset.X.dtype == np.float32 and dataset.X[0].min() == 1.0 and dataset.X[1].max() == 0
    np.testing.assert_allclose(dataset.X[2], 0.2, atol=1e-6)  # resized, value kept
    assert dataset.y.tolist() == [0, 0, 1] and dataset.class_names == ("cat", "dog")


def test_color_folder_becomes_rgb_and_is_resized(tmp_path):
    save_image(tmp_path / "a.png", "RGB", (5, 5))
    save_image(tmp_path / "b.jpg", "L", (5, 5))
    save_image(tmp_path / "c.png", "RGBA", (7, 3))
    save_image(tmp_path / "d.png", "P", (5, 5))
    dataset = load_dataset(tmp_path, image_size=(4, 6))
    assert dataset.X.shape == (4, 3, 4, 6) and dataset.y is None
    assert dataset.X.min() >= 0.0 and dataset.X.max() <= 1.0


def test_sixteen_bit_grayscale_is_scaled_to_one(tmp_path):
    Image.fromarray(np.full((3, 3), 65535, np.uint16)).save(tmp_path / "w.png")
    data = read_array_file(tmp_path)
    np.testing.assert_allclose(data.X, 1.0)


# --- scaling ---------------------------------------------------------------------------


def round_trip(scaler):
    return scaler_from_dict(json.loads(json.dumps(scaler.to_dict())))


@pytest.mark.parametrize(
    ("X", "kind", "method", "expected"),
    [
        (np.array([[0, 7], [255, 9]], np.uint8), "image", "auto", {"low": 0.0, "high": 255.0}),
        (np.array([[0.2, 0.5]], np.float32), "image", "minmax", {"low": 0.0, "high": 1.0}),
        (np.array([[-2.0, 6.0]]), "table", "minmax", {"low": -2.0, "high": 6.0}),
        (np.full((3, 2), 4.0), "table", "minmax", {"low": 4.0, "high": 5.0}),
    ],
)
def test_minmax_ranges(X, kind, method, expected):
    scaler = fit_scaler(X, method, kind=kind)
    assert scaler.to_dict() == {"kind": "minmax", **expected}
    Z = round_trip(scaler).transform(X)
    assert Z.dtype == np.float32 and np.isfinite(Z).all()
    np.testing.assert_allclose(scaler.inverse_transform(Z), X, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("shape", [(50, 4), (50, 2, 3, 3)])
def test_standard_scaler_per_feature_round_trip(shape):
    X = np.random.default_rng(1).normal(10.0, 3.0, shape).astype(np.float32)
    X[:, 0] = 7.0  # a constant feature: std 0 becomes 1
    scaler = fit_scaler(X, kind="table" if len(shape) == 2 else "image", method="standard")
    restored = round_trip(scaler)
    Z = restored.transform(X)
    assert Z.dtype == np.float32 and restored.mean.shape == shape[1:]
    np.testing.assert_allclose(Z[:, 1:].mean(axis=0), 0.0, atol=1e-4)
    np.testing.assert_allclose(Z[:, 1:].std(axis=0), 1.0, atol=1e-4)
    np.testing.assert_allclose(Z[:, 0], 0.0, atol=1e-6)
    np.testing.assert_allclose(restored.inverse_transform(Z), X, rtol=1e-5)


def test_auto_picks_by_kind_and_identity_round_trips():
    X = np.array([[1.0, 3.0], [3.0, 5.0]])
    assert fit_scaler(X, kind="table").to_dict()["kind"] == "standard"
    assert fit_scaler(X, kind="image").to_dict()["kind"] == "minmax"
    for method in ("identity", "none"):
        scaler = round_trip(fit_scaler(X, method, kind="table"))
        assert scaler.to_dict() == {"kind": "identity"}
        np.testing.assert_array_equal(scaler.inverse_transform(scaler.transform(X)), X)


def test_standard_scaler_merges_chunks_of_a_memory_map(tmp_path):
    X = np.random.default_rng(2).normal(1e4, 2.0, (4000, 600))
    np.save(tmp_path / "big.npy", X)
    mapped = np.load(tmp_path / "big.npy", mmap_mode="r")
    scaler = fit_scaler(mapped, "standard", kind="table")  # 2.4M values: several chunks
    np.testing.assert_allclose(scaler.mean, X.mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(scaler.scale, X.std(axis=0), rtol=1e-8)


@pytest.mark.parametrize(
    "settings",
    [
        {"kind": "minmax", "low": 1.0},
        {"kind": "minmax", "low": 2.0, "high": 1.0},
        {"kind": "standard", "mean": [0.0, 1.0], "scale": [1.0]},
        {"kind": "standard", "mean": [0.0], "scale": [0.0]},
        {"kind": "robust"},
        {},
        "minmax",
    ],
)
def test_bad_scaler_settings_are_refused(settings):
    with pytest.raises(ModelFileError) as error:
        scaler_from_dict(settings)
    assert isinstance(error.value, ValueError) and "\n" not in str(error.value)


def test_scaler_refuses_data_of_another_shape():
    scaler = fit_scaler(np.ones((5, 3)), "standard", kind="table")
    with pytest.raises(DataError, match="shape"):
        scaler.transform(np.ones((5, 4)))


def assert_one_line(error: pytest.ExceptionInfo, name: str) -> None:
    assert error.type is DataError
    message = str(error.value)
    assert name in message and "\n" not in message, message
