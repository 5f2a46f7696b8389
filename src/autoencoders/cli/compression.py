"""The codec commands: train-codec, compress, decompress."""

from __future__ import annotations

import io
from pathlib import Path

import click
import numpy as np
from PIL import Image, UnidentifiedImageError

from autoencoders.cli.app import cli
from autoencoders.cli.options import data_options, read_data
from autoencoders.data import BUILTIN_DATASETS, load_dataset
from autoencoders.errors import DataError
from autoencoders.files import atomic_write_bytes

SUFFIX = ".aec"
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp")


@cli.command(
    "train-codec",
    epilog="""\b
Examples:
  autoencoders train-codec mnist --lmbda 0.01 --epochs 10 --out runs/codec
  autoencoders train-codec pngs/ --lmbda 0.05 --test held-out/ --out runs/codec-pngs
""",
)
@click.argument("data")
@click.option(
    "--lmbda",
    type=click.FloatRange(0, min_open=True),
    default=0.01,
    show_default=True,
    help="Rate–distortion trade-off λ in λ·255²·MSE + bits/pixel: larger, better and bigger.",
)
@click.option(
    "--filters",
    type=click.IntRange(1, 1024),
    default=48,
    show_default=True,
    help="Channels of the first layer, doubled at each further level.",
)
@click.option(
    "--global-dim",
    type=click.IntRange(1, 4096),
    default=128,
    show_default=True,
    help="Size of the global code (the image's overall shape).",
)
@click.option(
    "--latent-channels",
    type=click.IntRange(1, 1024),
    default=8,
    show_default=True,
    help="Channels of the spatial code (the detail).",
)
@click.option(
    "--levels",
    type=click.IntRange(1, 6),
    default=2,
    show_default=True,
    help="Stride-2 stages: the spatial code has H/2^levels × W/2^levels positions.",
)
@click.option("--epochs", type=click.IntRange(1, 1_000_000), default=10, show_default=True)
@click.option("--batch-size", type=click.IntRange(1, 1_000_000), default=64, show_default=True)
@click.option(
    "--lr", "learning_rate", type=click.FloatRange(0, 10, min_open=True), default=1e-3,
    show_default=True,
)  # fmt: skip
@click.option("--seed", type=click.IntRange(0, 2**31 - 1), default=0, show_default=True)
@click.option("--device", default="auto", show_default=True, help="auto, cpu or cuda.")
@click.option(
    "--test",
    "test_spec",
    help="Held-out DATA for the metrics [default: the test split of a built-in dataset, "
    "else the training data].",
)
@click.option("--out", type=click.Path(), required=True, help="Run directory to create.")
@click.option("--overwrite", is_flag=True, help="Replace an existing run directory.")
@click.option("-q", "--quiet", is_flag=True, help="No progress output.")
@data_options
def train_codec(data, test_spec, out, overwrite, quiet, **options) -> None:
    """Train a learned image codec on DATA (images) and write a run directory.

    The run is what compress and decompress need; its metrics are real file sizes
    (headers included) and PSNR on held-out images.
    """
    from autoencoders.compression import ImageCodec
    from autoencoders.compression.runs import train_codec_run

    data_args = {k: options.pop(k) for k in ("data_dir", "label_column", "image_size", "limit")}
    train = read_data(data, "train", dict(data_args))
    if test_spec:
        test = read_data(test_spec, "test", dict(data_args))
    elif data in BUILTIN_DATASETS:
        test = read_data(data, "test", dict(data_args))
    else:
        test = None
    if train.kind != "image":
        raise DataError(f"{data}: the codec compresses images; this is a table")
    codec = ImageCodec(random_state=options.pop("seed"), verbose=0 if quiet else 1, **options)
    metrics = train_codec_run(codec, train, out, test=test, overwrite=overwrite)
    click.echo(
        f"{metrics['evaluated_on']}: {metrics['bytes_per_image']:.1f} bytes per image "
        f"({metrics['archive_bytes_per_image']:.1f} in one archive), "
        f"PSNR {metrics['psnr']:.2f} dB"
    )
    click.echo(f"report: {Path(out) / 'report.html'}")


@cli.command(
    epilog="""\b
Examples:
  autoencoders compress runs/codec digit.png -o digit.aec
  autoencoders compress runs/codec pngs/ -o compressed/           (one .aec per image)
  autoencoders compress runs/codec mnist --limit 100 -o first100.aec   (one archive)
""",
)
@click.argument("run", type=click.Path())
@click.argument("inputs", metavar="INPUT...", nargs=-1, required=True)
@click.option(
    "-o",
    "--output",
    required=True,
    type=click.Path(),
    help=f"A {SUFFIX} file: one archive holding every image; anything else is a folder "
    f"with one {SUFFIX} file per image.",
)
@click.option(
    "--split",
    type=click.Choice(["train", "test", "all"]),
    default="test",
    show_default=True,
    help="Split of a built-in dataset.",
)
@click.option("--limit", type=click.IntRange(1), help="Use only the first N images of a dataset.")
@click.option(
    "--data-dir",
    type=click.Path(file_okay=False),
    help="Folder holding MNIST / Fashion-MNIST files (else $AUTOENCODERS_DATA or the cache).",
)
def compress(run, inputs, output, split, limit, data_dir) -> None:
    """Compress images with the codec in RUN.

    INPUT is an image file, a folder of images (searched recursively), or data as
    everywhere else (mnist, digits, .npy/.npz): one image per sample.
    """
    from autoencoders.compression import ImageCodec

    codec = ImageCodec.load(run)
    channels = codec.config_.image_shape[0]
    names, images = _gather(inputs, channels, split=split, limit=limit, data_dir=data_dir)
    output = Path(output)
    if output.suffix.lower() == SUFFIX:
        data = codec.encode_bytes(images)
        _mkdir(output.parent)
        atomic_write_bytes(output, data)
        click.echo(f"wrote {output} ({len(images)} images, {len(data)} bytes)")
        return
    total = 0
    for name, image in zip(names, images, strict=True):
        data = codec.encode_bytes(image[None])
        target = output / f"{name}{SUFFIX}"
        _mkdir(target.parent)
        atomic_write_bytes(target, data)
        total += len(data)
    click.echo(
        f"wrote {len(images)} files to {output}/ ({total} bytes, "
        f"{total / len(images):.1f} per image)"
    )


