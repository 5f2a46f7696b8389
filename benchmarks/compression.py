"""Our learned codec against PNG, WebP and JPEG on MNIST or faces: bytes per image and PSNR.

Trains a family of codecs (one per λ) on the 60 000 MNIST training images (``--data
faces``: the 10 937 training faces of ``smiles/``, the seeded split of
``benchmarks/photos.py``, measured on its held-out faces): a base
codec at one λ, then each λ fine-tuned from it (``warm_start``), which costs a fraction
of training each from scratch. Each is measured on the first 500 test images (and on
all 10 000) by writing real files, one per image, header included, and decoding them;
the decoded pixels must equal the codec's quantised forward pass, bit for bit. The
classical codecs (Pillow) run on the same images: PNG (optimised), WebP lossless, WebP
(method 6) and JPEG (baseline and optimised) at a ladder of qualities.

The target (issue 7): at every PSNR from 25 to 35 dB our codec needs at most half the
bytes WebP needs, both curves interpolated linearly between measured points.

Trained codecs are cached in ``benchmarks/.cache/compression/`` (not committed); results
go to ``benchmarks/results/compression.{json,md,png}`` (``compression-faces.*`` for the
faces). Usage::

    AUTOENCODERS_DATA=../shared/datasets nice -n 10 python benchmarks/compression.py
    AUTOENCODERS_DATA=../shared/datasets python benchmarks/compression.py --data faces \
        --threads 2 --n-full 0
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import io
import json
import time
from pathlib import Path

import numpy as np
import torch
from _common import REPO, RESULTS, command_line, data_dir, machine, write_results
from matplotlib.figure import Figure
from PIL import Image

from autoencoders.compression import ImageCodec
from autoencoders.compression.bitstream import MODEL_ID_BYTES
from autoencoders.data import load_dataset
from autoencoders.data.image_folder import read_image_folder

CACHE = REPO / "benchmarks" / ".cache" / "compression"
BASE_LAMBDA = 0.03
LAMBDAS = (0.0003, 0.0008, 0.002, 0.006, 0.015, 0.03, 0.08, 0.2, 0.4)
WEBP_QUALITIES = (0, 5, 10, 15, 20, 30, 40, 50, 60, 75, 90)
JPEG_QUALITIES = (5, 10, 20, 30, 50, 75, 90)
TARGET_RANGE = (25.0, 35.0)
TARGET_RATIO = 0.5
HEADER_BYTES = 2 + 1 + MODEL_ID_BYTES + 4  # magic, format version, model id, CRC-32


def psnr(decoded: np.ndarray, original: np.ndarray) -> np.ndarray:
    """PSNR of each image in dB (peak 255); the mean of these is what we report."""
    mse = ((decoded.astype(np.float64) - original) ** 2).reshape(len(original), -1).mean(1)
    return 10 * np.log10(255**2 / np.maximum(mse, 1e-10))


def pillow_codec(images: np.ndarray, fmt: str, **options) -> dict:
    """Mean file size and PSNR of Pillow's ``fmt`` on gray images (n, H, W)."""
    sizes, decoded = [], []
    for image in images:
        buffer = io.BytesIO()
        Image.fromarray(image).save(buffer, format=fmt, **options)
        sizes.append(buffer.tell())
        decoded.append(np.asarray(Image.open(io.BytesIO(buffer.getvalue())).convert("L")))
    values = psnr(np.stack(decoded), images)
    lossless = bool(np.isinf(values).all() or (values >= 100).all())
    return {
        "bytes_per_image": float(np.mean(sizes)),
        "psnr": None if lossless else float(values.mean()),
        "lossless": lossless,
    }


def baselines(images: np.ndarray) -> dict:
    gray = images[:, 0]
    return {
        "png": pillow_codec(gray, "PNG", optimize=True),
        "webp_lossless": pillow_codec(gray, "WEBP", lossless=True, quality=100, method=6),
        "webp": {q: pillow_codec(gray, "WEBP", quality=q, method=6) for q in WEBP_QUALITIES},
        "jpeg": {q: pillow_codec(gray, "JPEG", quality=q) for q in JPEG_QUALITIES},
        "jpeg_optimized": {
            q: pillow_codec(gray, "JPEG", quality=q, optimize=True) for q in JPEG_QUALITIES
        },
    }


