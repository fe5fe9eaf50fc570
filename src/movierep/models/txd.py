"""TxD: the transformer decoder that writes an event's semantic roles.

Xiao et al. (hierarchical SSL) §3.4, following VidSitu (Sadhu et al., CVPR 2021, §4.2):
"TxD ... 3 layers, each self-attention over text tokens and cross-attention from text to
visual tokens (the TxE outputs)". The decoder generates, for one event, the sequence

    VERB <Arg0> w w ... <Arg1> w ... <AScn> w ... <eos>

with the ground-truth verb forced as the first token (the role task is conditioned on the
verb). VidSitu's release (``SFPreFeats_TxEncDec``, ../shared/benchmarks/vidsitu.md §3.2)
fixes the details kept here:

| part | paper profile |
|---|---|
| token embedding | random init, × √d (d = 1024) |
| positions | sinusoidal |
| layers | 3 post-LN decoder layers, 8 heads, FFN 2048, ReLU, dropout 0.1 |
| memory | each event's own (contextual) feature: length 1, projected to d |
| output | Linear(d → 512, no bias) then Linear(512 → |V|, no bias, N(0, 512^-½)) |
| loss | teacher-forced cross-entropy of tokens 1.. given tokens ..−1, pad ignored |
| decoding | greedy (beam 1) by default, at most 200 tokens; beam search as an option |

``vision=False`` is the vision-blind row of the paper's table (VidSitu's text-only
``tx_only``/GPT-2 rows): the memory is one learned vector, the same for every event, so
the decoder sees only the verb.

Parameter count at the paper profile with a 10k-token vocabulary and 1024-d memory: 54.7M.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from movierep import config


def sinusoidal_positions(length: int, dim: int) -> Tensor:
    """Vaswani et al.'s position encodings, (length, dim): sin on even, cos on odd features."""
    pos = torch.arange(length, dtype=torch.float32)[:, None]
    freq = torch.exp(torch.arange(0, dim, 2, dtype=torch.float32) * (-math.log(10000.0) / dim))
    out = torch.zeros(length, dim)
    out[:, 0::2] = torch.sin(pos * freq)
    out[:, 1::2] = torch.cos(pos * freq[: dim // 2])
    return out


@dataclass(frozen=True)
class TxDConfig:
    """TxD's sizes; the defaults are VidSitu's decoder (see the module docstring).

    Attributes:
        vocab_size: |V| of the role tokenizer (no default: the tokenizer's).
        memory_dim: size of the visual tokens (TxE output or backbone feature; no default).
        hidden_dim: d (1024).
        num_layers: decoder layers (3).
        num_heads: attention heads (8).
        ffn_dim: feed-forward width (2048).
        output_dim: width before the vocabulary projection (512).
        dropout: dropout (0.1).
        max_len: the longest sequence the position table covers (256).
        pad_id: padding token id (ignored by attention and the loss).
        vision: False for the vision-blind decoder (a learned memory vector).
    """

    vocab_size: int
    memory_dim: int
    hidden_dim: int = 1024
    num_layers: int = 3
    num_heads: int = 8
    ffn_dim: int = 2048
    output_dim: int = 512
    dropout: float = 0.1
    max_len: int = 256
    pad_id: int = 0
    vision: bool = True


class TxD(nn.Module):
    """Role decoder: tokens (B, L) and visual memory (B, M, D_mem) -> next-token logits.

    Args:
        cfg: the sizes (:class:`TxDConfig`).

    Attributes:
        cfg: the config it was built from.
    """

    positions: Tensor  # (max_len, d) sinusoidal table, a buffer

    def __init__(self, cfg: TxDConfig) -> None:
        super().__init__()
        self.cfg = cfg
        hidden_dim, output_dim, dropout = cfg.hidden_dim, cfg.output_dim, cfg.dropout
        self.pad_id, self.vision, self.max_len = cfg.pad_id, cfg.vision, cfg.max_len
        self.embed = nn.Embedding(cfg.vocab_size, hidden_dim, padding_idx=cfg.pad_id)
        self.embed_scale = math.sqrt(hidden_dim)
        self.register_buffer("positions", sinusoidal_positions(cfg.max_len, hidden_dim), False)
        if cfg.vision:
            self.memory_proj: nn.Module = nn.Linear(cfg.memory_dim, hidden_dim)
        else:
            self.blind_memory = nn.Parameter(torch.zeros(1, 1, hidden_dim))
            nn.init.normal_(self.blind_memory, std=hidden_dim**-0.5)
        layer = nn.TransformerDecoderLayer(
            hidden_dim, cfg.num_heads, cfg.ffn_dim, dropout, activation="relu", batch_first=True
        )
        self.decoder = nn.TransformerDecoder(layer, cfg.num_layers)
        self.dropout = nn.Dropout(dropout)
        self.project_out = nn.Linear(hidden_dim, output_dim, bias=False)
        self.output_projection = nn.Linear(output_dim, cfg.vocab_size, bias=False)
        nn.init.normal_(self.output_projection.weight, std=output_dim**-0.5)

    @property
    def model_kwargs(self) -> dict[str, Any]:
        """:attr:`cfg` as plain JSON values: what ``config.json`` stores as ``model_kwargs``."""
        return config.to_dict(self.cfg)

    def encode_memory(self, memory: Tensor | None, batch: int) -> Tensor:
        """Visual tokens (B, M, D_mem) -> decoder memory (B, M, d); blind: (B, 1, d)."""
        if not self.vision:
            return self.blind_memory.expand(batch, -1, -1)
        if memory is None:
            raise ValueError("this TxD reads visual tokens: pass memory (B, M, D_mem)")
        out: Tensor = self.memory_proj(memory)
        return out

    def forward(self, tokens: Tensor, memory: Tensor | None = None) -> Tensor:
        """Next-token logits.

        Args:
            tokens: (B, L) token ids, the verb first.
            memory: (B, M, D_mem) visual tokens (ignored when ``vision`` is False).

        Returns:
            (B, L, |V|): logits at position t predict token t + 1.
        """
        B, L = tokens.shape
        if self.max_len < L:
            raise ValueError(f"sequence of {L} tokens is longer than max_len={self.max_len}")
        mem = self.encode_memory(memory, B)
        x = self.embed(tokens) * self.embed_scale + self.positions[:L]
        causal = torch.ones(L, L, dtype=torch.bool, device=tokens.device).triu(1)  # True: hidden
        h = self.decoder(
            self.dropout(x),
            mem,
            tgt_mask=causal,
            tgt_key_padding_mask=tokens == self.pad_id,
            tgt_is_causal=True,
        )
        out: Tensor = self.output_projection(self.project_out(h))
        return out

    def loss(self, tokens: Tensor, memory: Tensor | None = None) -> Tensor:
        """Teacher-forced cross-entropy of ``tokens[:, 1:]`` given ``tokens[:, :-1]``.

        Padding targets are ignored.
        """
        logits = self(tokens[:, :-1], memory)
        return F.cross_entropy(
            logits.flatten(0, 1).float(), tokens[:, 1:].flatten(), ignore_index=self.pad_id
        )

    @torch.no_grad()
    def generate(
        self,
        prefix: Tensor,
        memory: Tensor | None = None,
        *,
        eos_id: int,
        max_new_tokens: int = 200,
        beam_size: int = 1,
    ) -> list[list[int]]:
        """Decode after a forced prefix (the verb), greedy or by beam search.

        Beam search keeps ``beam_size`` hypotheses per event and returns the finished one
        with the best length-normalised log-probability (fairseq's ``normalize_scores``,
        length penalty 1), as VidSitu's generator does.

        Args:
            prefix: (B, P) forced first tokens.
            memory: (B, M, D_mem) visual tokens.
            eos_id: the end token (not included in the output).
            max_new_tokens: at most this many generated tokens.
            beam_size: 1 is greedy.

        Returns:
            Per event, the generated token ids after the prefix.
        """
        was_training = self.training
        self.eval()
        try:
            limit = min(max_new_tokens, self.max_len - prefix.shape[1])
            if beam_size == 1:
                return self._greedy(prefix, memory, eos_id, limit)
            return [
                self._beam(prefix[i : i + 1], None if memory is None else memory[i : i + 1],
                           eos_id, limit, beam_size)
                for i in range(prefix.shape[0])
            ]  # fmt: skip
        finally:
            self.train(was_training)

    def _greedy(
        self, prefix: Tensor, memory: Tensor | None, eos_id: int, limit: int
    ) -> list[list[int]]:
        seq, done = prefix, torch.zeros(prefix.shape[0], dtype=torch.bool, device=prefix.device)
        for _ in range(limit):
            nxt = self(seq, memory)[:, -1].argmax(-1)
            nxt = torch.where(done, torch.full_like(nxt, self.pad_id), nxt)
            seq = torch.cat([seq, nxt[:, None]], dim=1)
            done |= nxt == eos_id
            if bool(done.all()):
                break
        out = []
        for row in seq[:, prefix.shape[1] :].tolist():
            out.append(row[: row.index(eos_id)] if eos_id in row else row)
        return out

    def _beam(
        self, prefix: Tensor, memory: Tensor | None, eos_id: int, limit: int, k: int
    ) -> list[int]:
        beams: list[tuple[float, list[int]]] = [(0.0, [])]
        finished: list[tuple[float, list[int]]] = []
        base = prefix[0].tolist()
        for _ in range(limit):
            seqs = torch.tensor([base + b for _, b in beams], device=prefix.device)
            mem = None if memory is None else memory.expand(len(beams), -1, -1)
            logp = self(seqs, mem)[:, -1].float().log_softmax(-1)  # (beams, V)
            scores = torch.tensor([s for s, _ in beams], device=logp.device)[:, None] + logp
            top = scores.flatten().topk(min(2 * k, scores.numel()))
            beams = []
            ranked = zip(top.values.tolist(), top.indices.tolist(), strict=True)
            for rank, (score, flat) in enumerate(ranked):
                b, token = divmod(flat, logp.shape[1])
                tokens = [*seqs[b, len(base) :].tolist(), token]
                if token == eos_id:
                    if rank < k:  # fairseq: an end counts only among the k best candidates
                        finished.append((score / len(tokens), tokens[:-1]))
                elif len(beams) < k:
                    beams.append((score, tokens))
            if not beams or len(finished) >= k:  # fairseq: a search ends with k finished
                break
        if not finished:
            finished = [(s / max(1, len(t)), t) for s, t in beams]
        return max(finished, key=lambda f: f[0])[1]
