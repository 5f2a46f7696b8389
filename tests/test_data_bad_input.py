"""The data layer on bad input: each failure is a one-line DataError naming the file."""

import gzip
import os
import pathlib
import time
from pathlib import Path

import numpy as np
import pytest

from autoencoders.data import load_dataset
from autoencoders.data.idx import read_idx
from autoencoders.data.readers import read_array_file
from autoencoders.errors import DataError


def idx_header(code: int, *shape: int) -> bytes:
    return bytes([0, 0, code, len(shape)]) + np.asarray(shape, dtype=">u4").tobytes()


def flip_middle_byte(data: bytes) -> bytes:
    middle = len(data) // 2
    return data[:middle] + bytes([data[middle] ^ 0xFF]) + data[middle + 1 :]


def raises_naming(name: str, call, *args, **kwargs) -> str:
    """Run ``call``; check it raised a one-line DataError naming ``name``; return the message."""
    with pytest.raises(DataError) as error:
        call(*args, **kwargs)
    assert error.type is DataError
    message = str(error.value)
    assert name in message and "\n" not in message, message
    return message


# --- IDX -------------------------------------------------------------------------------


@pytest.mark.parametrize("gz", [False, True])
def test_truncated_idx(tmp_path, gz):
    data = idx_header(0x08, 10, 28, 28) + bytes(100)
    path = tmp_path / ("t.idx.gz" if gz else "t.idx")
    path.write_bytes(gzip.compress(data) if gz else data)
    message = raises_naming("t.idx", read_idx, path)
    assert "truncated IDX file: header promises 7840 bytes of data, found 100" in message


def test_idx_with_trailing_bytes(tmp_path):
    (tmp_path / "t.idx").write_bytes(idx_header(0x08, 2, 2) + bytes(5))
    assert "trailing" in raises_naming("t.idx", read_idx, tmp_path / "t.idx")


@pytest.mark.parametrize(
    "head", [b"\x01\x00\x08\x01", b"\x00\x00\x07\x01", b"\x00\x00\x08\x00", b"PK\x03", b"x"]
)
def test_idx_with_bad_magic(tmp_path, head):
    (tmp_path / "bad-ubyte").write_bytes(head + bytes(8))
    assert "bad magic" in raises_naming("bad-ubyte", read_idx, tmp_path / "bad-ubyte")


def test_idx_header_ends_early(tmp_path):
    (tmp_path / "t.idx").write_bytes(bytes([0, 0, 8, 3, 0, 0]))
    raises_naming("t.idx", read_idx, tmp_path / "t.idx")


@pytest.mark.parametrize("gz", [False, True])
def test_absurd_idx_header_is_refused_without_allocating(tmp_path, gz):
    data = idx_header(0x0E, 1_000_000_000, 28, 28) + bytes(64)  # ~6e12 bytes of float64
    path = tmp_path / ("huge.gz" if gz else "huge")
    path.write_bytes(gzip.compress(data) if gz else data)
    start = time.perf_counter()
    assert "more than the" in raises_naming("huge", read_idx, path)
    assert time.perf_counter() - start < 1.0


def test_large_but_truncated_header_reads_only_what_is_there(tmp_path):
    (tmp_path / "big").write_bytes(idx_header(0x08, 5_000_000, 28, 28) + bytes(10))
    assert "promises 3920000000 bytes of data, found 10" in raises_naming(
        "big", read_idx, tmp_path / "big"
    )


@pytest.mark.parametrize("name", ["empty-ubyte", "empty-ubyte.gz"])
def test_zero_byte_idx(tmp_path, name):
    (tmp_path / name).write_bytes(b"")
    assert "empty" in raises_naming(name, read_idx, tmp_path / name)


@pytest.mark.parametrize(
    "payload",
    [
        gzip.compress(idx_header(0x08, 4, 4) + bytes(16))[:-12],  # cut short
        gzip.compress(idx_header(0x08, 4, 4) + bytes(16))[:12] + b"\xff" * 30,  # garbled
        b"not gzip at all",
        flip_middle_byte(gzip.compress(idx_header(0x08, 10, 256) + bytes(range(256)) * 10)),
    ],
)
def test_corrupt_gzip(tmp_path, payload):
    (tmp_path / "c-ubyte.gz").write_bytes(payload)
    message = raises_naming("c-ubyte.gz", read_idx, tmp_path / "c-ubyte.gz")
    assert "gzip" in message or "bad magic" in message


def test_missing_idx(tmp_path):
    assert "no such file" in raises_naming("gone", read_idx, tmp_path / "gone")


# --- paths and NumPy files -------------------------------------------------------------


