from __future__ import annotations

from pathlib import Path

import pytest

from movierep.errors import UserError
from movierep.tasks.protocols.role_text import RoleTokenizer

EVENTS = [
    ("talk.01", [("Arg0", "the tall man"), ("Arg1", "the woman"), ("AScn", "a kitchen")]),
    ("push.01", [("Arg0", "the woman"), ("Arg1", "the tall man"), ("ADir", "to the left")]),
]


def test_encode_decode_round_trip_and_unknown_words(tmp_path: Path) -> None:
    tok = RoleTokenizer.build(EVENTS)
    ids = tok.encode(*EVENTS[0])
    assert tok.tokens[ids[0]] == "talk.01"
    assert ids[-1] == tok.eos_id
    assert [tok.tokens[i] for i in ids[1:5]] == ["<Arg0>", "the", "tall", "man"]
    assert len(ids) == 1 + (1 + 3) + (1 + 2) + (1 + 2) + 1
    assert tok.decode(ids[1:]) == dict(EVENTS[0][1])
    unknown = tok.encode("talk.01", [("Arg0", "the purple man")])
    assert tok.decode(unknown[1:]) == {"Arg0": "the <unk> man"}
    tok.save(tmp_path / "vocab.json")
    again = RoleTokenizer.load(tmp_path / "vocab.json")
    assert again.tokens == tok.tokens
    assert again.encode(*EVENTS[1]) == tok.encode(*EVENTS[1])


def test_truncation_keeps_eos_and_decoding_stops_there() -> None:
    tok = RoleTokenizer.build([("talk.01", [("Arg0", " ".join(["w"] * 100))])])
    ids = tok.encode("talk.01", [("Arg0", " ".join(["w"] * 100))])
    assert len(ids) == 60
    assert ids[-1] == tok.eos_id
    w = tok.ids["w"]
    assert tok.decode([w, tok.ids["<Arg1>"], w, tok.eos_id, tok.ids["<Arg2>"], w]) == {"Arg1": "w"}


def test_min_count_and_bad_input() -> None:
    tok = RoleTokenizer.build(EVENTS, min_count=2)
    assert "the" in tok.ids and "kitchen" not in tok.ids
    assert "push.01" in tok.ids  # verbs always get a token
    with pytest.raises(UserError, match="not in the role vocabulary"):
        tok.encode("fly.01", [])
    with pytest.raises(UserError, match="unknown role"):
        tok.encode("talk.01", [("Arg9", "x")])
