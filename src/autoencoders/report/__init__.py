"""Figures and a one-page HTML report that show what an autoencoder learned."""

from autoencoders.report.figures import (
    comparison_grid,
    denoising_grid,
    embedding_scatter,
    image_grid,
    image_row,
    loss_curves,
    reconstruction_grid,
    reconstruction_scatter,
    score_bars,
    sequence_reconstructions,
)
from autoencoders.report.html import Section, write_report

__all__ = [
    "Section",
    "comparison_grid",
    "denoising_grid",
    "embedding_scatter",
    "image_grid",
    "image_row",
    "loss_curves",
    "reconstruction_grid",
    "reconstruction_scatter",
    "score_bars",
    "sequence_reconstructions",
    "write_report",
]
