"""Walking the latent space: interpolations, traversals, attribute vectors, the 2-D manifold.

Every function works on a fitted :class:`~autoencoders.AutoEncoder` through
its public encoder (``transform``) and decoder (``inverse_transform``), so the same
tools apply to any model; variational models make the walks meaningful, since their
prior says where codes live. Drawing from the prior is :meth:`VariationalAutoEncoder.sample`.
"""

from __future__ import annotations

import numpy as np
import torch

from autoencoders.errors import DataError, ParameterError
from autoencoders.estimators import BaseAutoEncoder, VariationalAutoEncoder

INTERPOLATIONS = ("linear", "slerp")
# Chosen on validation faces: narrower regions score higher with the smile judge, but
# from 0.99 on they paste a mouth onto the face instead of moving its corners and cheeks.
REGION_QUANTILE = 0.97


def interpolate(
    estimator: BaseAutoEncoder, a, b, *, steps: int = 10, method: str = "linear"
) -> np.ndarray:
    """Decode ``steps`` codes on the path from the code of ``a`` to the code of ``b``.

    ``slerp`` follows the great circle between the two codes (White, 2016, "Sampling
    generative networks"), which keeps the codes at the norm typical of a Gaussian
    prior, where a straight line passes through its unlikely centre.
    """
    if method not in INTERPOLATIONS:
        raise ParameterError(f"unknown interpolation {method!r}; use one of {INTERPOLATIONS}")
    if steps < 2:
        raise ParameterError(f"steps must be at least 2, got {steps}")
    codes = estimator.transform(np.stack([np.asarray(a), np.asarray(b)]))
    t = np.linspace(0.0, 1.0, steps)[:, None]
    start, end = codes[0], codes[1]
    if method == "linear":
        path = (1 - t) * start + t * end
    else:
        cos = np.dot(start, end) / (np.linalg.norm(start) * np.linalg.norm(end) + 1e-12)
        omega = np.arccos(np.clip(cos, -1.0, 1.0))
        if omega < 1e-6:  # (anti)parallel codes: the circle is undefined, the line is fine
            path = (1 - t) * start + t * end
        else:
            path = (np.sin((1 - t) * omega) * start + np.sin(t * omega) * end) / np.sin(omega)
    return estimator.inverse_transform(path.astype(np.float32))


def traverse(
    estimator: BaseAutoEncoder,
    x,
    *,
    units: list[int] | None = None,
    span: float = 3.0,
    steps: int = 9,
) -> np.ndarray:
    """Vary one code unit at a time around the code of ``x``: ``(units, steps, *shape)``.

    Unit j takes ``steps`` values from code_j − span to code_j + span (for a VAE, in
    prior standard deviations), the others stay fixed: what each unit controls.
    """
    code = estimator.transform(np.asarray(x)[None])[0]
    units = list(range(len(code))) if units is None else list(units)
    bad = [u for u in units if not 0 <= u < len(code)]
    if bad:
        raise ParameterError(f"code unit {bad[0]} does not exist; the code has {len(code)} units")
    offsets = np.linspace(-span, span, steps)
    codes = np.repeat(code[None, None], len(units), 0).repeat(steps, 1)
    for row, unit in enumerate(units):
        codes[row, :, unit] += offsets
    decoded = estimator.inverse_transform(codes.reshape(-1, len(code)).astype(np.float32))
    return decoded.reshape(len(units), steps, *decoded.shape[1:])


def attribute_vector(
    estimator: BaseAutoEncoder, without, with_, *, focus: float = 0.0
) -> np.ndarray:
    """Mean code of the ``with_`` group minus mean code of the ``without`` group.

    Added to any code, it moves that input toward the attribute the second group has
    (the "non-smiling to smiling" arithmetic of Larsen et al., 2016, and White, 2016).
    ``focus`` > 0 weights each code element by its effect size ``|Δμ / σ|**focus`` (σ
    the groups' pooled standard deviation) and rescales the vector to the plain one's
    length: the move goes into the elements that tell the groups apart (the mouth, on a
    spatial face code) and leaves the rest of the input alone. 0 is the plain difference.
    """
    if not np.isfinite(focus) or focus < 0:
        raise ParameterError(f"focus must be a number ≥ 0, got {focus!r}")
    for name, group in (("without", without), ("with", with_)):
        if len(group) == 0:
            raise DataError(f"the {name!r} group is empty; give it at least one sample")
    a, b = estimator.transform(without), estimator.transform(with_)
    vector = b.mean(0) - a.mean(0)
    if focus == 0:
        return vector
    pooled = np.sqrt((a.var(0) * len(a) + b.var(0) * len(b)) / (len(a) + len(b)))
    effect = np.abs(vector) / np.maximum(pooled, np.finfo(np.float32).tiny)
    focused = vector * effect**focus
    norm = np.linalg.norm(focused)
    return (focused * (np.linalg.norm(vector) / norm if norm > 0 else 0.0)).astype(vector.dtype)


