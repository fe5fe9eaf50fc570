"""Add TxE-contextualized features to an event-features table (``context_feature``).

Every event gets the TxE output at its own position in a window of N events of the same
video, centred on it where possible (position ⌊N/2⌋; near the ends of a video the window
shifts to stay inside it, and a video shorter than N uses all its events). Nothing is
masked. Windows take tokens at the token stride the TxE was pretrained with (see
``movierep.data.sequences``), so a TxE trained on 2 s-apart tokens sees 2 s-apart tokens.

``context_feature`` is the TxE output as-is (D_out = D_in by default, not normalised): the
same vector whose L2-normalised form ``v̂_t`` mask prediction trains.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import torch
from torch import nn

from movierep.checkpoint import read_config, read_inputs, resolve_input
from movierep.data.sequences import EventRuns, event_runs, token_step
from movierep.errors import UserError
from movierep.models import load_pretrained
from movierep.models.txe import TxE
from movierep.runlog import progress
from movierep.tables import embedding_array

CONTEXT_COLUMN = "context_feature"


def centred_windows(
    runs: EventRuns, num_tokens: int, steps: dict[str, int]
) -> dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """The context window of every event, grouped by window length.

    Args:
        runs: the sorted table and its runs of consecutive events.
        num_tokens: N, the TxE's sequence length.
        steps: events between neighbouring tokens, per movie (``token_step``).

    Returns:
        ``{n: (rows (W,), windows (W, n), position (W,))}``: for each sorted row, the row
        indices of its window and its own position in that window.
    """
    groups: dict[int, list[tuple[np.ndarray, np.ndarray, np.ndarray]]] = {}
    for run in runs.runs:
        k = steps[str(runs.movie_ids[run[0]])]
        for r in range(min(k, len(run))):
            chain = run[r::k]
            L = len(chain)
            n = min(num_tokens, L)
            j = np.arange(L)
            start = np.clip(j - num_tokens // 2, 0, L - n)
            windows = chain[start[:, None] + np.arange(n)[None, :]]
            groups.setdefault(n, []).append((chain, windows, j - start))
    return {
        n: (
            np.concatenate([g[0] for g in parts]),
            np.concatenate([g[1] for g in parts]),
            np.concatenate([g[2] for g in parts]),
        )
        for n, parts in groups.items()
    }


def _load_txe(txe_ckpt: nn.Module | str | Path) -> tuple[nn.Module, float | None]:
    """The TxE of a checkpoint folder (or a module) and the token stride it trained with."""
    if isinstance(txe_ckpt, nn.Module):
        return txe_ckpt, None
    meta = read_config(txe_ckpt)
    if meta["arch"] != "txe":
        raise UserError(f"{txe_ckpt}: not a TxE checkpoint (arch {meta['arch']!r})")
    return load_pretrained(txe_ckpt), read_inputs(txe_ckpt).token_stride


@torch.no_grad()
def contextualize(
    features_table: pa.Table,
    txe_ckpt: nn.Module | str | Path,
    device: str | torch.device = "cpu",
    batch_size: int = 256,
    *,
    token_stride: float | None = None,
    source: str | Path = "event_features",
) -> pa.Table:
    """Return ``features_table`` with a ``context_feature`` column of TxE outputs.

    Args:
        features_table: an event-features table (``feature`` of size D_in).
        txe_ckpt: a TxE checkpoint folder (``movierep train contextualizer``) or a TxE
            module (moved to ``device`` and left in eval mode).
        device: where TxE runs.
        batch_size: windows per forward pass.
        token_stride: seconds between tokens; ``None`` uses the checkpoint's training
            stride (consecutive events if it has none). A stride that contradicts the
            checkpoint's is refused.
        source: the table's file name, for error messages.

    Returns:
        The same rows in the same order, plus ``context_feature`` (fixed_size_list[D_out]);
        an existing ``context_feature`` column is replaced.
    """
    txe, trained_stride = _load_txe(txe_ckpt)
    if not isinstance(txe, TxE):
        raise UserError(f"{txe_ckpt}: expected a TxE model, got {type(txe).__name__}")
    runs = event_runs(features_table, source)
    if runs.features.shape[1] != txe.input_dim:
        raise UserError(
            f"{source}: features have D={runs.features.shape[1]} but the TxE "
            f"expects {txe.input_dim}"
        )
    stride = resolve_input(
        None if isinstance(txe_ckpt, nn.Module) else txe_ckpt,
        "token_stride", "token_stride=", token_stride, trained_stride, None,
    )  # fmt: skip
    steps = token_step(runs, stride, source)
    txe = txe.to(device).eval()
    context = np.zeros((len(runs.features), txe.output_dim), dtype=np.float32)
    groups = centred_windows(runs, txe.num_tokens, steps)
    chunks = [(n, i) for n, (rows, _, _) in groups.items() for i in range(0, len(rows), batch_size)]
    for n, i in progress(chunks, desc="contextualize", total=len(chunks), unit="batch"):
        rows, windows, position = (a[i : i + batch_size] for a in groups[n])
        x = torch.from_numpy(runs.features[windows]).to(device)  # (b, n, D_in)
        out = txe(x)  # (b, n, D_out)
        pos = torch.from_numpy(position).to(out.device)
        picked = out[torch.arange(len(rows), device=out.device), pos]  # (b, D_out)
        context[rows] = picked.float().cpu().numpy()
    unsorted = np.empty_like(context)
    unsorted[runs.order] = context  # sorted row i is original row order[i]
    column = embedding_array(unsorted)
    if CONTEXT_COLUMN in features_table.column_names:
        index = features_table.column_names.index(CONTEXT_COLUMN)
        return features_table.set_column(index, CONTEXT_COLUMN, column)
    return features_table.append_column(CONTEXT_COLUMN, column)
