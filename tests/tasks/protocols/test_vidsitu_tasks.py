"""VidSitu verb and relation tasks on synthetic clips whose features carry (or lack) the answer."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from movierep.checkpoint import save_checkpoint
from movierep.data.benchmarks.vidsitu import EVREL_LABELS, VidSituClip, VidSituEvent, load_vidsitu
from movierep.models.factory import create_model
from movierep.models.slow_d import slow_d_tiny
from movierep.tasks.heads.feature_classifier import ClassifierConfig
from movierep.tasks.protocols.vidsitu_features import vidsitu_event_features
from movierep.tasks.protocols.vidsitu_relations import pair_features, run_relation_task
from movierep.tasks.protocols.vidsitu_verbs import run_verb_task, training_verbs

VERBS = [f"v{i}.01" for i in range(6)]
FAST = ClassifierConfig(hidden=(32,), steps=100, dropout=0.0, lr=5e-3)


def make_clips(
    n: int, annotators: int, rng: np.random.Generator
) -> tuple[list[VidSituClip], np.ndarray]:
    """Clips with random verbs and relations; features (n, 5, 20) hold the verb one-hot."""
    clips, feats = [], np.zeros((n, 5, 8 + 12), np.float32)
    for i in range(n):
        verbs = rng.choice(VERBS, 5)
        rels = rng.choice(EVREL_LABELS, 4)
        events = []
        for k in range(5):
            rel = None if k == 2 else str(rels[[0, 1, None, 2, 3][k]])
            events.append(VidSituEvent(str(verbs[k]), {"Arg0 (agent)": "x"}, rel))
            feats[i, k, VERBS.index(verbs[k])] = 1.0
        votes = tuple(tuple([str(verbs[k])] * 7 + [VERBS[0]] * 3) for k in range(5))
        clips.append(VidSituClip(f"v_{i}_seg_0_10", {}, votes, tuple([tuple(events)] * annotators)))
    return clips, feats


def test_verbs_are_learned_from_features_that_carry_them() -> None:
    rng = np.random.default_rng(0)
    train, x_train = make_clips(80, 1, rng)
    val, x_val = make_clips(30, 3, rng)
    assert training_verbs(train)[:5] == [e.verb_id for e in train[0].annotations[0]]
    good = run_verb_task(train, val, x_train, x_val, runs=2, head=FAST)
    noise = run_verb_task(
        train, val, rng.normal(size=x_train.shape), rng.normal(size=x_val.shape), runs=2, head=FAST
    )
    assert good["summary"]["Acc@1"][0] > 0.95
    assert good["summary"]["Acc@5"][0] == 1.0
    assert noise["summary"]["Acc@1"][0] < 0.5
    assert len(good["runs"]) == 2
    sub = good["predictions"]
    assert [s["ann_idx"] for s in sub] == list(range(30))
    assert np.array(sub[0]["pred_vbs_ev"]).shape == (5, 5)
    json.dumps(sub)  # builtin types only


def test_relations_use_the_pair_features_and_the_two_of_three_rule() -> None:
    rng = np.random.default_rng(1)
    train, x_train = make_clips(120, 1, rng)
    val, x_val = make_clips(40, 3, rng)
    # relation p of each clip, one-hot, in the features of the pair's events
    for clips, x in ((train, x_train), (val, x_val)):
        for i, c in enumerate(clips):
            for ev in (0, 1, 3, 4):
                x[i, ev, 8 + EVREL_LABELS.index(str(c.annotations[0][ev].evrel))] = 1.0
    assert pair_features(x_val).shape == (40, 4, 2 * x_val.shape[-1])
    good = run_relation_task(train, val, x_train, x_val, runs=2, head=FAST)
    assert good["summary"]["Top-1"][0] > 0.95
    assert good["summary"]["Mean-Acc"][0] > 0.95
    noise = run_relation_task(
        train, val, rng.normal(size=x_train.shape), rng.normal(size=x_val.shape), runs=2, head=FAST
    )
    assert noise["summary"]["Top-1"][0] < 0.6
    sub = good["predictions"][0]
    assert np.array(sub["pred_evrels_ev"]).shape == (4, 3)


def test_event_features_of_corpus_clips_from_a_backbone_and_a_txe(
    tiny_corpus: Path, tmp_path: Path
) -> None:
    clips = load_vidsitu(tiny_corpus / "vidsitu", "val")
    model = slow_d_tiny()
    run_config = {"data": {"num_frames": 4, "frame_stride": 6, "crop_size": 32}}
    save_checkpoint(tmp_path / "bb", model, "slow_d", model.model_kwargs, run_config=run_config)
    x = vidsitu_event_features(clips, tmp_path / "bb", tmp_path / "f.parquet")
    assert x.shape == (len(clips), 5, model.feature_dim)
    assert not np.allclose(x[:, 0], x[:, 1])  # five different events
    kwargs = {"input_dim": model.feature_dim, "hidden_dim": 32, "num_layers": 1, "num_heads": 2}
    save_checkpoint(tmp_path / "txe", create_model("txe", **kwargs), "txe", kwargs)
    c = vidsitu_event_features(
        clips, tmp_path / "bb", tmp_path / "f.parquet", contextualizer=tmp_path / "txe"
    )
    assert c.shape == x.shape
    assert not np.allclose(c, x)
    with pytest.raises(Exception, match="no video"):
        vidsitu_event_features(
            [VidSituClip("v_x_seg_0_10", {}, None)], tmp_path / "bb", tmp_path / "g.parquet"
        )
