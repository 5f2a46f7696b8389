"""The classical denoisers of benchmarks/denoise.py, and the one scorer of every method.

Runs in benchmarks/.venv-denoise (scikit-image, bm3d). Reads an ``.npz`` with ``clean``
and ``noisy`` test images (n, 28, 28) in [0, 1], ``val_clean`` / ``val_noisy`` images to
tune on, and any number of ``out_<name>`` arrays (the outputs of other denoisers).
Non-local means (scikit-image) and BM3D (Mäkinen et al.'s ``bm3d`` package) each get
the noise level σ that gives the best PSNR on the validation images. Every method, the
noisy input included, is scored here with scikit-image's PSNR and SSIM, image by image,
then averaged. Prints one JSON object.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import time

import bm3d
import numpy as np
from skimage.metrics import peak_signal_noise_ratio, structural_similarity
from skimage.restoration import denoise_nl_means

SIGMAS = (0.2, 0.3, 0.4, 0.5, 0.6)  # the added noise has σ = 0.5 before clipping


def nl_means(image: np.ndarray, sigma: float) -> np.ndarray:
    """scikit-image's recommended setting for its fast mode: h = 0.8 σ."""
    return denoise_nl_means(
        image, h=0.8 * sigma, sigma=sigma, patch_size=5, patch_distance=6, fast_mode=True
    )


def bm3d_denoise(image: np.ndarray, sigma: float) -> np.ndarray:
    return np.asarray(bm3d.bm3d(image, sigma_psd=sigma), dtype=np.float64)


METHODS = {"nl_means": nl_means, "bm3d": bm3d_denoise}


def scores(outputs: np.ndarray, clean: np.ndarray) -> dict[str, float]:
    outputs = np.clip(outputs.astype(np.float64), 0, 1)
    clean = clean.astype(np.float64)
    psnr = [
        peak_signal_noise_ratio(c, o, data_range=1.0) for c, o in zip(clean, outputs, strict=True)
    ]
    ssim = [
        structural_similarity(c, o, data_range=1.0) for c, o in zip(clean, outputs, strict=True)
    ]
    return {"psnr": float(np.mean(psnr)), "ssim": float(np.mean(ssim))}


def main() -> None:
    options = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    options.add_argument("images", help="the .npz written by benchmarks/denoise.py")
    data = np.load(options.parse_args().images)
    clean, noisy = data["clean"], data["noisy"]
    results = {"noisy input": scores(noisy, clean)}
    for name, denoise in METHODS.items():
        tuning = {
            sigma: scores(
                np.stack([denoise(x, sigma) for x in data["val_noisy"]]), data["val_clean"]
            )
            for sigma in SIGMAS
        }
        sigma = max(tuning, key=lambda s: tuning[s]["psnr"])
        started = time.perf_counter()
        outputs = np.stack([denoise(x, sigma) for x in noisy])
        seconds = time.perf_counter() - started
        results[name] = scores(outputs, clean) | {
            "sigma": sigma,
            "validation_psnr_by_sigma": {str(s): t["psnr"] for s, t in tuning.items()},
            "seconds": seconds,
        }
    for key in data.files:
        if key.startswith("out_"):
            results[key.removeprefix("out_")] = scores(data[key], clean)
    versions = {p: importlib.metadata.version(p) for p in ("scikit-image", "bm3d", "numpy")}
    print(json.dumps({"versions": versions, "results": results}), flush=True)


if __name__ == "__main__":
    main()
