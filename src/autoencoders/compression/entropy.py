"""The learned priors of the quantised codes, and their integer coding tables.

* :class:`FactorizedPrior`: one learned density per element of the global code z
  (Ballé et al., 2018, appendix 6.1; CompressAI's ``EntropyBottleneck``). Each
  cumulative distribution is a small monotone network ``c(z)``; the probability of an
  integer ``k`` is ``c(k + ½) − c(k − ½)``, which is also the density of ``z + u``,
  ``u ~ U(−½, ½)``, that training sees.
* :class:`GaussianConditional`: the spatial code's residual ``y − μ`` under
  ``N(0, σ²) ⊛ U(−½, ½)``, with μ and σ predicted from ẑ (Ballé et al., 2018).

Coding never evaluates these densities: both are turned into integer tables once
(the factorised one after training, the Gaussian ones for a fixed ladder of scales),
saved with the weights, and the encoder and the decoder read the same integers.
"""

from __future__ import annotations

import copy
import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

LIKELIHOOD_BOUND = 1e-9  # a likelihood floor: at most ~30 bits for one value
TAIL_MASS = 1e-9  # probability left outside a table's range, on each side
TABLE_TOTAL = 2**20  # integer tables sum to about this
SEARCH_RANGE = 512  # |z| the factorised table builder looks at


class FactorizedPrior(nn.Module):
    """``channels`` independent learned densities, each a monotone CDF network.

    The network maps a value to the logit of its CDF through layers of widths
    ``(1, *filters, 1)``: softplus-positive matrices keep it increasing, and each hidden
    layer adds ``tanh(a)·tanh(h)`` with ``|tanh(a)| < 1``, which keeps it increasing too.
    ``table_low`` / ``table_counts`` are its coding tables (see :meth:`update_tables`).
    """

    def __init__(self, channels: int, filters: tuple[int, ...] = (3, 3, 3), init_scale=10.0):
        super().__init__()
        self.channels = channels
        widths = (1, *filters, 1)
        scale = init_scale ** (1 / (len(widths) - 1))
        self.matrices = nn.ParameterList()
        self.biases = nn.ParameterList()
        self.factors = nn.ParameterList()
        for i in range(len(widths) - 1):
            n_in, n_out = widths[i], widths[i + 1]
            init = math.log(math.expm1(1 / scale / n_out))
            self.matrices.append(nn.Parameter(torch.full((channels, n_out, n_in), init)))
            self.biases.append(nn.Parameter(torch.rand(channels, n_out, 1) - 0.5))
            if i < len(widths) - 2:
                self.factors.append(nn.Parameter(torch.zeros(channels, n_out, 1)))
        self.register_buffer("table_low", torch.zeros(channels, dtype=torch.int32))
        self.register_buffer("table_counts", torch.ones(channels, 1, dtype=torch.int32))

    def cdf_logits(self, values: Tensor) -> Tensor:
        """The CDF's logit at ``values`` of shape (channels, n)."""
        h = values.unsqueeze(1)  # (C, 1, n)
        for i, (matrix, bias) in enumerate(zip(self.matrices, self.biases, strict=True)):
            h = torch.matmul(F.softplus(matrix), h) + bias
            if i < len(self.factors):
                h = h + torch.tanh(self.factors[i]) * torch.tanh(h)
        return h.squeeze(1)

    def likelihood(self, values: Tensor) -> Tensor:
        """P(value rounds to the integer bin around it): (channels, n) → (channels, n)."""
        lower = self.cdf_logits(values - 0.5)
        upper = self.cdf_logits(values + 0.5)
        # Subtract in the tail where the CDF is small (its complement, if both are > ½),
        # so that far-out values keep their precision.
        sign = -torch.sign(lower + upper).detach()
        p = torch.abs(torch.sigmoid(sign * upper) - torch.sigmoid(sign * lower))
        return p.clamp_min(LIKELIHOOD_BOUND)

    @torch.no_grad()
    def update_tables(self) -> None:
        """Set the integer tables from the learned densities (after training).

        Channel ``c`` codes integers in ``[low[c], low[c] + L_c)``, with probabilities
        proportional to ``table_counts[c, :L_c]`` (zero past it). Values outside are
        clipped to the range by the quantiser, so the edge bins carry the tail mass.
        Computed in float64 on the CPU for repeatability.
        """
        prior = copy.deepcopy(self).cpu().double()
        grid = torch.arange(-SEARCH_RANGE, SEARCH_RANGE + 1, dtype=torch.float64)
        lower = torch.sigmoid(prior.cdf_logits((grid - 0.5).expand(self.channels, -1)))
        upper = torch.sigmoid(prior.cdf_logits((grid + 0.5).expand(self.channels, -1)))
        first = ((lower < TAIL_MASS).sum(1) - 1).clamp(0, len(grid) - 1)  # P(z < low − ½) ≈ 0
        last = (len(grid) - (1 - upper < TAIL_MASS).sum(1)).clamp(0, len(grid) - 1)
        last = torch.maximum(last, first)
        counts = torch.zeros(self.channels, int((last - first).max()) + 1, dtype=torch.int32)
        for c in range(self.channels):
            a, b = int(first[c]), int(last[c])
            cdf = _pad_cdf(upper[c, a:b])  # P(z < k + ½) for k in [a, b)
            counts[c, : b - a + 1] = _integer_table(cdf.diff())
        self.table_low = grid[first].to(torch.int32).to(self.table_low.device)
        self.table_counts = counts.to(self.table_counts.device)

    def resize_tables(self, length: int) -> None:
        """Make room for saved tables of ``length`` columns before loading them."""
        self.table_counts = torch.zeros(self.channels, length, dtype=torch.int32)


