"""The latent-space explorer: one self-contained HTML page (plain JS and canvas, no CDN).

The page plots a data set's codes in a plane of the latent space: the code itself when
it has two values, else the plane of its two principal components through the codes'
mean. The plane maps back to codes (``origin + p · axes``), so any point of it can be
decoded: the server decodes clicks exactly (``POST /decode``); a static page, with no
server, shows the nearest of a precomputed grid of decodings instead and cannot encode
new drawings.
"""

from __future__ import annotations

import base64
import io
import json
import math
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np
from PIL import Image
from sklearn.decomposition import PCA

from autoencoders.data import Dataset
from autoencoders.errors import DataError
from autoencoders.estimators import VariationalAutoEncoder
from autoencoders.files import atomic_write_bytes
from autoencoders.serving.service import AnomalyScore

POINTS = 1000  # samples plotted: enough to see the clusters, small enough for a light page
GRID = 20  # decodings per side of the static page's precomputed manifold
MARGIN = 0.05  # the plane's bounds extend this fraction beyond the points


@dataclass(frozen=True)
class LatentPlane:
    """A 2-D affine plane in code space: ``code = origin + p @ axes``."""

    origin: np.ndarray  # (k,)
    axes: np.ndarray  # (2, k), orthonormal rows

    @classmethod
    def fit(cls, codes: np.ndarray) -> LatentPlane:
        """The code's own axes for a 2-D code, else the top two principal components."""
        k = codes.shape[1]
        if k < 2:
            raise DataError("the explorer needs a code of at least 2 values; this one has 1")
        if k == 2:
            return cls(np.zeros(2), np.eye(2))
        pca = PCA(n_components=2, random_state=0).fit(codes.astype(np.float64))
        return cls(pca.mean_, pca.components_)

    def project(self, codes: np.ndarray) -> np.ndarray:
        return (codes - self.origin) @ self.axes.T

    def lift(self, points: np.ndarray) -> np.ndarray:
        return self.origin + points @ self.axes


def explorer_data(
    estimator,
    data: Dataset,
    anomaly: AnomalyScore,
    *,
    live: bool,
    points: int = POINTS,
    grid: int = GRID,
    random_state: int = 0,
) -> dict:
    """Everything the page shows, as JSON-ready values (images as PNG data URLs)."""
    shape = tuple(estimator.input_shape_)
    if not (len(shape) == 3 and shape[0] in (1, 3) and estimator.output_shape_ == shape):
        raise DataError(
            f"the explorer shows image models (gray or RGB, reconstructing their input); "
            f"this one maps {shape} to {tuple(estimator.output_shape_)}"
        )
    rng = np.random.default_rng(random_state)
    chosen = np.sort(rng.permutation(len(data.X))[:points])
    X = data.X[chosen]
    codes = estimator.transform(X).astype(np.float64)
    plane = LatentPlane.fit(codes)
    xy = plane.project(codes)
    low, high = xy.min(axis=0), xy.max(axis=0)
    pad = np.maximum((high - low) * MARGIN, 1e-3)
    bounds = [low[0] - pad[0], high[0] + pad[0], low[1] - pad[1], high[1] + pad[1]]
    # The static page's manifold: the decoding at the centre of each cell, rows top to bottom.
    u = np.linspace(bounds[0], bounds[1], grid * 2 + 1)[1::2]
    v = np.linspace(bounds[3], bounds[2], grid * 2 + 1)[1::2]
    cells = np.stack(np.meshgrid(u, v), axis=-1).reshape(-1, 2)
    decoded = estimator.inverse_transform(plane.lift(cells).astype(np.float32))
    labels = None if data.y is None else data.y[chosen].tolist()
    return {
        "live": live,
        "model": estimator.model_config_.model,
        "data": data.name,
        "image_shape": list(shape),
        "variational": isinstance(estimator, VariationalAutoEncoder),
        "points": np.round(xy, 5).tolist(),
        "labels": labels,
        "class_names": list(data.class_names) if data.class_names else None,
        "scores": np.round(anomaly.score(X), 6).tolist(),
        "threshold": anomaly.threshold,
        "threshold_source": anomaly.source,
        "plane": {
            "origin": plane.origin.tolist(),
            "axes": plane.axes.tolist(),
            "exact": codes.shape[1] == 2,
            "bounds": [float(b) for b in bounds],
        },
        "grid": grid,
        "sprites": {
            "originals": _sprite(estimator.input_scaler_.transform(X)),
            "reconstructions": _sprite(estimator.target_scaler_.transform(estimator.predict(X))),
            "grid": _sprite(estimator.target_scaler_.transform(decoded), columns=grid),
        },
    }


def render_explorer(data: dict) -> str:
    """The page with its script and data inlined: one file that works offline."""
    static = resources.files("autoencoders.serving") / "static"
    page = (static / "explorer.html").read_text(encoding="utf-8")
    script = (static / "explorer.js").read_text(encoding="utf-8")
    payload = json.dumps(data, separators=(",", ":")).replace("</", "<\\/")
    return page.replace("/*EXPLORER_SCRIPT*/", script).replace("/*EXPLORER_DATA*/null", payload)


def write_explorer(estimator, data: Dataset, anomaly: AnomalyScore, path: str | Path) -> Path:
    """Write the static page (no server needed) to ``path``."""
    path = Path(path)
    html = render_explorer(explorer_data(estimator, data, anomaly, live=False))
    atomic_write_bytes(path, html.encode("utf-8"))
    return path


def _sprite(images01: np.ndarray, columns: int | None = None) -> dict:
    """Images in [0, 1], (n, C, H, W), as one PNG sheet of ``columns`` (a data URL)."""
    images01 = images01[:, None] if images01.ndim == 3 else images01
    n, channels, height, width = images01.shape
    columns = columns or math.ceil(math.sqrt(n))
    rows = math.ceil(n / columns)
    sheet = np.zeros((channels, rows * height, columns * width), dtype=np.uint8)
    pixels = np.rint(np.clip(images01, 0, 1) * 255).astype(np.uint8)
    for i, image in enumerate(pixels):
        r, c = divmod(i, columns)
        sheet[:, r * height : (r + 1) * height, c * width : (c + 1) * width] = image
    picture = Image.fromarray(sheet[0] if channels == 1 else sheet.transpose(1, 2, 0))
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG", optimize=True)
    url = "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")
    return {"url": url, "columns": columns}
