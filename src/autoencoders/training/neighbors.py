"""A code that keeps the data's neighbours together: parametric UMAP as a penalty.

UMAP's fuzzy graph (McInnes et al., 2018): each sample's ``k`` nearest neighbours,
weighted ``exp(−(d − ρ_i) / σ_i)`` (ρ_i the distance to the nearest one, σ_i set so
that the weights sum to log₂ k), made symmetric by the fuzzy union ``A + Aᵀ − A∘Aᵀ``.
For each sample of a batch the trainer draws one neighbour in proportion to these
weights and encodes it too; :class:`NeighborEmbedding` pulls the two codes together
and pushes random pairs of the batch apart, UMAP's cross-entropy, as the encoder's
loss (parametric UMAP, Sainburg et al., 2021) beside the reconstruction.

(A memory bank of every sample's code, read for all neighbours at once instead of
encoding one, ended lower on MNIST: 0.59 against 0.74 5-NN accuracy after 20 epochs,
because the remembered codes lag behind an encoder that still moves fast.)
"""

from __future__ import annotations

import math

import numpy as np
import scipy.sparse
import torch
from torch import Tensor, nn

from autoencoders.errors import DataError
from autoencoders.training.runtime import seeded_global_rng

N_NEIGHBORS = 15  # UMAP's default
SEARCH_DIM = 64  # wider data is projected on its top principal components for the search
SEARCH_ROWS = 256  # queries per block of the exhaustive search: a 256 × n distance block


class NeighborGraph:
    """A symmetric weighted k-NN graph over ``n`` samples, stored as CSR rows."""

    def __init__(self, indptr: Tensor, indices: Tensor, weights: Tensor) -> None:
        self.indptr, self.indices, self.weights = indptr, indices, weights
        # Cumulative weights in float64: a million edges summed in float32 would lose the
        # resolution of the small weights that sampling has to tell apart.
        self.cumulative = torch.cumsum(weights.double(), 0)
        self.start = torch.cat([self.cumulative.new_zeros(1), self.cumulative])[indptr]

    @classmethod
    def build(cls, x: Tensor, *, n_neighbors: int = N_NEIGHBORS, seed: int = 0) -> NeighborGraph:
        """The fuzzy k-NN graph of the samples ``x`` (Euclidean distances)."""
        n = len(x)
        k = min(n_neighbors, n - 1)
        if k < 1:
            raise DataError("neighbors needs at least two training samples")
        distances, neighbors = nearest_neighbors(search_space(x, seed), k)
        weights = fuzzy_weights(distances, k)
        rows = np.repeat(np.arange(n), k)
        graph = scipy.sparse.csr_matrix(
            (weights.numpy().ravel(), (rows, neighbors.numpy().ravel())), shape=(n, n)
        )
        graph = scipy.sparse.csr_matrix(graph + graph.T - graph.multiply(graph.T))
        graph.sort_indices()
        device = x.device
        return cls(
            torch.from_numpy(graph.indptr.astype(np.int64)).to(device),
            torch.from_numpy(graph.indices.astype(np.int64)).to(device),
            torch.from_numpy(graph.data.astype(np.float32)).to(device),
        )

    def __len__(self) -> int:
        return len(self.indptr) - 1

    def sample(self, index: Tensor, generator: torch.Generator) -> Tensor:
        """One neighbour of each sample in ``index``, drawn in proportion to the weights."""
        low, high = self.indptr[index], self.indptr[index + 1]
        start = self.start[index]
        total = self.start[index + 1] - start
        u = torch.rand(len(index), generator=generator, device=index.device, dtype=torch.float64)
        position = torch.searchsorted(self.cumulative, start + u * total, right=True)
        return self.indices[torch.minimum(torch.maximum(position, low), high - 1)]


