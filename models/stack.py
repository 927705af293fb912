"""The layered model of every class: an embedding into a residual stream, blocks of (recurrence, position-wise MLP) adding
to it, and a readout; symbols (B, T) -> logits (B, T, L). A ported model's maps touch only the channels its config
lists."""
from __future__ import annotations

import torch
from torch import nn

from models.config import LayerConfig, ModelConfig
from models.layer_parts import NORM_EPS
from models.registry import recurrence_class
from models.tensor_shapes import check_parameters


class MLP(nn.Module):
    """Position-wise ``W2 relu(W1 x + b1) + b2``, added to the residual stream; ported (``d_out``): read from
    ``d_model`` channels and written to ``d_out``, without ``b2``."""

    def __init__(self, d_model: int, hidden: int, d_out: int | None = None):
        super().__init__()
        self.up = nn.Linear(d_model, hidden)
        self.down = nn.Linear(hidden, d_model) if d_out is None else nn.Linear(hidden, d_out, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.down(torch.relu(self.up(x)))


def rms_norm(config: ModelConfig, on: bool) -> nn.RMSNorm | None:
    return nn.RMSNorm(config.d_model, eps=NORM_EPS) if on else None


class StreamChannels(nn.Module):
    """The stream channels a map of a ported block reads or writes (all of them when not ported)."""

    def __init__(self, config: ModelConfig, channels: tuple[int, ...]):
        super().__init__()
        self.ported = config.ported
        self.register_buffer("channels", torch.tensor(channels, dtype=torch.long), persistent=False)

    @property
    def write_width(self) -> int | None:
        """How many channels a ported map writes (None: the whole stream, with a bias)."""
        return len(self.channels) if self.ported else None

    def read_width(self, d_model: int) -> int:
        """How many channels a map reads."""
        return len(self.channels) if self.ported else d_model

    def read(self, x: torch.Tensor) -> torch.Tensor:
        return x.index_select(-1, self.channels) if self.ported else x

    def add(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """The stream ``x`` with ``y`` added to the channels written."""
        return x.index_add(-1, self.channels, y) if self.ported else x + y


class Block(nn.Module):
    """``x + recurrence(norm(x))``, then ``x + mlp(mlp_norm(x))``; the norms (``LayerConfig.norm``) are the
    pre-normalisation of fla's blocks (``attn_norm``, ``mlp_norm``). Ported, each map reads and writes only its
    layer's channels (``LayerConfig.reads``, ``writes``, ``mlp_reads``, ``mlp_writes``)."""

    def __init__(self, config: ModelConfig, layer: LayerConfig):
        super().__init__()
        self.reads, self.writes = StreamChannels(config, layer.reads), StreamChannels(config, layer.writes)
        self.recurrence = recurrence_class(config.arch)(self.reads.read_width(config.d_model), layer,
                                                        exact=config.exact, d_out=self.writes.write_width)
        self.mlp_reads, self.mlp_writes = StreamChannels(config, layer.mlp_reads), StreamChannels(config, layer.mlp_writes)
        self.mlp = (MLP(self.mlp_reads.read_width(config.d_model), layer.mlp_hidden, self.mlp_writes.write_width)
                    if layer.mlp_hidden else None)
        self.norm = rms_norm(config, layer.norm)
        self.mlp_norm = rms_norm(config, layer.norm and self.mlp is not None)
        self.window = layer.conv

    def mixer_input(self, x: torch.Tensor) -> torch.Tensor:
        """What the recurrence reads from the stream ``x``: ``x`` itself (its ported channels), or its RMS norm."""
        return self.reads.read(x) if self.norm is None else self.norm(x)

    def states(self, x: torch.Tensor) -> torch.Tensor:
        """What the block carries from step to step when it reads the stream ``x``: the recurrence's states and,
        with a short convolution, the last ``conv - 1`` inputs it read (which fix the convolution's window),
        (B, T, state_size + (conv - 1) * d_model)."""
        read = self.mixer_input(x)
        states = self.recurrence.states(read)
        if self.window < 2:
            return states
        padded = torch.nn.functional.pad(read, (0, 0, self.window - 2, 0))
        recent = [padded[:, k: k + x.shape[1]] for k in range(self.window - 1)]
        return torch.cat([states, *recent], dim=-1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.writes.add(x, self.recurrence(self.mixer_input(x)))
        if self.mlp is not None:
            x = self.mlp_writes.add(x, self.mlp(self.mlp_reads.read(x) if self.mlp_norm is None else self.mlp_norm(x)))
        return x


class RecurrentModel(nn.Module):
    """Symbols -> embedding -> blocks -> per-position logits. ``states(symbols)`` also returns the
    residual stream after each block, which certificates and automaton extraction read. With
    ``config.d_input`` the model reads real vectors (B, T, d_input) through a linear projection instead, or,
    ported, as the first channels of its stream."""

    def __init__(self, config: ModelConfig):
        super().__init__()
        if torch.empty(0).device.type != "meta":  # on the meta device (sizes counted, nothing allocated) no limit
            check_parameters(config, f"a {config.arch} model (d_model {config.d_model}, {len(config.layers)} layers)")
        self.config = config
        self.embedding = (None if config.ported else nn.Linear(config.d_input, config.d_model) if config.d_input
                          else nn.Embedding(config.n_symbols, config.d_model))
        self.blocks = nn.ModuleList(Block(config, layer) for layer in config.layers)
        self.readout_reads = StreamChannels(config, config.readout_reads)
        self.readout = nn.Linear(self.readout_reads.read_width(config.d_model), config.n_labels)
        self.norm = rms_norm(config, config.norm)

    def streams(self, symbols: torch.Tensor) -> list[torch.Tensor]:
        """The residual stream after the embedding and after each block, each (B, T, d_model)."""
        x = (self.embedding(symbols) if self.embedding is not None
             else nn.functional.pad(symbols, (0, self.config.d_model - self.config.d_input)))
        out = [x]
        for block in self.blocks:
            x = block(x)
            out.append(x)
        return out

    def logits(self, stream: torch.Tensor) -> torch.Tensor:
        """The readout of the last residual stream (after the final norm, if any)."""
        return self.readout(self.readout_reads.read(stream) if self.norm is None else self.norm(stream))

    def forward(self, symbols: torch.Tensor) -> torch.Tensor:
        return self.logits(self.streams(symbols)[-1])

    @torch.no_grad()
    def predict(self, symbols: torch.Tensor) -> torch.Tensor:
        """The label at every position: argmax of the logits, (B, T)."""
        return self.forward(symbols).argmax(-1)