@cli.command(
    epilog="""\b
Examples:
  autoencoders decompress runs/codec digit.aec -o restored/        (restored/digit.png)
  autoencoders decompress runs/codec compressed/ -o restored/
  autoencoders decompress runs/codec first100.aec -o restored/     (restored/first100/…)
""",
)
@click.argument("run", type=click.Path())
@click.argument("files", metavar="FILE...", nargs=-1, required=True)
@click.option("-o", "--output", required=True, type=click.Path(), help="Folder for the PNGs.")
def decompress(run, files, output) -> None:
    """Restore the images in FILE(s) (.aec files or folders of them) as PNGs.

    A file holding one image becomes NAME.png; an archive becomes a folder NAME/ of PNGs.
    A damaged file, or one made with another model, is refused with an error.
    """
    from autoencoders.compression import ImageCodec

    codec = ImageCodec.load(run)
    output = Path(output)
    written = 0
    for path, name in _compressed_files(files):
        try:
            data = path.read_bytes()
        except OSError as error:
            raise DataError(f"{path}: cannot read ({error.strerror})") from None
        images = codec.decode_bytes(data, name=str(path))
        if len(images) == 1:
            _write_png(output / f"{name}.png", images[0])
        else:
            width = len(str(len(images) - 1))
            for i, image in enumerate(images):
                _write_png(output / name / f"{i:0{width}d}.png", image)
        written += len(images)
    click.echo(f"wrote {written} images to {output}/")


def _gather(inputs, channels: int, **data_options) -> tuple[list[str], np.ndarray]:
    """Names and uint8 images (n, C, H, W) from image files, folders and data arguments."""
    from autoencoders.compression.codec import as_images

    names: list[str] = []
    images: list[np.ndarray] = []
    for spec in inputs:
        path = Path(spec)
        if path.is_dir():
            files = sorted(p for p in path.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
            if not files:
                raise DataError(f"{path}: no image files ({', '.join(IMAGE_SUFFIXES)}) in it")
            for file in files:
                names.append(file.relative_to(path).with_suffix("").as_posix())
                images.append(_read_image(file, channels))
        elif path.suffix.lower() in IMAGE_SUFFIXES:
            names.append(path.stem)
            images.append(_read_image(path, channels))
        else:
            dataset = load_dataset(spec, **data_options)
            stem = dataset.name if spec in BUILTIN_DATASETS else path.stem
            width = len(str(len(dataset) - 1))
            names += [f"{stem}-{i:0{width}d}" for i in range(len(dataset))]
            images += list(as_images(dataset.X, str(spec)))
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise DataError(f"two inputs would both be written as {duplicates[0]}{SUFFIX}; rename one")
    shapes = sorted({image.shape for image in images})
    if len(shapes) > 1:
        raise DataError(f"the images have different shapes {shapes[:2]}; the codec needs one size")
    return names, np.stack(images)


def _read_image(path: Path, channels: int) -> np.ndarray:
    """One image file as uint8 (C, H, W), converted to the codec's gray or RGB."""
    try:
        with Image.open(path) as image:
            array = np.asarray(image.convert("L" if channels == 1 else "RGB"))
    except FileNotFoundError:
        raise DataError(f"{path}: no such file") from None
    except (OSError, UnidentifiedImageError, ValueError) as error:
        raise DataError(f"{path}: not a readable image ({error})") from None
    return array[None] if array.ndim == 2 else array.transpose(2, 0, 1)


def _compressed_files(specs) -> list[tuple[Path, str]]:
    """(path, output name) of every compressed file named or inside a named folder."""
    found = []
    for spec in specs:
        path = Path(spec)
        if path.is_dir():
            files = sorted(path.rglob(f"*{SUFFIX}"))
            if not files:
                raise DataError(f"{path}: no {SUFFIX} files in it")
            found += [(f, f.relative_to(path).with_suffix("").as_posix()) for f in files]
        elif path.is_file():
            found.append((path, path.stem))
        else:
            raise DataError(f"{path}: no such file or directory")
    return found


def _write_png(path: Path, image: np.ndarray) -> None:
    _mkdir(path.parent)
    pixels = image[0] if image.shape[0] == 1 else image.transpose(1, 2, 0)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    atomic_write_bytes(path, buffer.getvalue())


def _mkdir(folder: Path) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise DataError(f"{folder}: cannot create the folder ({error.strerror})") from None