class GaussianConditional(nn.Module):
    """``y − μ ~ N(0, σ²) ⊛ U(−½, ½)``, coded with the table of the next larger scale.

    The tables cover a ladder of ``levels`` scales, log-spaced over [scale_min, scale_max]
    (CompressAI's scale table); σ is clamped to that range in training too.
    """

    def __init__(self, scale_min: float = 0.11, scale_max: float = 64.0, levels: int = 64):
        super().__init__()
        self.scale_min, self.scale_max = scale_min, scale_max
        scales = torch.exp(
            torch.linspace(math.log(scale_min), math.log(scale_max), levels, dtype=torch.float64)
        )
        tail = -torch.special.ndtri(torch.tensor(TAIL_MASS, dtype=torch.float64))
        radius = torch.ceil(scales * tail).to(torch.int32)  # table i codes [−r_i, r_i]
        counts = torch.zeros(levels, 2 * int(radius.max()) + 1, dtype=torch.int32)
        for i, (scale, r) in enumerate(zip(scales, radius.tolist(), strict=True)):
            upper = torch.arange(-r, r, dtype=torch.float64) + 0.5
            cdf = _pad_cdf(_normal_cdf(upper / scale))
            counts[i, : 2 * r + 1] = _integer_table(cdf.diff())
        self.register_buffer("scales", scales.float())
        self.register_buffer("radius", radius)
        self.register_buffer("table_counts", counts)

    def likelihood(self, residual: Tensor, sigma: Tensor) -> Tensor:
        """P(residual's bin) under N(0, σ²) ⊛ U(−½, ½), computed on the side of the tail."""
        sigma = sigma.clamp(self.scale_min, self.scale_max)
        magnitude = residual.abs()
        p = _normal_cdf((0.5 - magnitude) / sigma) - _normal_cdf((-0.5 - magnitude) / sigma)
        return p.clamp_min(LIKELIHOOD_BOUND)

    def index(self, sigma: Tensor) -> Tensor:
        """The table of each σ: the smallest scale of the ladder not below it."""
        return torch.searchsorted(self.scales, sigma.contiguous()).clamp_max(len(self.scales) - 1)


def _normal_cdf(t: Tensor) -> Tensor:
    return 0.5 * torch.erfc(-t / math.sqrt(2))


def _pad_cdf(cdf: Tensor) -> Tensor:
    """0, the CDF at the inner bin edges, 1: the edge bins take the tails."""
    one = torch.ones(1, dtype=cdf.dtype)
    return torch.cat([0 * one, cdf, one])


def _integer_table(pmf: Tensor) -> Tensor:
    """Probabilities as positive integers summing to about TABLE_TOTAL."""
    return (pmf * TABLE_TOTAL).round().clamp_min(1).to(torch.int32)
