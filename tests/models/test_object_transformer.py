"""Object Transformer: token layout, padding, LVU's encoder size; masked-instance pretraining."""

from __future__ import annotations

import torch

from movierep.models.object_transformer import (
    ObjectTransformer,
    ObjectTransformerConfig,
    SpanBatch,
    ot_paper,
)
from movierep.pretrain.masked_instances import MaskedInstancePrediction, mask_tracklets


def _batch(b=3, n=7, m=5, d_i=6, d_s=4, seed=0) -> SpanBatch:
    g = torch.Generator().manual_seed(seed)
    boxes = torch.rand(b, n, 2, generator=g) * 0.5
    return SpanBatch(
        inst_feat=torch.randn(b, n, d_i, generator=g),
        inst_box=torch.cat([boxes, boxes + 0.4], dim=-1),
        inst_second=torch.randint(0, 60, (b, n), generator=g),
        inst_shot=torch.randint(0, 4, (b, n), generator=g),
        inst_link=torch.randint(0, 3, (b, n), generator=g),
        inst_valid=torch.ones(b, n, dtype=torch.bool),
        scene_feat=torch.randn(b, m, d_s, generator=g),
        scene_second=torch.arange(m).repeat(b, 1) * 2,
        scene_valid=torch.ones(b, m, dtype=torch.bool),
        span_seconds=torch.full((b,), 60),
        span_shots=torch.full((b,), 4),
    )


def test_pathways_and_token_counts():
    b = _batch()
    for inst, scene, tokens in ((6, 0, 1 + 7), (0, 4, 1 + 5), (6, 4, 1 + 7 + 5)):
        model = ObjectTransformer(
            ObjectTransformerConfig(3, inst, scene, hidden=16, layers=1, heads=2)
        ).eval()
        out, keep = model.encode(b)
        assert out.shape == (3, tokens, 16) and keep.shape == (3, tokens)
        assert model(b).shape == (3, 3)


def test_padding_does_not_change_the_output():
    torch.manual_seed(0)
    model = ObjectTransformer(ObjectTransformerConfig(2, 6, 4, hidden=16, layers=2, heads=2)).eval()
    b = _batch(b=1, n=4, m=3)
    padded = _batch(b=1, n=9, m=6, seed=1)  # garbage after the real tokens
    for name in ("inst_feat", "inst_box", "inst_second", "inst_shot", "inst_link"):
        getattr(padded, name)[:, :4] = getattr(b, name)
    padded.scene_feat[:, :3], padded.scene_second[:, :3] = b.scene_feat, b.scene_second
    padded.inst_valid[:, 4:] = False
    padded.scene_valid[:, 3:] = False
    torch.testing.assert_close(model(padded), model(b), rtol=1e-5, atol=1e-5)


def test_paper_size_parameter_count():
    # LVU's encoder (3 layers, 12 heads, 768) over 2304-d SlowFast RoI features, 10 classes.
    model = ot_paper(10, instance_dim=2304)
    h, layers = 768, 3
    per_layer = 4 * h * h + 4 * h + 2 * 4 * h * h + 4 * h + h + 2 * 2 * h  # attn, FFN, 2 LN
    embeddings = (
        h  # CLS
        + 3 * h  # token types
        + 2 * (2 * 64 + 129) * h  # second and shot triples (64 up, 64 down, 129 centre)
        + 256 * h  # links
        + 2304 * h
        + h  # feature projection
        + 5 * h
        + h  # box projection
        + 2304  # mask vector
        + 2 * h  # LayerNorm
    )
    expected = embeddings + layers * per_layer + (h * h + h) + (h * 10 + 10)
    assert sum(p.numel() for p in model.parameters()) == expected


def test_mask_tracklets_masks_whole_tracklets():
    link = torch.tensor(
        [[0, 1, 0, 2, 1, 3, 4, 5, 6, 7, 8, 9], [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]]
    )
    valid = torch.ones_like(link, dtype=torch.bool)
    valid[1, 6:] = False
    masked = mask_tracklets(link, valid, 0.15, torch.Generator().manual_seed(0))
    for i in range(2):
        chosen = set(link[i][masked[i]].tolist())
        assert len(chosen) == (2 if i == 0 else 1)  # round(0.15 * 10) = 2; at least 1
        for j in range(link.shape[1]):  # every token of a chosen tracklet, and only those
            assert bool(masked[i, j]) == (valid[i, j].item() and link[i, j].item() in chosen)


def test_masked_instance_pretraining_learns():
    torch.manual_seed(0)
    model = ObjectTransformer(
        ObjectTransformerConfig(1, 6, 0, hidden=32, layers=1, heads=2, dropout=0.0)
    )
    objective = MaskedInstancePrediction(model, seed=0)
    opt = torch.optim.Adam(objective.parameters(), lr=3e-3)
    # each tracklet keeps its feature over time: a masked token is recoverable from nothing
    # but a tracklet's other tokens, which mask_tracklets removes; here features depend on
    # the second (smooth in time), so context predicts them.
    batch = _batch(b=8, n=12, m=1)
    batch.inst_feat = torch.sin(batch.inst_second[..., None] / 10.0 * torch.arange(1, 7))
    losses = []
    for _ in range(60):
        loss = objective(batch)["loss"]
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert sum(losses[-10:]) / 10 < 0.6 * sum(losses[:10]) / 10
