"""Fuzzing the file readers: any bytes give data or a one-line DataError, never anything else.

Each test writes hypothesis-made (often damaged) files into a fresh folder and reads
them with :func:`read_array_file`. A read may succeed, and then the data must be
usable (numeric, finite, non-empty, one label per sample), or raise exactly
:class:`DataError` whose one-line message names the file. Every read must finish in
``SECONDS``, and reads of IDX, NumPy and CSV files must not allocate much more than the
file's size (traced with tracemalloc), since a damaged header must not allocate what it
claims. ``FUZZ_EXAMPLES=5000 pytest tests/test_fuzz_readers.py`` searches deeper.
"""

import gzip
import io
import os
import tempfile
import time
import tracemalloc
import zipfile
import zlib
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from PIL import Image

from autoencoders.data.readers import FileData, read_array_file
from autoencoders.errors import DataError

FUZZ = settings(
    max_examples=int(os.environ.get("FUZZ_EXAMPLES", "150")),  # raise it for a deeper search
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
SECONDS = 2.0  # per read; every file here is tiny, so this is generous
EXTRA_BYTES = 100 * 2**20  # allocation allowed beyond the file's size
# An overflow in a cast means silently wrong values: make numpy's warning an error.
CASTS_MUST_NOT_OVERFLOW = pytest.mark.filterwarnings("error::RuntimeWarning")


@contextmanager
def fresh_folder():
    """A new empty folder per example (hypothesis reuses function-scoped fixtures)."""
    with tempfile.TemporaryDirectory(prefix="fuzz-") as folder:
        yield Path(folder)


def read_or_refuse(path: Path, *, bound_memory: bool = True, **options) -> FileData | None:
    """Read ``path``: return its data, or None after a proper DataError; let anything else out.

    With ``bound_memory``, what Python and NumPy allocate (traced by tracemalloc) must stay
    under the file's size plus ``EXTRA_BYTES``, whatever its header claims.
    """
    if bound_memory:
        tracemalloc.start()
    start = time.perf_counter()
    try:
        data = read_array_file(path, **options)
    except DataError as error:
        assert type(error) is DataError
        message = str(error)
        assert str(path) in message and "\n" not in message, message
        data = None
    finally:
        seconds = time.perf_counter() - start
        peak = tracemalloc.get_traced_memory()[1] if bound_memory else 0
        tracemalloc.stop()
    assert seconds < SECONDS, f"reading {path.name} took {seconds:.1f} s"
    if bound_memory:
        assert peak < path.stat().st_size + EXTRA_BYTES, f"{peak} bytes allocated for {path.name}"
    event("read" if data is not None else "refused")  # see --hypothesis-show-statistics
    if data is not None:
        check_usable(data)
    return data


def check_usable(data: FileData) -> None:
    X, y, class_names = data
    assert isinstance(X, np.ndarray) and X.dtype.kind in "biuf", type(X)
    assert X.ndim >= 1 and len(X) >= 1 and X.size >= 1, X.shape
    assert np.isfinite(X).all()
    if y is not None:
        assert isinstance(y, np.ndarray) and y.dtype.kind == "i" and y.shape == (len(X),)
    if class_names is not None:
        assert y is not None and all(isinstance(name, str) for name in class_names)
        assert y.min() >= 0 and y.max() < len(class_names)


# --- mutations -------------------------------------------------------------------------


@st.composite
def mutated(draw, data: bytes, header: int = 64) -> bytes:
    """``data`` with a few bytes flipped (often in its first ``header`` bytes), cut or extended."""
    data = bytearray(data)
    for _ in range(draw(st.integers(0, 4)) if data else 0):
        last = len(data) - 1
        where = draw(st.one_of(st.integers(0, min(header, last)), st.integers(0, last)))
        data[where] ^= draw(st.integers(1, 255))
    if draw(st.booleans()):
        data = data[: draw(st.integers(0, len(data)))]
    if draw(st.integers(0, 3)) == 0:
        data += draw(st.binary(max_size=64))
    return bytes(data)


# --- IDX -------------------------------------------------------------------------------

IDX_TYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
IDX_NAMES = ("data-ubyte", "data.idx", "data-ubyte.gz", "data.idx.gz")
DIMS = st.one_of(
    st.integers(0, 5),
    st.integers(0, 2**32 - 1),
    st.sampled_from([2**16, 2**31 - 1, 2**31, 2**32 - 1]),
)


def idx_header(code: int, shape) -> bytes:
    return bytes([0, 0, code, len(shape)]) + np.asarray(shape, dtype=">u4").tobytes()


def read_idx(folder: Path, name: str, content: bytes) -> FileData | None:
    """Write ``content`` to ``folder / name``, gzipped when the name ends in .gz, and read it."""
    path = folder / name
    path.write_bytes(gzip.compress(content, mtime=0) if name.endswith(".gz") else content)
    return read_or_refuse(path)


@FUZZ
@given(name=st.sampled_from(IDX_NAMES), content=st.binary(max_size=300))
def test_idx_random_bytes(name, content):
    with fresh_folder() as folder:
        read_idx(folder, name, content)


@FUZZ
@given(
    name=st.sampled_from(IDX_NAMES),
    code=st.sampled_from(sorted(IDX_TYPES)),
    shape=st.lists(st.integers(1, 4), min_size=1, max_size=4),
    seed=st.integers(0, 2**32 - 1),
    data=st.data(),
)
def test_idx_damaged_files(name, code, shape, seed, data):
    payload = np.random.default_rng(seed).bytes(
        np.dtype(IDX_TYPES[code]).itemsize * int(np.prod(shape))
    )
    good = idx_header(code, shape) + payload
    if name.endswith(".gz") and data.draw(st.booleans(), label="damage the gzip stream"):
        damaged = data.draw(mutated(gzip.compress(good, mtime=0), header=16), label="gz bytes")
        with fresh_folder() as folder:
            (folder / name).write_bytes(damaged)
            read_or_refuse(folder / name)
        return
    with fresh_folder() as folder:
        read_idx(folder, name, data.draw(mutated(good, header=4 + 4 * len(shape))))


@FUZZ
@given(
    name=st.sampled_from(IDX_NAMES),
    code=st.sampled_from(sorted(IDX_TYPES)),
    shape=st.one_of(
        st.lists(DIMS, min_size=1, max_size=4), st.lists(DIMS, min_size=1, max_size=255)
    ),
    payload=st.one_of(st.binary(max_size=64), st.sampled_from(["exact", "one short"])),
)
def test_idx_headers_with_any_dimensions(name, code, shape, payload):
    expected = np.dtype(IDX_TYPES[code]).itemsize * int(np.prod(shape, dtype=object))
    if isinstance(payload, str):
        payload = bytes(max(0, min(expected, 4096) - (payload == "one short")))
    with fresh_folder() as folder:
        read_idx(folder, name, idx_header(code, shape) + payload)


# --- NumPy files -----------------------------------------------------------------------

NPY_DTYPES = st.sampled_from(["<f4", ">f8", "<f2", "<i8", ">i2", "|u1", "|b1", "<c8", "<U2"])
SMALL_ARRAYS = hnp.arrays(NPY_DTYPES, hnp.array_shapes(min_dims=0, max_dims=4, max_side=4))


def npy_bytes(array: np.ndarray) -> bytes:
    stream = io.BytesIO()
    np.save(stream, array, allow_pickle=False)
    return stream.getvalue()


NPY_DESCRS = (
    *("'<f8'", "'>f4'", "'|u1'", "'<i8'", "'|b1'", "'<c16'", "'<U3'", "'|S2'", "'|O'", "'|V8'"),
    *("'<M8[s]'", "[('a', '<f4')]", "'bogus'", "3", "None"),
)


@st.composite
def npy_headers(draw) -> bytes:
    """A .npy preamble with a plausible but arbitrary header dictionary, then random bytes."""
    descr = draw(st.sampled_from(NPY_DESCRS))
    sizes = st.one_of(st.integers(-3, 6), st.integers(-(2**70), 2**70))
    shape = draw(st.one_of(st.lists(sizes, max_size=4).map(tuple), st.sampled_from(["(", "'3'"])))
    order = draw(st.sampled_from(["False", "True", "0", "'no'"]))
    text = f"{{'descr': {descr}, 'fortran_order': {order}, 'shape': {shape}, }}"
    version = draw(st.sampled_from([1, 2, 3, 0, 9]))
    encoded = text.encode("latin1")
    encoded += b" " * (-(len(encoded) + 10 + 2 * (version > 1) + 1) % 64) + b"\n"
    length = len(encoded).to_bytes(4 if version > 1 else 2, "little")
    body = draw(st.binary(max_size=200))
    return b"\x93NUMPY" + bytes([version, 0]) + length + encoded + body


@CASTS_MUST_NOT_OVERFLOW
@FUZZ
@given(data=st.data(), array=SMALL_ARRAYS)
def test_npy_damaged_files(data, array):
    content = data.draw(mutated(npy_bytes(array), header=128), label="content")
    with fresh_folder() as folder:
        (folder / "a.npy").write_bytes(content)
        read_or_refuse(folder / "a.npy")


@CASTS_MUST_NOT_OVERFLOW
@FUZZ
@given(content=st.one_of(st.binary(max_size=300).map(b"\x93NUMPY".__add__), npy_headers()))
def test_npy_magic_then_anything(content):
    with fresh_folder() as folder:
        (folder / "a.npy").write_bytes(content)
        read_or_refuse(folder / "a.npy")


LABEL_ARRAYS = st.one_of(
    hnp.arrays(st.sampled_from(["<i4", "<f8", "<U3", "|b1"]), st.integers(0, 5)), st.none()
)


@st.composite
def npz_archives(draw) -> bytes:
    """An archive numpy.savez or numpy.savez_compressed wrote, then damaged."""
    arrays = {draw(st.sampled_from(["X", "x", "data"])): draw(SMALL_ARRAYS)}
    labels = draw(LABEL_ARRAYS)
    if labels is not None:
        arrays[draw(st.sampled_from(["y", "label"]))] = labels
    stream = io.BytesIO()
    (np.savez_compressed if draw(st.booleans()) else np.savez)(stream, **arrays)
    return draw(mutated(stream.getvalue(), header=160))


@st.composite
def zip_archives(draw) -> bytes:
    """A zip archive built by hand: any member names, each holding any bytes or a .npy file."""
    stream = io.BytesIO()
    method = draw(st.sampled_from([zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED]))
    with zipfile.ZipFile(stream, "w", method) as archive:
        for name in draw(st.lists(st.sampled_from(["X.npy", "y.npy", "x", "y", "d.bin"]))):
            content = draw(
                st.one_of(
                    st.binary(max_size=64),
                    SMALL_ARRAYS.map(npy_bytes),
                    npy_headers(),
                    SMALL_ARRAYS.map(npy_bytes).flatmap(lambda b: mutated(b, header=128)),
                )
            )
            archive.writestr(name, content)
    return stream.getvalue()


@CASTS_MUST_NOT_OVERFLOW
@pytest.mark.filterwarnings("ignore:Duplicate name:UserWarning")  # repeated member names
@FUZZ
@given(
    content=st.one_of(
        npz_archives(), zip_archives(), st.binary(max_size=300).map(b"PK\x03\x04".__add__)
    ),
    label_column=st.sampled_from([None, None, "y", "X", "label", "zzz"]),
)
def test_npz_damaged_archives(content, label_column):
    with fresh_folder() as folder:
        (folder / "a.npz").write_bytes(content)
        read_or_refuse(folder / "a.npz", label_column=label_column)


@CASTS_MUST_NOT_OVERFLOW
@FUZZ
@given(content=st.binary(max_size=300), suffix=st.sampled_from([".npy", ".npz"]))
def test_numpy_random_bytes(content, suffix):
    with fresh_folder() as folder:
        (folder / f"a{suffix}").write_bytes(content)
        read_or_refuse(folder / f"a{suffix}")


# --- CSV -------------------------------------------------------------------------------

CSV_TOKENS = [*"0123456789.-e,\n abxyEX+", "nan", "inf", "NaN", "-Infinity", "1e39", '"']
NUMBERS = st.one_of(
    st.integers(-(10**20), 10**20).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.floats(-1e6, 1e6, allow_nan=False).map(repr),
)
CELLS = st.one_of(NUMBERS, NUMBERS, st.sampled_from(["", " ", "a", "y", "cat", "nan", "1e39"]))
LABEL_COLUMNS = st.sampled_from([None, None, "y", "a", "0", "1", "-1", "5", "x"])


@CASTS_MUST_NOT_OVERFLOW
@FUZZ
@given(
    text=st.one_of(
        st.lists(st.sampled_from(CSV_TOKENS), max_size=80).map("".join),
        st.text(max_size=80),
    ),
    label_column=LABEL_COLUMNS,
)
def test_csv_random_text(text, label_column):
    with fresh_folder() as folder:
        (folder / "t.csv").write_text(text, encoding="utf-8", errors="surrogatepass")
        read_or_refuse(folder / "t.csv", label_column=label_column)


@CASTS_MUST_NOT_OVERFLOW
@FUZZ
@given(
    header=st.one_of(st.none(), st.lists(st.sampled_from(["a", "b", "y", "x", "1"]), max_size=4)),
    rows=st.lists(st.lists(CELLS, min_size=1, max_size=4), max_size=5),
    label_column=LABEL_COLUMNS,
)
def test_csv_tables(header, rows, label_column):
    lines = ([",".join(header)] if header is not None else []) + [",".join(r) for r in rows]
    with fresh_folder() as folder:
        (folder / "t.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
        read_or_refuse(folder / "t.csv", label_column=label_column)


# --- image folders ---------------------------------------------------------------------

IMAGE_KINDS = [
    ("PNG", ".png", ["1", "L", "LA", "P", "RGB", "RGBA", "I;16"]),
    ("JPEG", ".jpg", ["L", "RGB", "CMYK"]),
    ("BMP", ".bmp", ["1", "L", "RGB"]),
    ("GIF", ".gif", ["L", "P"]),
    ("TIFF", ".tif", ["L", "RGB", "I;16", "I", "F"]),
]


def fix_png_checksums(data: bytes) -> bytes:
    """Recompute each whole PNG chunk's CRC, so damage reaches the decoder, not the CRC check."""
    out, pos = bytearray(data[:8]), 8
    while pos + 12 <= len(data):
        end = pos + 8 + int.from_bytes(data[pos : pos + 4], "big")
        if end + 4 > len(data):
            break
        out += data[pos:end] + zlib.crc32(data[pos + 4 : end]).to_bytes(4, "big")
        pos = end + 4
    return bytes(out + data[pos:])


@st.composite
def image_files(draw) -> tuple[str, bytes]:
    """``(suffix, bytes)``: random bytes, or a tiny image Pillow saved and then damaged."""
    if draw(st.integers(0, 4)) == 0:
        return draw(st.sampled_from([".png", ".jpg"])), draw(st.binary(max_size=200))
    fmt, suffix, modes = draw(st.sampled_from(IMAGE_KINDS))
    mode = draw(st.sampled_from(modes))
    size = (draw(st.integers(1, 5)), draw(st.integers(1, 5)))
    if mode == "F":  # float pixels, NaN and infinity included
        special = st.sampled_from([np.nan, np.inf, -np.inf])
        values = st.one_of(special, st.floats(-2, 2, width=32))
        image = Image.fromarray(draw(hnp.arrays(np.float32, size[::-1], elements=values)))
    else:
        n_bytes = len(Image.new(mode, size).tobytes())
        image = Image.frombytes(
            mode, size, np.random.default_rng(draw(st.integers(0, 99))).bytes(n_bytes)
        )
    stream = io.BytesIO()
    image.save(stream, fmt)
    content = draw(mutated(stream.getvalue(), header=48))
    if fmt == "PNG" and draw(st.booleans()):
        content = fix_png_checksums(content)
    return suffix, content


@contextmanager
def pillow_pixel_limit(pixels: int):
    """Lower Pillow's decompression-bomb limit while fuzzing.

    A damaged header may claim any size up to Pillow's limit (89M pixels), and when it
    sets the folder's common size the reader honestly resizes every good image to it:
    gigabytes of work that says nothing about robustness. Refusals are what we test.
    """
    saved, Image.MAX_IMAGE_PIXELS = Image.MAX_IMAGE_PIXELS, pixels
    try:
        yield
    finally:
        Image.MAX_IMAGE_PIXELS = saved


def tiny_png(folder: Path, name: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    Image.new("L", (3, 3), 128).save(folder / name)


def float_tiff(*values: float) -> bytes:
    stream = io.BytesIO()
    Image.fromarray(np.array([values], np.float32)).save(stream, "TIFF")
    return stream.getvalue()


@pytest.mark.filterwarnings("ignore::UserWarning:PIL")  # Pillow on damaged metadata
@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")
@FUZZ
@example(files=[(".tif", float_tiff(0.5, np.nan))], layout="flat", image_size=None)
@given(
    files=st.lists(image_files(), min_size=1, max_size=3),
    layout=st.sampled_from(["flat", "classes", "flat with good images"]),
    image_size=st.sampled_from([None, None, 4, (2, 3)]),
)
def test_image_folders_with_damaged_files(files, layout, image_size):
    with fresh_folder() as folder, pillow_pixel_limit(2**18):
        for i, (suffix, content) in enumerate(files):
            where = folder / f"class{i % 2}" if layout == "classes" else folder
            where.mkdir(exist_ok=True)
            (where / f"img{i}{suffix}").write_bytes(content)
        if layout == "flat with good images":  # two good 3x3 images set the common size
            tiny_png(folder, "good0.png")
            tiny_png(folder, "good1.png")
        read_or_refuse(folder, bound_memory=False, image_size=image_size)
