"""TxE: the transformer encoder that contextualizes a sequence of event features.

Xiao et al., "Hierarchical Self-supervised Representation Learning for Movie
Understanding", Sec. 3.1: "for the transformer encoder, we use 3 layers of multi-head
self-attention with residual connections, with 16 heads each and a hidden dimension of
1024. For inputs, we append a learned position embedding to each of N tokens in the input
sequence". The encoder reads N consecutive 2 s event features ``v_1..v_N`` from the
frozen backbone and returns contextualized features ``v̂_1..v̂_N``.

Choices the paper leaves open (VidSitu's own code differs: post-LN, 8 heads, sinusoidal
positions, see ``shared/benchmarks/vidsitu.md``):

* **Input projection**: one ``Linear(D_in, hidden)`` maps backbone features into the
  encoder width.
* **[MASK] token after the input projection**: a masked position's embedding is replaced
  by a learned ``hidden``-sized vector *before* the position embedding is added, exactly
  like BERT's [MASK] word embedding. Replacing after the projection keeps the token
  independent of the input feature scale and guarantees that nothing of a masked input
  ``v_t`` reaches the encoder (the replacement is a ``torch.where``, so even the gradient
  to ``v_t`` is zero).
* **Pre-norm** layers (``norm_first=True``, LayerNorm before attention and MLP, plus a
  final LayerNorm): they train stably from scratch without a long warm-up (Xiong et al.,
  2020, "On Layer Normalization in the Transformer Architecture"). ``norm_first=False``
  gives VidSitu's post-norm layout.
* **Output projection**: ``Linear(hidden, D_out)`` with ``D_out = D_in`` by default, so the
  outputs live in the backbone's feature space and Eq. 1 compares ``v̂_t`` directly with
  the frozen event feature ``v_t`` (both L2-normalised by the objective).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor, nn

from movierep import config


@dataclass(frozen=True)
class TxEConfig:
    """TxE's sizes; the defaults are the paper's (Sec. 3.1 and 4).

    Attributes:
        input_dim: size D_in of the backbone's event features (2048 for Slow-D).
        hidden_dim: encoder width (paper: 1024).
        num_layers: encoder layers (paper: 3).
        num_heads: attention heads per layer (paper: 16).
        num_tokens: maximum sequence length N, i.e. the number of learned position
            embeddings (paper: 5).
        mlp_ratio: MLP width as a multiple of ``hidden_dim``.
        dropout: dropout in attention, MLP and on the input embeddings.
        output_dim: size D_out of the outputs; ``None`` means ``input_dim`` (the target space
            of mask prediction is the backbone's feature space).
        norm_first: pre-norm layers (default) or post-norm (VidSitu's code).
    """

    input_dim: int = 2048
    hidden_dim: int = 1024
    num_layers: int = 3
    num_heads: int = 16
    num_tokens: int = 5
    mlp_ratio: int = 4
    dropout: float = 0.1
    output_dim: int | None = None
    norm_first: bool = True


#: The CPU size of ``train contextualizer --profile cpu``: width 128, 4 heads.
TXE_TINY = TxEConfig(hidden_dim=128, num_heads=4)


class TxE(nn.Module):
    """Transformer encoder over N event features with learned positions and a [MASK] token.

    Args:
        cfg: the sizes (:class:`TxEConfig`; its defaults are the paper's).

    Attributes:
        cfg: the config it was built from.

    Example:
        >>> txe = TxE(TxEConfig(input_dim=64, hidden_dim=32, num_heads=4))
        >>> v = torch.randn(2, 5, 64)
        >>> mask = torch.tensor([[False, True, True, False, False]] * 2)
        >>> txe(v, mask).shape
        torch.Size([2, 5, 64])
    """

    def __init__(self, cfg: TxEConfig = TxEConfig()) -> None:
        super().__init__()
        hidden_dim, num_heads = cfg.hidden_dim, cfg.num_heads
        if hidden_dim % num_heads:
            raise ValueError(f"hidden_dim={hidden_dim} is not divisible by num_heads={num_heads}")
        self.cfg = cfg
        self.input_dim = cfg.input_dim
        self.hidden_dim = hidden_dim
        self.num_tokens = cfg.num_tokens
        self.output_dim = cfg.input_dim if cfg.output_dim is None else cfg.output_dim
        self.input_proj = nn.Linear(cfg.input_dim, hidden_dim)
        self.mask_token = nn.Parameter(torch.zeros(hidden_dim))
        self.pos_embed = nn.Parameter(torch.zeros(cfg.num_tokens, hidden_dim))
        self.dropout = nn.Dropout(cfg.dropout)
        layer = nn.TransformerEncoderLayer(
            d_model=hidden_dim,
            nhead=num_heads,
            dim_feedforward=cfg.mlp_ratio * hidden_dim,
            dropout=cfg.dropout,
            activation="gelu",
            batch_first=True,
            norm_first=cfg.norm_first,
        )
        self.encoder = nn.TransformerEncoder(
            layer, num_layers=cfg.num_layers, enable_nested_tensor=False
        )
        self.norm = nn.LayerNorm(hidden_dim) if cfg.norm_first else nn.Identity()
        self.output_proj = nn.Linear(hidden_dim, self.output_dim)
        nn.init.trunc_normal_(self.pos_embed, std=0.02)
        nn.init.trunc_normal_(self.mask_token, std=0.02)

    @property
    def model_kwargs(self) -> dict[str, Any]:
        """:attr:`cfg` as plain JSON values: what ``config.json`` stores as ``model_kwargs``."""
        return config.to_dict(self.cfg)

    def forward(self, x: Tensor, mask: Tensor | None = None) -> Tensor:
        """Contextualize a batch of event-feature sequences.

        Args:
            x: event features ``v_1..v_N``, shape (B, N, D_in), with N <= ``num_tokens``
                (shorter sequences use the first N position embeddings).
            mask: (B, N) bool, True where the input is replaced by the [MASK] token;
                ``None`` masks nothing.

        Returns:
            Unnormalised outputs, shape (B, N, D_out); the mask-prediction objective
            L2-normalises them into ``v̂_t``.
        """
        N = x.shape[1]
        if self.num_tokens < N:
            raise ValueError(f"sequence of {N} tokens is longer than num_tokens={self.num_tokens}")
        h = self.input_proj(x)  # (B, N, hidden)
        if mask is not None:
            h = torch.where(mask[..., None], self.mask_token.to(h.dtype), h)
        h = self.dropout(h + self.pos_embed[:N])
        h = self.norm(self.encoder(h))
        out: Tensor = self.output_proj(h)  # (B, N, D_out)
        return out