def test_missing_path_and_unknown_suffix(tmp_path):
    assert "no such file or directory" in raises_naming(
        "nope.npy", load_dataset, tmp_path / "nope.npy"
    )
    (tmp_path / "data.txt").write_text("1 2 3")
    message = raises_naming("data.txt", load_dataset, tmp_path / "data.txt")
    assert ".npy" in message and ".csv" in message and "folder" in message


def test_unreadable_file(tmp_path, monkeypatch):
    path = tmp_path / "locked.csv"
    path.write_text("1,2\n")
    real_open = pathlib.Path.open

    def locked_open(self, *args, **kwargs):
        if self == path:
            raise PermissionError(13, "Permission denied", str(self))
        return real_open(self, *args, **kwargs)

    monkeypatch.setattr(pathlib.Path, "open", locked_open)
    assert "permission denied" in raises_naming("locked.csv", load_dataset, path)


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root reads anything")
def test_file_without_read_permission(tmp_path):
    path = tmp_path / "locked.npy"
    np.save(path, np.ones((2, 2)))
    path.chmod(0)
    raises_naming("locked.npy", load_dataset, path)


def test_object_arrays_are_never_unpickled(tmp_path):
    objects = np.array([[1, "a"], [None, 2]], dtype=object)
    np.save(tmp_path / "o.npy", objects, allow_pickle=True)
    np.savez(tmp_path / "o.npz", X=objects)
    assert "object" in raises_naming("o.npy", load_dataset, tmp_path / "o.npy")
    assert "object" in raises_naming("o.npz", load_dataset, tmp_path / "o.npz")


@pytest.mark.parametrize(
    ("array", "words"),
    [
        (np.array([[1.0, np.nan], [2.0, 3.0]]), "NaN"),
        (np.array([[1.0, 2.0], [np.inf, 3.0]], np.float32), "NaN or infinite"),
        (np.zeros((0, 3)), "no samples"),
        (np.array([["a", "b"]]), "not numbers"),
        (np.array([[1 + 2j]]), "not numbers"),
        (np.float64(3.0), "no samples"),
        (np.arange(5.0), "shape (5,)"),
        (np.ones((2, 5, 5, 5)), "channels"),
        (np.ones((2, 2, 2, 2, 2)), "shape (2, 2, 2, 2, 2)"),
    ],
)
def test_unusable_arrays(tmp_path, array, words):
    np.save(tmp_path / "bad.npy", array)
    assert words in raises_naming("bad.npy", load_dataset, tmp_path / "bad.npy")


def test_nan_deep_in_a_large_memory_mapped_array(tmp_path):
    X = np.zeros((3000, 1000), np.float32)  # 3M values: checked in several chunks
    X[-1, -1] = np.nan
    np.save(tmp_path / "big.npy", X)
    assert "sample 2999" in raises_naming("big.npy", load_dataset, tmp_path / "big.npy")


@pytest.mark.parametrize(("name", "content"), [("bad.npy", b"hello"), ("bad.npz", b"hello")])
def test_files_that_are_not_numpy_files(tmp_path, name, content):
    (tmp_path / name).write_bytes(content)
    raises_naming(name, load_dataset, tmp_path / name)


def test_npz_problems(tmp_path):
    np.savez(tmp_path / "empty.npz")
    assert "no arrays" in raises_naming("empty.npz", load_dataset, tmp_path / "empty.npz")
    np.savez(tmp_path / "nan.npz", X=np.array([[np.nan]]))
    message = raises_naming("nan.npz", load_dataset, tmp_path / "nan.npz")
    assert message.count("nan.npz") == 1 and "NaN" in message
    np.savez(tmp_path / "d.npz", X=np.ones((3, 2)), y=np.ones(2))
    assert "labels for 3 samples" in raises_naming("d.npz", load_dataset, tmp_path / "d.npz")
    assert "'target'" in raises_naming(
        "d.npz", load_dataset, tmp_path / "d.npz", label_column="target"
    )
    huge = np.array([1, 2**63], dtype=np.uint64)  # int64 would wrap it to a negative
    np.savez(tmp_path / "u.npz", X=np.ones((2, 2)), y=huge)
    assert "below 2**63" in raises_naming("u.npz", load_dataset, tmp_path / "u.npz")
    np.savez(tmp_path / "ok.npz", X=np.ones((2, 2)), y=np.array([1, 2**62], dtype=np.uint64))
    assert load_dataset(tmp_path / "ok.npz").y.tolist() == [1, 2**62]


