r"""Object Transformer (Wu & Krähenbühl, LVU, CVPR 2021) and OT++ (Xiao et al., Fig. 3).

Hier-SSL §5 (LVU): "[OT] uses an object-centric design to represent each video as a set of
spatio-temporal instances (i.e., tracklets of people and objects, Fig. 3 top pathway) and a
transformer-based architecture to model the synergies of the tracked instances ... we
propose to use our self-supervised pretrained contextualizer (TxE, Fig. 3 bottom pathway)
to supplement the instance features. We denote the enhanced full method as OT++."

One 60 s span of a video is a token sequence (../shared/benchmarks/lvu_movienet.md §A.5,
read from LVU's released code)::

    [CLS]  instance tokens (one per box per second)  scene tokens (one per event)

An **instance token** is the sum of

- ``Linear(D_inst → H)`` of its RoI feature (a learned mask vector replaces it when masked),
- ``Linear(5 → H)`` of its box ``(x1, y1, x2, y2, area)``, normalised to the frame,
- three second embeddings: the second's index in the span counted up, counted down, and
  relative to the span's centre,
- three shot embeddings: the same three counts over the span's shot indices,
- a tracklet (link) embedding; training permutes link ids per span, as LVU does, so a link
  id carries identity within a span and nothing across spans.

A **scene token** (OT++ only) is ``Linear(D_scene → H)`` of a TxE contextual event feature
(or a pooled backbone feature, the paper's 'Sup' row) plus the three second embeddings of
the event's middle second. A token-type embedding (instance / scene / CLS) tells the two
pathways apart. The sum goes through LayerNorm and dropout, then a BERT encoder (post-norm,
GELU), the BERT pooler (dense + tanh on the CLS token), dropout and ``Linear(H → C)``.

With only instance tokens this is OT (Table 5 rows 1–3); with only scene tokens it is the
'scene' pathway alone (rows 4–5); with both it is OT++ (row 6).

Sizes: LVU's encoder is 3 layers, 12 heads, hidden 768 (:func:`ot_paper`); the CPU
profile uses :func:`ot_tiny`. :meth:`ObjectTransformer.instance_outputs` exposes the
encoder outputs at the instance tokens for masked-instance pretraining
(:mod:`movierep.pretrain.masked_instances`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor, nn

from movierep import config

#: token types
CLS, INSTANCE, SCENE = 0, 1, 2


@dataclass
class SpanBatch:
    """A padded batch of spans (B spans, up to N instance and M scene tokens each).

    Attributes:
        inst_feat: (B, N, D_inst) instance RoI features (zeros where padded).
        inst_box: (B, N, 4) boxes ``x1, y1, x2, y2`` in [0, 1].
        inst_second: (B, N) long, the token's second within the span (0-based).
        inst_shot: (B, N) long, the token's shot index within the span (0-based).
        inst_link: (B, N) long, tracklet id within the span (0-based).
        inst_valid: (B, N) bool, real tokens.
        scene_feat: (B, M, D_scene) scene features.
        scene_second: (B, M) long, the event's middle second within the span.
        scene_valid: (B, M) bool.
        span_seconds: (B,) long, seconds in each span (for the down and centre counts).
        span_shots: (B,) long, shots in each span.
    """

    inst_feat: Tensor
    inst_box: Tensor
    inst_second: Tensor
    inst_shot: Tensor
    inst_link: Tensor
    inst_valid: Tensor
    scene_feat: Tensor
    scene_second: Tensor
    scene_valid: Tensor
    span_seconds: Tensor
    span_shots: Tensor

    def to(self, device: torch.device | str) -> SpanBatch:
        """Move every tensor to ``device``."""
        return SpanBatch(**{k: v.to(device) for k, v in vars(self).items()})


class PositionTriple(nn.Module):
    """Up, down and centre-relative embeddings of an index inside a sequence of length L."""

    def __init__(self, max_len: int, dim: int) -> None:
        super().__init__()
        self.max_len = max_len
        self.up = nn.Embedding(max_len, dim)
        self.down = nn.Embedding(max_len, dim)
        self.centre = nn.Embedding(2 * max_len + 1, dim)

    def forward(self, index: Tensor, length: Tensor) -> Tensor:
        """(B, N) indices, (B,) lengths -> (B, N, dim)."""
        top = self.max_len - 1
        up = index.clamp(0, top)
        down = (length[:, None] - 1 - index).clamp(0, top)
        centre = (index - length[:, None] // 2).clamp(-self.max_len, self.max_len) + self.max_len
        out: Tensor = self.up(up) + self.down(down) + self.centre(centre)
        return out


@dataclass(frozen=True)
class ObjectTransformerConfig:
    """The Object Transformer's pathways and sizes; defaults are LVU's encoder (:func:`ot_paper`).

    Attributes:
        num_outputs: C, classes (1 for a regression task).
        instance_dim: D_inst of the RoI features, or 0 for no instance pathway.
        scene_dim: D_scene of the event features, or 0 for no scene pathway.
        hidden: H.
        layers: transformer layers.
        heads: attention heads.
        max_seconds: longest span in seconds (LVU: 60).
        max_shots: most shots in a span.
        max_links: most tracklets in a span.
        dropout: embedding, attention and head dropout.
    """

    num_outputs: int
    instance_dim: int = 0
    scene_dim: int = 0
    hidden: int = 768
    layers: int = 3
    heads: int = 12
    max_seconds: int = 64
    max_shots: int = 64
    max_links: int = 256
    dropout: float = 0.1


class ObjectTransformer(nn.Module):
    """OT over instance tokens, the scene pathway over event tokens, or both (OT++).

    Args:
        cfg: the pathways and sizes (:class:`ObjectTransformerConfig`).

    Attributes:
        cfg: the config it was built from.
    """

    def __init__(self, cfg: ObjectTransformerConfig) -> None:
        super().__init__()
        instance_dim, scene_dim, hidden = cfg.instance_dim, cfg.scene_dim, cfg.hidden
        if instance_dim <= 0 and scene_dim <= 0:
            raise ValueError("an Object Transformer needs an instance or a scene pathway")
        self.cfg = cfg
        self.instance_dim, self.scene_dim, self.hidden = instance_dim, scene_dim, hidden
        self.max_links = max_links = cfg.max_links
        dropout = cfg.dropout
        self.cls = nn.Parameter(torch.zeros(1, 1, hidden))
        self.token_type = nn.Embedding(3, hidden)
        self.seconds = PositionTriple(cfg.max_seconds, hidden)
        if instance_dim > 0:
            self.inst_proj = nn.Linear(instance_dim, hidden)
            self.box_proj = nn.Linear(5, hidden)
            self.shots = PositionTriple(cfg.max_shots, hidden)
            self.links = nn.Embedding(max_links, hidden)
            self.mask_vector = nn.Parameter(torch.zeros(instance_dim))
        if scene_dim > 0:
            self.scene_proj = nn.Linear(scene_dim, hidden)
        self.norm = nn.LayerNorm(hidden)
        self.drop = nn.Dropout(dropout)
        layer = nn.TransformerEncoderLayer(
            hidden, cfg.heads, 4 * hidden, dropout, activation="gelu", batch_first=True
        )
        self.encoder = nn.TransformerEncoder(layer, cfg.layers, enable_nested_tensor=False)
        self.pooler = nn.Sequential(nn.Linear(hidden, hidden), nn.Tanh())
        self.head = nn.Sequential(nn.Dropout(dropout), nn.Linear(hidden, cfg.num_outputs))
        nn.init.normal_(self.cls, std=0.02)
        if instance_dim > 0:
            nn.init.normal_(self.mask_vector, std=0.02)

    def _instance_tokens(self, b: SpanBatch, masked: Tensor | None) -> Tensor:
        feat = b.inst_feat
        if masked is not None:
            feat = torch.where(masked[..., None], self.mask_vector.to(feat.dtype), feat)
        box = b.inst_box
        area = ((box[..., 2] - box[..., 0]) * (box[..., 3] - box[..., 1]))[..., None]
        out: Tensor = (
            self.inst_proj(feat)
            + self.box_proj(torch.cat([box, area], dim=-1))
            + self.seconds(b.inst_second, b.span_seconds)
            + self.shots(b.inst_shot, b.span_shots)
            + self.links(b.inst_link.clamp(0, self.max_links - 1))
            + self.token_type.weight[INSTANCE]
        )
        return out

    def encode(self, b: SpanBatch, masked: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """Encoder outputs of every token.

        Args:
            b: the spans.
            masked: (B, N) bool, instance tokens whose feature is replaced by the mask
                vector (masked-instance pretraining), or None.

        Returns:
            (B, 1 + N + M, H) outputs (CLS first, then instances, then scenes; only the
            pathways the model has) and the (B, 1 + N + M) bool mask of real tokens.
        """
        batch = b.span_seconds.shape[0]
        cls = self.cls.expand(batch, -1, -1) + self.token_type.weight[CLS]
        tokens, valid = [cls], [torch.ones(batch, 1, dtype=torch.bool, device=cls.device)]
        if self.instance_dim > 0:
            tokens.append(self._instance_tokens(b, masked))
            valid.append(b.inst_valid)
        if self.scene_dim > 0:
            tokens.append(
                self.scene_proj(b.scene_feat)
                + self.seconds(b.scene_second, b.span_seconds)
                + self.token_type.weight[SCENE]
            )
            valid.append(b.scene_valid)
        x = self.drop(self.norm(torch.cat(tokens, dim=1)))
        keep = torch.cat(valid, dim=1)
        return self.encoder(x, src_key_padding_mask=~keep), keep

    def pooled(self, b: SpanBatch, masked: Tensor | None = None) -> Tensor:
        """BERT pooler output of the CLS token: (B, H)."""
        out: Tensor = self.pooler(self.encode(b, masked)[0][:, 0])
        return out

    def instance_outputs(self, b: SpanBatch, masked: Tensor | None = None) -> Tensor:
        """Encoder outputs at the instance tokens: (B, N, H)."""
        if self.instance_dim <= 0:
            raise ValueError("this Object Transformer has no instance pathway")
        n = b.inst_feat.shape[1]
        return self.encode(b, masked)[0][:, 1 : 1 + n]

    def forward(self, b: SpanBatch) -> Tensor:
        """Task outputs (B, C) of each span."""
        out: Tensor = self.head(self.pooled(b))
        return out


def ot_paper(num_outputs: int, **overrides: Any) -> ObjectTransformer:
    """LVU's encoder (the config's defaults): 3 layers, 12 heads, hidden 768."""
    paper = ObjectTransformerConfig(num_outputs=num_outputs)
    return ObjectTransformer(config.override(paper, overrides))


def ot_tiny(num_outputs: int, **overrides: Any) -> ObjectTransformer:
    """The CPU profile: 2 layers, 4 heads, hidden 128."""
    tiny = ObjectTransformerConfig(num_outputs=num_outputs, hidden=128, layers=2, heads=4)
    return ObjectTransformer(config.override(tiny, overrides))