class NeighborEmbedding(nn.Module):
    """``weight ·`` UMAP's cross-entropy between the neighbour graph and the codes.

    Each code h is pulled toward the code t of a neighbour drawn from ``graph``
    (−log q(h, t)) and pushed away from ``negatives`` codes of the batch drawn at random
    (−log(1 − q)), with q = 1 / (1 + a‖·‖^{2b}) the similarity of UMAP's low-dimensional
    space, a and b UMAP's values for its default min_dist 0.1.
    """

    A, B = 1.5769434603, 0.8950608781  # umap.umap_.find_ab_params(spread=1, min_dist=0.1)
    EPS = 1e-4  # UMAP's clip of q and 1 − q inside the logarithms

    def __init__(self, graph: NeighborGraph, weight: float, *, negatives: int = 5) -> None:
        super().__init__()
        self.graph, self.weight, self.negatives = graph, weight, negatives

    def similarity(self, u: Tensor, v: Tensor) -> Tensor:
        squared = (u - v).square().sum(-1).clamp_min(1e-8)
        return 1 / (1 + self.A * squared.pow(self.B))

    def forward(self, code: Tensor, neighbor_code: Tensor) -> Tensor:
        h, t = code.flatten(1), neighbor_code.flatten(1)
        pool = torch.cat([h, t])
        drawn = torch.randint(len(pool), (len(h), self.negatives), device=h.device)
        attraction = -torch.log(self.similarity(h, t).clamp_min(self.EPS))
        repulsion = -torch.log((1 - self.similarity(h[:, None], pool[drawn])).clamp_min(self.EPS))
        return self.weight * (attraction + repulsion.sum(1)).mean()


def search_space(x: Tensor, seed: int) -> Tensor:
    """The flattened samples, on their top principal components if wider than
    ``SEARCH_DIM`` (as t-SNE implementations search neighbours on PCA-50): the
    exhaustive search then costs n² · 64 multiply-adds whatever the width."""
    flat = x.reshape(len(x), -1).float()
    if flat.shape[1] <= SEARCH_DIM or len(flat) <= SEARCH_DIM:
        return flat
    with seeded_global_rng(seed, 0, x.device):  # pca_lowrank draws from the global generator
        _, _, components = torch.pca_lowrank(flat, q=SEARCH_DIM, center=True)
    return (flat - flat.mean(0)) @ components


@torch.no_grad()
def nearest_neighbors(points: Tensor, k: int) -> tuple[Tensor, Tensor]:
    """Distances and indices of each point's ``k`` nearest other points, (n, k) each,
    by exhaustive search in blocks (exact, and fast on a GPU)."""
    squared_norms = points.square().sum(1)
    transposed = points.T.contiguous()
    distances, indices = [], []
    for start in range(0, len(points), SEARCH_ROWS):
        block = points[start : start + SEARCH_ROWS]
        # ‖x‖² − 2 q·x in one kernel; the query's own ‖q‖² does not change its ranking.
        partial = torch.addmm(squared_norms[None], block, transposed, alpha=-2)
        rows = torch.arange(len(block), device=points.device)
        partial[rows, rows + start] = math.inf  # not its own neighbour
        nearest, index = torch.topk(partial, k, dim=1, largest=False)
        nearest += squared_norms[start : start + len(block), None]
        distances.append(nearest.clamp_min(0).sqrt().cpu())
        indices.append(index.cpu())
    return torch.cat(distances), torch.cat(indices)


def fuzzy_weights(distances: Tensor, k: int, *, iterations: int = 64) -> Tensor:
    """UMAP's membership strengths ``exp(−(d − ρ) / σ)``, σ per row found by bisection
    so that each row sums to log₂ k."""
    distances = distances.double()
    rho = torch.where(distances > 0, distances, math.inf).min(1, keepdim=True).values
    rho = torch.where(torch.isfinite(rho), rho, torch.zeros_like(rho))
    excess = (distances - rho).clamp_min(0)
    target = math.log2(k)
    low = torch.zeros_like(rho)
    high = torch.full_like(rho, math.inf)
    sigma = torch.ones_like(rho)
    for _ in range(iterations):
        too_big = torch.exp(-excess / sigma).sum(1, keepdim=True) > target
        high = torch.where(too_big, sigma, high)
        low = torch.where(too_big, low, sigma)
        sigma = torch.where(torch.isfinite(high), (low + high) / 2, sigma * 2)
    return torch.exp(-excess / sigma).float()