def test_options_that_do_not_apply(tmp_path):
    np.save(tmp_path / "t.npy", np.ones((2, 2)))
    raises_naming("t.npy", load_dataset, tmp_path / "t.npy", label_column="0")
    raises_naming("t.npy", load_dataset, tmp_path / "t.npy", image_size=8)


def test_bad_split_limit_and_options_for_builtins():
    assert "'valid'" in raises_naming("digits", load_dataset, "digits", "valid")
    raises_naming("digits", load_dataset, "digits", limit=0)
    raises_naming("mnist", load_dataset, "mnist", image_size=28)


# --- CSV -------------------------------------------------------------------------------


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_csv_non_numeric_cell_names_line_and_column(tmp_path):
    path = write(tmp_path / "t.csv", "a,b,c\n1,2,3\n\n4,x7,6\n")
    message = raises_naming("t.csv", load_dataset, path)
    assert "line 4, column 2 ('b')" in message and "'x7'" in message


def test_csv_non_numeric_cell_after_the_label_column(tmp_path):
    path = write(tmp_path / "t.csv", "1,0,2\n3,1,?\n")
    assert "line 2, column 3" in raises_naming("t.csv", load_dataset, path, label_column="1")


def test_csv_ragged_rows(tmp_path):
    path = write(tmp_path / "r.csv", "1,2,3\n4,5,6\n7,8\n")
    assert "line 3 has 2 fields, expected 3" in raises_naming("r.csv", load_dataset, path)


@pytest.mark.parametrize("text", ["", "\n\n  \n", "a,b,c\n"])
def test_csv_without_data(tmp_path, text):
    raises_naming("e.csv", load_dataset, write(tmp_path / "e.csv", text))


@pytest.mark.parametrize("value", ["inf", "-Infinity", "nan", "NaN"])
def test_csv_nan_and_inf_are_refused(tmp_path, value):
    path = write(tmp_path / "n.csv", f"1,2\n3,{value}\n")
    message = raises_naming("n.csv", load_dataset, path)
    assert "line 2, column 2" in message and "NaN or infinite" in message


def test_csv_label_column_problems(tmp_path):
    path = write(tmp_path / "l.csv", "a,b\n1,2\n")
    assert "'c'" in raises_naming("l.csv", load_dataset, path, label_column="c")
    assert "out of range" in raises_naming("l.csv", load_dataset, path, label_column="5")
    single = write(tmp_path / "one.csv", "y\n1\n")
    raises_naming("one.csv", load_dataset, single, label_column="y")
    blank = write(tmp_path / "blank.csv", "a,y\n1,cat\n2,\n")
    assert "line 3" in raises_naming("blank.csv", load_dataset, blank, label_column="y")
    fraction = write(tmp_path / "f.csv", "a,y\n1,0.5\n")
    raises_naming("f.csv", load_dataset, fraction, label_column="y")


def test_csv_that_is_not_text(tmp_path):
    (tmp_path / "b.csv").write_bytes(b"\xff\xfe\x00\x81binary")
    raises_naming("b.csv", load_dataset, tmp_path / "b.csv")


# --- image folders ---------------------------------------------------------------------


def test_not_an_image_file(tmp_path):
    from PIL import Image

    Image.new("L", (4, 4)).save(tmp_path / "good.png")
    (tmp_path / "fake.png").write_text("I am text")
    raises_naming("fake.png", load_dataset, tmp_path)


def test_truncated_image_file(tmp_path):
    from PIL import Image

    Image.new("RGB", (64, 64), (1, 2, 3)).save(tmp_path / "cut.jpg")
    data = (tmp_path / "cut.jpg").read_bytes()
    (tmp_path / "cut.jpg").write_bytes(data[: len(data) // 2])
    raises_naming("cut.jpg", load_dataset, tmp_path)


def test_folder_without_images(tmp_path):
    (tmp_path / "images").mkdir()
    (tmp_path / "images" / "readme.txt").write_text("nothing here")
    raises_naming("images", load_dataset, tmp_path / "images")


def test_images_both_at_top_and_in_subfolders(tmp_path):
    from PIL import Image

    (tmp_path / "cls").mkdir()
    Image.new("L", (4, 4)).save(tmp_path / "top.png")
    Image.new("L", (4, 4)).save(tmp_path / "cls" / "inner.png")
    assert "subfolders" in raises_naming(str(tmp_path), load_dataset, tmp_path)


def test_bad_image_size(tmp_path):
    from PIL import Image

    Image.new("L", (4, 4)).save(tmp_path / "a.png")
    raises_naming(str(tmp_path), load_dataset, tmp_path, image_size=(0, 4))
    raises_naming(str(tmp_path), read_array_file, tmp_path, image_size=(4, 4, 4))
