"""Sequence-to-sequence autoencoders with LSTM or GRU layers, for time series.

The classic design (Srivastava et al., 2015; the Keras "LSTM autoencoder"): the
encoder reads the whole sequence and its last hidden state, through a linear layer,
is the code; the decoder gets that code at every time step (Keras's ``RepeatVector``)
and a linear layer maps each of its hidden states back to the features. The code
must hold the whole sequence, so a sequence unlike the training ones is reconstructed
badly, step by step: what time-series anomaly detection needs.

    x (B, T, d) → RNN… → h_T → Linear → code (B, latent)
    code → Linear → repeat T times → RNN… → Linear per step → x̂ (B, T, d)
"""

from __future__ import annotations

import itertools

from torch import Tensor, nn

from autoencoders.models.base import Autoencoder, Decoder
from autoencoders.models.config import ModelConfig
from autoencoders.models.registry import register_model

CELLS = {"lstm": nn.LSTM, "gru": nn.GRU}


class RecurrentStack(nn.Module):
    """RNN layers of the given sizes, one after the other; outputs (B, T, last size)."""

    def __init__(self, cell: type[nn.RNNBase], n_in: int, sizes: tuple[int, ...]) -> None:
        super().__init__()
        widths = (n_in, *sizes)
        self.layers = nn.ModuleList(
            cell(a, b, batch_first=True) for a, b in itertools.pairwise(widths)
        )

    def forward(self, x: Tensor) -> Tensor:
        for layer in self.layers:
            x, _ = layer(x)
        return x


class SequenceEncoder(nn.Module):
    def __init__(self, rnn: RecurrentStack, hidden: int, latent_dim: int) -> None:
        super().__init__()
        self.rnn = rnn
        self.to_code = nn.Linear(hidden, latent_dim)

    def forward(self, x: Tensor) -> Tensor:
        return self.to_code(self.rnn(x)[:, -1])


class SequenceDecoderBody(nn.Module):
    def __init__(
        self, latent_dim: int, rnn: RecurrentStack, hidden: int, steps: int, features: int
    ):
        super().__init__()
        self.steps = steps
        self.from_code = nn.Linear(latent_dim, hidden)
        self.rnn = rnn
        self.to_features = nn.Linear(rnn.layers[-1].hidden_size, features)

    def forward(self, code: Tensor) -> Tensor:
        repeated = self.from_code(code)[:, None].expand(-1, self.steps, -1)
        return self.to_features(self.rnn(repeated))


@register_model("lstm")
@register_model("gru")
def recurrent_autoencoder(config: ModelConfig) -> Autoencoder:
    if len(config.input_shape) != 2 or config.input_shape != config.output_shape:
        raise ValueError(
            f"the {config.model} model needs sequences (T, d) and reconstructs them; got "
            f"input shape {config.input_shape}"
        )
    steps, features = config.input_shape
    hidden = config.hidden or (64,)
    cell = CELLS[config.model]
    encoder = SequenceEncoder(RecurrentStack(cell, features, hidden), hidden[-1], config.latent_dim)
    decoder_sizes = tuple(reversed(hidden))
    body = SequenceDecoderBody(
        config.latent_dim,
        RecurrentStack(cell, decoder_sizes[0], decoder_sizes),
        decoder_sizes[0],
        steps,
        features,
    )
    return Autoencoder(encoder, Decoder(body, config.output_activation))
