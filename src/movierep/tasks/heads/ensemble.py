r"""R seeded runs of an MLP head trained as one batched model (issue 30).

Every downstream protocol trains its head N times with seeds ``s_1 .. s_R`` and reports
mean ± standard error (Xiao et al. §4). Trained one after the other, every run pays the
per-step framework overhead (operator dispatch, autograd, an optimizer pass) on its own.
:class:`MLPEnsemble` keeps the R heads' weights stacked,
``W_l (R, in, out)`` and ``b_l (R, 1, out)``, so one ``torch.baddbmm`` per layer runs every
member at once::

    h_0   = (x[idx_r] − μ) / σ                        (R, B, D)  statistics shared
    h_l   = m_l^r ⊙ ReLU(h_{l−1} W_l[r] + b_l[r])     (R, B, H_l)  m: dropout mask / (1 − p)
    z     = h_{L−1} W_L[r] + b_L[r]                     (R, B, C)
    loss  = Σ_r  mean_b ℓ(z[r, b], y[idx_r[b]])

Member r is exactly its seed's single run, up to float rounding:

- **init**: its layers are those of the single head (:func:`mlp`) built right after
  ``torch.manual_seed(s_r)`` (the caller's RNG state is restored afterwards);
- **data**: its minibatch indices are drawn with replacement from
  ``torch.Generator().manual_seed(s_r)``, the stream the single run always used;
- **dropout**: its masks come from its own ``numpy.random.default_rng(s_r)`` (uniforms
  ``u ≥ p`` keep a unit), not from torch's global RNG as ``nn.Dropout`` did before
  issue 30, so the single run's dropout stream changed then (same distribution);
- **loss**: the sum over members of each member's mean loss, so no gradient mixes members;
- **optimizer**: AdamW and SGD (with momentum and L2 weight decay) are elementwise, so one
  optimiser over the stacked tensors makes every member's own update.

The single run *is* the 1-member ensemble (``fit_classifier`` and friends), so member r of
``seeds=[…, s, …]`` equals the run with ``seed=s``; only the matmuls' blocking differs.
:class:`MLPEnsemble` is the shared part; the classifier and regressor ensembles beside their
single heads add ``member(r)``, a plain module with member r's weights.

Speed (``benchmarks/head_ensembles.py``, one CPU thread): a linear head is overhead-bound
and trains ~5x faster per run at R = 10; heads with 512-1024-wide hidden layers are
compute-bound on a CPU (the batched matmuls run near the core's peak), so batching saves
only the overhead and the old loop's slow optimizer and dropout draws: ~1.5-2x per run.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from movierep.tasks.heads.loop import train_head

#: The optimisers a head trains with: AdamW (the CPU profiles), SGD (the M2S supplement).
OPTIMIZERS = ("adamw", "sgd")

#: Most floats of minibatch rows and dropout uniforms drawn at once (all members): the
#: training loop draws them in chunks of steps.
CHUNK_ELEMENTS = 1 << 22


def mlp(dim: int, out: int, hidden: Sequence[int] = (), dropout: float = 0.0) -> nn.Sequential:
    """The single head: ``[Linear → ReLU → Dropout]`` per hidden width, then ``Linear``.

    Shape: (N, D) -> (N, out). Layer ``3·l`` is the l-th ``Linear``.
    """
    layers: list[nn.Module] = []
    width = dim
    for h in hidden:
        layers += [nn.Linear(width, h), nn.ReLU(), nn.Dropout(dropout)]
        width = h
    layers.append(nn.Linear(width, out))
    return nn.Sequential(*layers)


def _ce(z: Tensor, y: Tensor) -> Tensor:
    return F.cross_entropy(z.flatten(0, 1), y.flatten(), reduction="sum")


def _bce(z: Tensor, y: Tensor) -> Tensor:
    return F.binary_cross_entropy_with_logits(z, y, reduction="sum") / z.shape[-1]


def _mse(z: Tensor, y: Tensor) -> Tensor:
    return F.mse_loss(z.squeeze(-1), y, reduction="sum")


#: Loss per name: outputs (R, B, C) and targets (R, B[, C]) -> Σ over members and rows of the
#: row's loss (BCE: mean over the C labels). The loop divides by B: Σ_r mean_b.
LOSSES: dict[str, Callable[[Tensor, Tensor], Tensor]] = {
    "cross_entropy": _ce,  # targets (R, B) long class ids
    "binary_cross_entropy": _bce,  # targets (R, B, C) 0/1 floats
    "mse": _mse,  # targets (R, B) floats, C = 1
}


class MLPEnsemble(nn.Module):
    """R MLP heads of one shape, weights stacked; member r initialised as seed ``seeds[r]``.

    Shape: raw features (N, D) -> (R, N, C) outputs of every member (evaluation: no dropout;
    :func:`fit_ensemble` applies each member's own masks while training).

    Args:
        dim: D.
        out: C, outputs per member.
        hidden: hidden widths (``()``: linear heads).
        dropout: p, dropout after every hidden ReLU (training only).
        seeds: one seed per member: its init, minibatches and dropout masks.
    """

    mean: Tensor  # (D,) training-set statistics shared by the members, buffers
    std: Tensor

    def __init__(
        self,
        dim: int,
        out: int,
        hidden: Sequence[int] = (),
        dropout: float = 0.0,
        seeds: Sequence[int] = (0,),
    ) -> None:
        super().__init__()
        if not seeds:
            raise ValueError("an ensemble needs at least one seed")
        self.dim, self.out, self.hidden = dim, out, tuple(hidden)
        self.dropout, self.seeds = float(dropout), tuple(int(s) for s in seeds)
        self.register_buffer("mean", torch.zeros(dim))
        self.register_buffer("std", torch.ones(dim))
        members = []
        with torch.random.fork_rng(devices=[]):
            for s in self.seeds:
                torch.manual_seed(s)
                members.append([m for m in mlp(dim, out, hidden) if isinstance(m, nn.Linear)])
        self.weights = nn.ParameterList(
            nn.Parameter(torch.stack([m[k].weight.detach().T for m in members]).contiguous())
            for k in range(len(self.hidden) + 1)
        )  # (R, in, out) per layer
        self.biases = nn.ParameterList(
            nn.Parameter(torch.stack([m[k].bias.detach()[None] for m in members]))
            for k in range(len(self.hidden) + 1)
        )  # (R, 1, out) per layer

    def __len__(self) -> int:
        """R, the number of members."""
        return len(self.seeds)

    @torch.no_grad()
    def fit_statistics(self, x: Tensor) -> None:
        """Set the shared standardisation to the training features' mean and s.d. (N, D).

        A constant (or single-row) dimension gets s.d. 1 (at least 1e-6 otherwise).
        """
        self.mean.copy_(x.mean(0))
        self.std.copy_(x.std(0).nan_to_num(1.0).clamp_min(1e-6))

    def standardise(self, x: Tensor) -> Tensor:
        """(N, D) raw -> (N, D) standardised features."""
        return (x - self.mean) / self.std

    def outputs(self, h: Tensor, masks: Sequence[Tensor] | None = None) -> Tensor:
        """Every member's outputs (R, B, C) of its own standardised inputs ``h`` (R, B, D).

        Args:
            h: standardised inputs, one batch per member (may be an expanded view).
            masks: per hidden layer, (R, B, H_l) scaled dropout masks, or None (no dropout).
        """
        last = len(self.weights) - 1
        for k, (w, b) in enumerate(zip(self.weights, self.biases, strict=True)):
            h = torch.baddbmm(b, h, w)
            if k < last:
                h = h.relu()
                if masks is not None:
                    h = h * masks[k]
        return h

    def forward(self, x: Tensor) -> Tensor:
        """Outputs (R, N, C) of raw features (N, D), every member on the same rows."""
        h = self.standardise(x)
        return self.outputs(h.expand(len(self), *h.shape))

    def member_state(self, r: int) -> dict[str, Tensor]:
        """Member r as the single head's state: ``mean``, ``std``, ``mlp.{3l}.weight|bias``."""
        state = {"mean": self.mean.clone(), "std": self.std.clone()}
        for k, (w, b) in enumerate(zip(self.weights, self.biases, strict=True)):
            state[f"mlp.{3 * k}.weight"] = w[r].detach().T.contiguous()
            state[f"mlp.{3 * k}.bias"] = b[r, 0].detach().clone()
        return state


def fit_ensemble(
    model: MLPEnsemble,
    x: Tensor,
    target: Tensor,
    loss: str,
    *,
    steps: int,
    batch_size: int,
    lr: float,
    weight_decay: float,
    optimizer: str = "adamw",
    momentum: float = 0.0,
) -> MLPEnsemble:
    """Train every member of ``model`` with AdamW or SGD on minibatches of ``(x, target)``.

    Member r draws ``min(batch_size, N)`` rows with replacement per step from its seed's
    ``torch.Generator`` and its dropout masks from its seed's NumPy generator (see the
    module docstring); all members step together, through the head loop
    (:func:`~movierep.tasks.heads.loop.train_head`). ``model``'s statistics must be set
    (:meth:`MLPEnsemble.fit_statistics`).

    Args:
        model: the ensemble (trained in place and returned, in eval mode).
        x: (N, D) raw training features.
        target: (N,) class ids (``cross_entropy``), (N, C) 0/1 (``binary_cross_entropy``)
            or (N,) floats (``mse``), as :data:`LOSSES` reads them.
        loss: a key of :data:`LOSSES`.
        steps: optimiser steps.
        batch_size: rows per member and step.
        lr: learning rate.
        weight_decay: AdamW's decoupled weight decay, or SGD's L2 term.
        optimizer: ``adamw`` or ``sgd`` (:data:`OPTIMIZERS`).
        momentum: SGD's momentum.
    """
    if loss not in LOSSES:
        raise ValueError(f"unknown loss {loss!r} (known: {', '.join(LOSSES)})")
    if optimizer not in OPTIMIZERS:
        raise ValueError(f"unknown optimizer {optimizer!r} (known: {', '.join(OPTIMIZERS)})")
    if len(x) != len(target) or len(x) == 0:
        raise ValueError(f"need as many targets as features, got {len(target)} and {len(x)}")
    criterion = LOSSES[loss]
    n, members, p = len(x), len(model), model.dropout
    batch = min(batch_size, n)
    xs = model.standardise(x).detach()  # (N, D): every row standardised once
    index_gens = [torch.Generator().manual_seed(s) for s in model.seeds]
    widths = model.hidden if p > 0 else ()
    mask_gens = [np.random.default_rng(s) for s in model.seeds] if widths else []
    keep_scale = 1.0 / (1.0 - p) if p < 1 else 0.0
    per_step = members * batch * (x.shape[1] + sum(widths))
    chunk = max(1, min(steps, CHUNK_ELEMENTS // per_step))
    opt: torch.optim.Optimizer
    if optimizer == "sgd":
        opt = torch.optim.SGD(
            model.parameters(), lr=lr, momentum=momentum, weight_decay=weight_decay, foreach=True
        )
    else:
        opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay, fused=True)

    def minibatches() -> Iterator[tuple[Tensor, Tensor, Sequence[Tensor] | None]]:
        """Per step: every member's rows (R, B, D), targets (R, B, ...) and dropout masks."""
        for start in range(0, steps, chunk):
            k = min(chunk, steps - start)
            idx = torch.stack([torch.randint(n, (k, batch), generator=g) for g in index_gens], 1)
            flat = idx.flatten()  # (K·R·B,): one gather for the chunk's minibatches
            xb = xs.index_select(0, flat).view(k, members, batch, -1)
            yb = target.index_select(0, flat).view(k, members, batch, *target.shape[1:])
            masks = _masks(mask_gens, (k, batch, sum(widths)), p, keep_scale) if widths else None
            for t in range(k):
                layer_masks = None if masks is None else torch.split(masks[t], list(widths), -1)
                yield xb[t], yb[t], layer_masks

    def step_loss(b: tuple[Tensor, Tensor, Sequence[Tensor] | None]) -> Tensor:
        xb, yb, layer_masks = b
        return criterion(model.outputs(xb, layer_masks), yb) / batch  # outputs (R, B, C)

    model.train()
    train_head(step_loss, minibatches(), opt, steps)
    return model.eval()


def _masks(
    gens: Sequence[np.random.Generator], shape: tuple[int, int, int], p: float, scale: float
) -> Tensor:
    """(K, R, B, ΣH) scaled keep masks; member r's uniforms come from ``gens[r]`` in order."""
    u = np.empty((len(gens), *shape), dtype=np.float32)
    for r, g in enumerate(gens):
        g.random(out=u[r], dtype=np.float32)
    keep = torch.from_numpy(u) >= p
    return keep.to(torch.float32).mul_(scale).transpose(0, 1)
