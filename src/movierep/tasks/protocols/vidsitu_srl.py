"""VidSitu semantic roles: TxD writes each event's roles from its features (Xiao et al. Table 1).

Each event is decoded on its own (VidSitu's ``SFPreFeats_TxEncDec``): the memory is the
event's feature, one visual token from the backbone or from TxE. The target is the verb
followed by every annotated role (:mod:`movierep.tasks.protocols.role_text`), and the decoder is
trained with teacher-forced cross-entropy on the train split's annotation. On the
evaluation split the verb is given: the first annotation's verb is forced as the first
token, as VidSitu does. The decoder then writes the roles greedily (or by beam search).
Scores come from :func:`movierep.metrics.vidsitu_srl.srl_metrics`: CIDEr, CIDEr-verb,
CIDEr-arg, ROUGE-L and LEA, mean ± s.e. over N seeded runs.

``vision=False`` trains the vision-blind decoder (the verb alone, the table's first row).

Both train through the head loop (:func:`movierep.tasks.heads.loop.train_head`), Adam on
minibatches drawn with replacement from the run's seed. The N seeded runs train one after
the other (:func:`train_decoder`); with ``batch_runs=True`` they train together as one
vmapped model (:func:`train_decoders`, :mod:`movierep.tasks.heads.module_ensemble`), which
is slower on CPU, where TxD is compute-bound.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from movierep.data.benchmarks.vidsitu import EVENT_KEYS, SCORED_ROLES, VidSituClip, arg_short_name
from movierep.metrics.vidsitu_srl import (
    SRL_METRICS,
    Annotation,
    EventRoles,
    select_references,
    srl_metrics,
)
from movierep.models.txd import TxD, TxDConfig
from movierep.tasks.heads.loop import train_head
from movierep.tasks.heads.module_ensemble import ModuleEnsemble
from movierep.tasks.heads.protocol import RunResult, ensemble_runs, repeat_runs
from movierep.tasks.protocols.role_text import RoleTokenizer


@dataclass(frozen=True)
class SRLConfig:
    """TxD's size, training and decoding; defaults are the paper's (VidSitu's release).

    Attributes:
        hidden_dim: d (1024).
        num_layers: decoder layers (3).
        num_heads: attention heads (8).
        ffn_dim: feed-forward width (2048).
        output_dim: width before the vocabulary projection (512).
        dropout: dropout (0.1).
        steps: Adam steps.
        batch_size: event sequences per step.
        lr: Adam learning rate (VidSitu: 1e-4).
        beam_size: 1 is greedy (VidSitu's setting).
        max_new_tokens: decoding length limit (60: a role sequence's maximum).
        vision: False for the vision-blind decoder.
        batch_runs: train the N seeded runs together under vmap (:func:`train_decoders`)
            instead of one after the other; ``None`` (default) is one after the other:
            TxD trains on the CPU, where vmap measured 1.3x slower per run
            (``benchmarks/results/head_ensembles.json``).
    """

    hidden_dim: int = 1024
    num_layers: int = 3
    num_heads: int = 8
    ffn_dim: int = 2048
    output_dim: int = 512
    dropout: float = 0.1
    steps: int = 2000
    batch_size: int = 32
    lr: float = 1e-4
    beam_size: int = 1
    max_new_tokens: int = 60
    vision: bool = True
    batch_runs: bool | None = None


#: A CPU-sized decoder for the demo corpus.
CPU = SRLConfig(hidden_dim=128, num_heads=4, ffn_dim=256, output_dim=128, steps=400, lr=1e-3)


def role_sequences(clips: Sequence[VidSituClip]) -> list[tuple[str, list[tuple[str, str]]]]:
    """Per (clip, event) of the first annotation: ``(verb, [(short role, text), ...])``."""
    out = []
    for clip in clips:
        for event in clip.annotations[0]:
            roles = [(str(arg_short_name(k)), v) for k, v in event.args.items()]
            out.append((event.verb_id, roles))
    return out


def scored_annotations(clip: VidSituClip) -> list[Annotation]:
    """The clip's annotations as the metrics read them: (verb, {scored role: text}) per event."""
    out: list[Annotation] = []
    for ann in clip.annotations:
        events: list[EventRoles] = []
        for e in ann:
            roles = {str(arg_short_name(k)): v for k, v in e.args.items()}
            events.append((e.verb_id, {r: t for r, t in roles.items() if r in SCORED_ROLES}))
        out.append(events)
    return out


def _padded(seqs: Sequence[list[int]], pad: int) -> torch.Tensor:
    width = max(len(s) for s in seqs)
    out = torch.full((len(seqs), width), pad, dtype=torch.long)
    for i, s in enumerate(seqs):
        out[i, : len(s)] = torch.tensor(s)
    return out


def _training_data(
    tok: RoleTokenizer, train_clips: Sequence[VidSituClip], x: np.ndarray
) -> tuple[torch.Tensor, torch.Tensor]:
    """Padded target tokens (E, L) and memories (E, 1, D) of every training event."""
    seqs = [tok.encode(verb, roles) for verb, roles in role_sequences(train_clips)]
    memory = torch.as_tensor(x, dtype=torch.float32).reshape(-1, 1, x.shape[-1])
    return _padded(seqs, tok.pad_id), memory


def _decoder(tok: RoleTokenizer, memory_dim: int, width: int, cfg: SRLConfig) -> TxD:
    """A fresh TxD for targets of ``width`` tokens (its init draws from torch's global RNG)."""
    return TxD(TxDConfig(
        vocab_size=len(tok), memory_dim=memory_dim, hidden_dim=cfg.hidden_dim,
        num_layers=cfg.num_layers, num_heads=cfg.num_heads, ffn_dim=cfg.ffn_dim,
        output_dim=cfg.output_dim, dropout=cfg.dropout,
        max_len=max(64, width + cfg.max_new_tokens), pad_id=tok.pad_id, vision=cfg.vision,
    ))  # fmt: skip


def train_decoder(
    tok: RoleTokenizer, train_clips: Sequence[VidSituClip], x: np.ndarray, cfg: SRLConfig, seed: int
) -> TxD:
    """Train TxD on the train clips' events; ``x`` (C, 5, D) their (standardised) features."""
    torch.manual_seed(seed)
    g = torch.Generator().manual_seed(seed)
    tokens, memory = _training_data(tok, train_clips, x)
    model = _decoder(tok, x.shape[-1], tokens.shape[1], cfg)
    batch = min(cfg.batch_size, len(tokens))
    minibatches = (torch.randint(len(tokens), (batch,), generator=g) for _ in range(cfg.steps))
    model.train()
    train_head(
        lambda idx: model.loss(tokens[idx], memory[idx]),
        minibatches,
        torch.optim.Adam(model.parameters(), lr=cfg.lr),
        cfg.steps,
    )
    return model.eval()


def train_decoders(
    tok: RoleTokenizer,
    train_clips: Sequence[VidSituClip],
    x: np.ndarray,
    cfg: SRLConfig,
    seeds: Sequence[int],
) -> list[TxD]:
    """:func:`train_decoder` for every seed, trained together as one vmapped model.

    Member r starts from the weights ``train_decoder(seed=seeds[r])`` starts from and sees
    the same minibatches; with ``dropout=0`` it ends with the same weights up to float
    rounding. Dropout masks come from torch's global stream (seeded with ``seeds[0]``), so
    with dropout a member matches its solo run in distribution only.
    """
    tokens, memory = _training_data(tok, train_clips, x)
    members = []
    for s in seeds:
        torch.manual_seed(s)
        members.append(_decoder(tok, x.shape[-1], tokens.shape[1], cfg))
    torch.manual_seed(seeds[0])
    batch = min(cfg.batch_size, len(tokens))
    gens = [torch.Generator().manual_seed(s) for s in seeds]
    idx = torch.stack(
        [torch.randint(len(tokens), (cfg.steps, batch), generator=g) for g in gens], 1
    )
    ens = ModuleEnsemble(members).train()
    train_head(
        lambda i: ens(TxD.loss, tokens[i], memory[i]).sum(),  # Σ_r of each member's mean loss
        idx,  # (R, B) per step
        torch.optim.Adam(ens.parameters(), lr=cfg.lr),
        cfg.steps,
    )
    return [ens.member(r, m).eval() for r, m in enumerate(members)]


def decode_roles(
    model: TxD, tok: RoleTokenizer, clips: Sequence[VidSituClip], x: np.ndarray, cfg: SRLConfig
) -> list[dict[str, Any]]:
    """Each clip's ``vb_output`` (``{"Ev1": {"vb_id", roles...}, ...}``) with the verb given."""
    feats = torch.as_tensor(x, dtype=torch.float32).reshape(-1, 1, x.shape[-1])
    verbs = [v for clip in clips for v in clip.verbs]
    prefix = torch.tensor([[tok.ids.get(v, tok.unk_id)] for v in verbs])
    outs = model.generate(
        prefix, feats, eos_id=tok.eos_id, max_new_tokens=cfg.max_new_tokens,
        beam_size=cfg.beam_size,
    )  # fmt: skip
    n = len(EVENT_KEYS)
    return [
        {
            ev: {"vb_id": verbs[i * n + k], **tok.decode(outs[i * n + k])}
            for k, ev in enumerate(EVENT_KEYS)
        }
        for i in range(len(clips))
    ]


def run_srl_task(
    train_clips: Sequence[VidSituClip],
    eval_clips: Sequence[VidSituClip],
    train_x: np.ndarray,
    eval_x: np.ndarray,
    *,
    runs: int = 10,
    cfg: SRLConfig = CPU,
    seed: int = 0,
) -> dict[str, Any]:
    """Train and decode TxD ``runs`` times; score each run's roles.

    Args:
        train_clips: the training split's clips.
        eval_clips: the evaluation split's clips, in ``ann_idx`` order.
        train_x: training event features, (C_train, 5, D).
        eval_x: evaluation event features, (C_eval, 5, D).
        runs: N, the number of seeded runs.
        cfg: decoder, training and decoding settings.
        seed: the first run's seed.

    Returns:
        ``{"runs", "summary": {metric: (mean, se)}, "predictions"}`` (the first run's
        submission: ``[{"ann_idx", "vb_output"}]``).
    """
    tok = RoleTokenizer.build(role_sequences(train_clips))
    references = select_references([scored_annotations(c) for c in eval_clips])
    flat = train_x.reshape(-1, train_x.shape[-1])
    mean, std = flat.mean(0), np.maximum(flat.std(0), 1e-6)
    train_x, eval_x = (train_x - mean) / std, (eval_x - mean) / std  # the memory's scale

    def score_run(model: TxD) -> RunResult:
        outputs = decode_roles(model, tok, eval_clips, eval_x, cfg)
        scores = srl_metrics(dict(enumerate(outputs)), references)
        return scores, [{"ann_idx": i, "vb_output": o} for i, o in enumerate(outputs)]

    if cfg.batch_runs:

        def train_all(seeds: list[int]) -> list[TxD]:
            return train_decoders(tok, train_clips, train_x, cfg, seeds)

        return ensemble_runs(train_all, score_run, runs, seed, SRL_METRICS)

    def run_once(run_seed: int) -> RunResult:
        return score_run(train_decoder(tok, train_clips, train_x, cfg, run_seed))

    return repeat_runs(run_once, runs, seed, SRL_METRICS)