def measure(codec: ImageCodec, images: np.ndarray) -> dict:
    """Real files, one per image: mean size, PSNR of the decoded pixels, exactness."""
    files = [codec.encode_bytes(image[None]) for image in images]
    decoded = np.concatenate([codec.decode_bytes(data) for data in files])
    archive = codec.encode_bytes(images)
    return {
        "n_images": len(images),
        "bytes_per_image": float(np.mean([len(data) for data in files])),
        "archive_bytes_per_image": len(archive) / len(images),
        "psnr": float(psnr(decoded, images).mean()),
        "round_trip_exact": bool(np.array_equal(decoded, codec.reconstruct(images))),
        "archive_exact": bool(np.array_equal(codec.decode_bytes(archive), decoded)),
    }


def trained(codec: ImageCodec, X: np.ndarray, name: str, settings: dict) -> ImageCodec:
    """Fit ``codec`` (or load the cached result of the very same fit)."""
    digest = hashlib.sha256(json.dumps(settings, sort_keys=True).encode())
    for source in sorted((REPO / "src/autoencoders/compression").glob("*.py")):
        digest.update(source.read_bytes())  # a changed codec is retrained, never reused
    key = digest.hexdigest()[:12]
    folder = CACHE / f"{name}-{key}"
    if (folder / "model.safetensors").exists():
        print(f"{name}: cached in {folder}", flush=True)
        return ImageCodec.load(folder)
    started = time.perf_counter()
    codec.fit(X)
    print(f"{name}: trained in {time.perf_counter() - started:.0f} s", flush=True)
    codec.save(folder)
    return codec