def attribute_region(without, with_, *, quantile: float = REGION_QUANTILE) -> np.ndarray:
    """Where the two groups' mean inputs differ: weights in [0, 1] of one input's shape.

    ``|mean(with_) − mean(without)|`` divided by its ``quantile`` and clipped at 1: the
    pixels that tell the groups apart most (the mouth, for smiling) get 1, the others
    fall smoothly toward 0. Given to :func:`shift`, it keeps the decoded change there and
    the rest of the input as its unmoved reconstruction: a fixed spatial attention mask,
    the idea of SaGAN (Zhang et al., 2018), learned here from the two groups alone.
    """
    if not 0 < quantile <= 1:
        raise ParameterError(f"quantile must be in (0, 1], got {quantile!r}")
    for name, group in (("without", without), ("with", with_)):
        if len(group) == 0:
            raise DataError(f"the {name!r} group is empty; give it at least one sample")
    difference = np.abs(np.mean(with_, 0, dtype=np.float64) - np.mean(without, 0, dtype=np.float64))
    scale = np.quantile(difference, quantile)
    if scale <= 0:
        raise DataError("the two groups' mean inputs are the same: there is no region to keep")
    return np.clip(difference / scale, 0, 1).astype(np.float32)


def shift(
    estimator: BaseAutoEncoder,
    X,
    vector: np.ndarray,
    *,
    strength: float = 1.0,
    region: np.ndarray | None = None,
) -> np.ndarray:
    """Decode the codes of ``X`` moved by ``strength`` × ``vector``.

    With a ``region`` (see :func:`attribute_region`) the output is the unmoved
    reconstruction plus ``region`` × the change the move decodes to.
    """
    codes = estimator.transform(X)
    if vector.shape != codes.shape[1:]:
        raise DataError(f"vector has shape {vector.shape}; the codes have {codes.shape[1:]}")
    moved = estimator.inverse_transform((codes + strength * vector).astype(np.float32))
    if region is None:
        return moved
    if region.shape != moved.shape[1:]:
        raise DataError(f"region has shape {region.shape}; the outputs have {moved.shape[1:]}")
    unmoved = estimator.inverse_transform(codes)
    return unmoved + region * (moved - unmoved)


def manifold(estimator: BaseAutoEncoder, *, n: int = 20, extent: float | None = None) -> np.ndarray:
    """Decode an n × n grid over a 2-D latent plane: ``(n, n, *shape)``.

    For a VAE the grid follows the prior's quantiles from 5% to 95% in each unit (the
    classic figure of Kingma & Welling, 2014); for other models it spans ±``extent``
    (required there, since nothing says where their codes live). Rows go from high to
    low in the second unit, so the figure reads like a plot.
    """
    size = int(np.prod(estimator.code_shape_))
    if size != 2:
        raise ParameterError(f"the manifold needs a 2-D code; this model's code has {size} units")
    if extent is None:
        if not isinstance(estimator, VariationalAutoEncoder):
            raise ParameterError("give the plane's extent for a non-variational model")
        axis = torch.special.ndtri(torch.linspace(0.05, 0.95, n, dtype=torch.float64)).numpy()
    else:
        axis = np.linspace(-extent, extent, n)
    h1, h2 = np.meshgrid(axis, axis[::-1])
    codes = np.stack([h1.ravel(), h2.ravel()], 1).astype(np.float32)
    decoded = estimator.inverse_transform(codes)
    return decoded.reshape(n, n, *decoded.shape[1:])