def images_of(data: str, folder: Path) -> tuple[np.ndarray, np.ndarray]:
    """uint8 (n, 1, H, W) training and test images: MNIST's, or the faces' seeded split
    (the one ``benchmarks/photos.py`` holds out)."""
    if data == "mnist":
        train = load_dataset("mnist", "train", data_dir=folder).X
        return train, load_dataset("mnist", "test", data_dir=folder).X
    faces = np.round(read_image_folder(folder / "smiles")[0] * 255).astype(np.uint8)
    order = np.random.default_rng(0).permutation(len(faces))
    return faces[order[len(faces) // 10 :]], faces[order[: len(faces) // 10]]


def train_family(X: np.ndarray, args) -> dict[float, ImageCodec]:
    common = {"epochs": args.base_epochs, "random_state": args.seed, "verbose": 1}
    base_settings = {"lmbda": BASE_LAMBDA, **common, "n": len(X), "shape": list(X.shape)}
    prefix = "" if args.data == "mnist" else f"{args.data}-"  # the cache's folder names
    base = trained(ImageCodec(BASE_LAMBDA, **common), X, f"{prefix}base", base_settings)
    family = {}
    for lmbda in args.lambdas:
        codec = copy.deepcopy(base)
        codec.set_params(lmbda=lmbda, epochs=args.finetune_epochs, warm_start=True)
        settings = {"base": base_settings, "lmbda": lmbda, "epochs": args.finetune_epochs}
        family[lmbda] = trained(codec, X, f"{prefix}lambda-{lmbda:g}", settings)
    return family


def curve(points: list[dict]) -> tuple[np.ndarray, np.ndarray]:
    """(PSNR, bytes) sorted by PSNR, with bytes made non-decreasing (the lower envelope
    from above: a codec can always spend more bytes for the same quality)."""
    points = sorted((p["psnr"], p["bytes_per_image"]) for p in points)
    quality, size = np.array(points).T
    return quality, np.minimum.accumulate(size[::-1])[::-1]


def target_check(ours: list[dict], webp: list[dict]) -> dict:
    grid = np.linspace(*TARGET_RANGE, 41)
    our_q, our_b = curve(ours)
    webp_q, webp_b = curve(webp)
    covered = our_q.min() <= grid[0] and our_q.max() >= grid[-1]
    ratio = np.interp(grid, our_q, our_b) / np.interp(grid, webp_q, webp_b)
    return {
        "psnr_grid": grid.round(2).tolist(),
        "ratio_to_webp": ratio.round(4).tolist(),
        "max_ratio": float(ratio.max()),
        "our_curve_covers_range": bool(covered),
        "webp_curve_covers_range": bool(webp_q.min() <= grid[0] and webp_q.max() >= grid[-1]),
        "met": bool(covered and ratio.max() <= TARGET_RATIO),
    }


def plot(results: dict, path: Path) -> None:
    figure = Figure(figsize=(8, 5.5), layout="constrained")
    ax = figure.add_subplot()
    base = results["baselines"]
    ours = results["ours"]
    lambdas = sorted(ours, key=lambda k: ours[k]["psnr"])
    webp = sorted(base["webp"].values(), key=lambda p: p["psnr"])
    ax.plot(
        [ours[k]["bytes_per_image"] for k in lambdas],
        [ours[k]["psnr"] for k in lambdas],
        "o-",
        color="C3",
        lw=2,
        label="ours, one file per image (header included)",
    )
    for i, k in enumerate(lambdas):  # labels alternate below-right and above-left
        ax.annotate(
            f"λ={float(k):g}",
            (ours[k]["bytes_per_image"], ours[k]["psnr"]),
            textcoords="offset points",
            xytext=(6, -10) if i % 2 == 0 else (-6, 6),
            ha="left" if i % 2 == 0 else "right",
            fontsize=8,
            color="C3",
        )
    ax.plot(
        [ours[k]["archive_bytes_per_image"] for k in lambdas],
        [ours[k]["psnr"] for k in lambdas],
        ".--",
        color="C3",
        alpha=0.6,
        label=f"ours, one archive for all {results['n_images']}",
    )
    ax.plot(
        [p["bytes_per_image"] for p in webp], [p["psnr"] for p in webp], "s-", color="C0",
        label="WebP (method 6, q 0–90)",
    )  # fmt: skip
    ax.plot(
        [TARGET_RATIO * p["bytes_per_image"] for p in webp],
        [p["psnr"] for p in webp],
        ":",
        color="C0",
        label="target: half of WebP's bytes",
    )
    for name, colour, label in (
        ("jpeg", "C1", "JPEG (Pillow default, q 5–90)"),
        ("jpeg_optimized", "C2", "JPEG optimised (q 5–90)"),
    ):
        points = sorted(base[name].values(), key=lambda p: p["psnr"])
        ax.plot(
            [p["bytes_per_image"] for p in points],
            [p["psnr"] for p in points],
            "^-",
            color=colour,
            label=label,
        )
    for name, style, label, height in (
        ("png", "-.", "PNG optimised, lossless", 23.5),
        ("webp_lossless", "--", "WebP lossless", 21),
    ):
        ax.axvline(base[name]["bytes_per_image"], color="0.4", ls=style, lw=1)
        ax.annotate(
            f"{label}\n{base[name]['bytes_per_image']:.0f} B",
            (base[name]["bytes_per_image"], height),
            textcoords="offset points",
            xytext=(4, 0),
            fontsize=8,
            color="0.3",
        )
    ax.axhspan(*TARGET_RANGE, color="0.9", zorder=0, label="target PSNR range")
    raw = results["pixels_per_image"]
    ax.axvline(raw, color="0.7", lw=1)
    # At the top, clear of the lossless codecs' labels (near the raw size on photographs).
    ax.annotate(f"raw {raw} B", (raw, 43), textcoords="offset points", xytext=(-48, 0), fontsize=8)
    ax.set_xscale("log")
    ax.set_xlim(10, 1.3 * raw)
    ax.set_ylim(20, 45)
    ax.set_xlabel("bytes per image (log scale)")
    ax.set_ylabel("PSNR (dB), mean over images")
    data = "faces" if results["data"] == "faces" else "MNIST"
    ax.set_title(f"{data} test images (first {results['n_images']}): rate–distortion")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8, loc="upper left")
    figure.savefig(path, dpi=120)


def table(results: dict) -> str:
    base, ours, check = results["baselines"], results["ours"], results["target"]
    data = "faces" if results["data"] == "faces" else "MNIST"
    lines = [
        f"# Learned image compression on {data} vs PNG, WebP and JPEG",
        "",
        f"Machine: {results['machine']['cpu']}, {results['machine']['cores']} cores (shared with "
        f"other jobs), torch {results['machine']['torch']}, {results['threads']} training "
        f"thread(s). Command: `{results['command']}`.",
        "",
        f"First {results['n_images']} {data} test images. Bytes are real files, one per image: "
        f"our files include the whole {HEADER_BYTES}-byte header (magic 2, version 1, model "
        f"id {MODEL_ID_BYTES}, CRC-32 4) in every file; the archive column "
        "shares one header (plus the image count) among all the images. PSNR is the mean of each "
        "image's PSNR (peak 255) after decoding to 8 bits. Every decoded file equalled the "
        "codec's quantised forward pass bit for bit: "
        f"{all(r['round_trip_exact'] and r['archive_exact'] for r in ours.values())}.",
        "",
        f"Training: a base codec at λ = {BASE_LAMBDA} for {results['base_epochs']} epochs on "
        f"the {results['n_train']} training images, then each λ fine-tuned from it for "
        f"{results['finetune_epochs']} epochs (batch 64, Adam 1e-3, cosine).",
        "",
        "## Our codec",
        "",
        "| λ | bytes/image (file) | bytes/image (archive) | PSNR (dB) |"
        + (f" all {results['n_full']} test images: bytes / PSNR |" if results["n_full"] else ""),
        "|---:|---:|---:|---:|" + ("---:|" if results["n_full"] else ""),
    ]
    for k in sorted(ours, key=lambda k: float(k)):
        r, full = ours[k], results["ours_full"].get(k)
        full_text = f" {full['bytes_per_image']:.1f} / {full['psnr']:.2f} |" if full else ""
        lines.append(
            f"| {float(k):g} | {r['bytes_per_image']:.1f} | {r['archive_bytes_per_image']:.1f} "
            f"| {r['psnr']:.2f} |{full_text}"
        )
    lines += [
        "",
        "## Classical codecs (Pillow)",
        "",
        "| codec | bytes/image | PSNR (dB) |",
        "|---|---:|---:|",
        f"| raw | {results['pixels_per_image']} | lossless |",
        f"| PNG (optimize) | {base['png']['bytes_per_image']:.1f} | lossless |",
        f"| WebP lossless (method 6) | {base['webp_lossless']['bytes_per_image']:.1f} | lossless |",
    ]
    for name, label in (("webp", "WebP"), ("jpeg", "JPEG"), ("jpeg_optimized", "JPEG optimised")):
        for q, r in base[name].items():
            lines.append(f"| {label} q{q} | {r['bytes_per_image']:.1f} | {r['psnr']:.2f} |")
    worst = int(np.argmax(check["ratio_to_webp"]))
    lines += [
        "",
        "## Target: at most half of WebP's bytes at every PSNR from 25 to 35 dB",
        "",
        "| PSNR (dB) | " + " | ".join(f"{p:g}" for p in check["psnr_grid"][::4]) + " |",
        "|---|" + "---:|" * len(check["psnr_grid"][::4]),
        "| our bytes / WebP's | "
        + " | ".join(f"{r:.2f}" for r in check["ratio_to_webp"][::4])
        + " |",
        "",
        f"Largest ratio {check['max_ratio']:.3f} at {check['psnr_grid'][worst]:g} dB; "
        f"our curve covers 25–35 dB: {check['our_curve_covers_range']}. "
        f"**Target met: {check['met']}.**",
        "",
        "![rate–distortion](compression.png)",
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", choices=("mnist", "faces"), default="mnist")
    parser.add_argument("--data-dir", help="folder with mnist/, smiles/ (else $AUTOENCODERS_DATA)")
    parser.add_argument("--lambdas", type=float, nargs="+", default=list(LAMBDAS))
    parser.add_argument("--base-epochs", type=int, default=16)
    parser.add_argument("--finetune-epochs", type=int, default=4)
    parser.add_argument("--n-images", type=int, default=500)
    parser.add_argument("--n-full", type=int, default=10_000, help="0 skips the full test set")
    parser.add_argument("--threads", type=int, default=1, help="torch threads for training")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    train, test = images_of(args.data, data_dir(args.data_dir))
    images = test[: args.n_images]
    family = train_family(train, args)
    results = {
        "command": command_line("benchmarks/compression.py", args.data_dir),
        "machine": machine(),
        "data": args.data,
        "n_train": len(train),
        "pixels_per_image": int(np.prod(images.shape[1:])),
        "threads": args.threads,
        "n_images": len(images),
        "n_full": args.n_full,
        "header_bytes_per_file": HEADER_BYTES,
        "base_lambda": BASE_LAMBDA,
        "base_epochs": args.base_epochs,
        "finetune_epochs": args.finetune_epochs,
        "baselines": baselines(images),
        "ours": {},
        "ours_full": {},
    }
    for lmbda, codec in family.items():
        results["ours"][f"{lmbda:g}"] = measure(codec, images) | {"model_id": codec.model_id_}
        print(f"λ={lmbda:g}: {results['ours'][f'{lmbda:g}']}", flush=True)
        if args.n_full:
            full = test[: args.n_full]
            sizes = [len(codec.encode_bytes(image[None])) for image in full]
            results["ours_full"][f"{lmbda:g}"] = {
                "bytes_per_image": float(np.mean(sizes)),
                "psnr": float(psnr(codec.reconstruct(full), full).mean()),
            }
    results["target"] = target_check(
        list(results["ours"].values()), list(results["baselines"]["webp"].values())
    )
    name = "compression" if args.data == "mnist" else f"compression-{args.data}"
    RESULTS.mkdir(parents=True, exist_ok=True)
    plot(results, RESULTS / f"{name}.png")
    write_results(name, results, table(results).replace("compression.png", f"{name}.png"))


if __name__ == "__main__":
    main()
