"""VidSitu reader on hand-written files in the real release's layout (benchmarks/vidsitu.md)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from movierep.data.benchmarks.vidsitu import (
    arg_short_name,
    load_verb_vocab,
    load_vidsitu,
    verb_id,
)
from movierep.errors import UserError

VID = "v_hTzUYt__ogY_seg_5_15"
VID2 = "v_-BQO5Xy2ebh_seg_20_30"


def _event(vid: str, ev: str, verb: str = "talk", arg0: str = "man in black suit") -> dict:
    rec = {
        "vid_uid": "u",
        "vid_seg_int": vid,
        "Verb": verb,
        "VerbID": verb_id(verb),
        "Arg_List": {"Scene of the Event": "2", "Arg0 (talker)": "0", "Arg2 (hearer)": "1"},
        "Args": {"Arg0 (talker)": arg0, "Arg2 (hearer)": "woman", "Scene of the Event": "office"},
    }
    if ev != "Ev3":
        rec["EvRel"] = "Causes" if ev in ("Ev1", "Ev2") else "NoRel"
    return rec


def _annotation(vid: str, **kw: str) -> dict:
    return {ev: _event(vid, ev, **kw) for ev in ("Ev1", "Ev2", "Ev3", "Ev4", "Ev5")}


def _write(root: Path, split: str, ids: list, vinfo: list | None, vsann: list) -> Path:
    ann = root / "vidsitu_annotations"
    for sub, name, obj in (
        ("split_files", f"vseg_split_{split}_lb.json", ids),
        ("vinfo_files", f"vinfo_{split}_lb.json", vinfo),
        ("vseg_ann_files", f"vsann_{split}_lb.json", vsann),
    ):
        if obj is not None:
            (ann / sub).mkdir(parents=True, exist_ok=True)
            (ann / sub / name).write_text(json.dumps(obj))
    return root


def _val_info(vid: str, votes: int = 10) -> dict:
    lists = {
        ev: ["talk.01"] * (votes - 1) + ["speak.01"] for ev in ("Ev1", "Ev2", "Ev3", "Ev4", "Ev5")
    }
    return {"vid_seg_int": vid, "start": 5, "end": 15, "vbid_lst": lists}


def test_arg_mapper_matches_vidsitu() -> None:
    assert arg_short_name("Arg0 (talker)") == "Arg0"
    assert arg_short_name("Arg5 (x)") == "Arg5"
    assert arg_short_name("Scene of the Event") == "AScn"
    assert arg_short_name("ArgM (location)") == "ALoc"
    assert arg_short_name("ArgM (temporal)") is None
    assert arg_short_name("ArgM (manner of speaking)") == "AMnr"  # substring, as evl_fns.py
    assert arg_short_name("Arg1") == "Arg1"
    assert arg_short_name("Agent") is None
    assert verb_id("talk") == "talk.01"
    assert verb_id("speak.02") == "speak.02"


def test_reads_train_and_val_in_split_order(tmp_path: Path) -> None:
    _write(
        tmp_path,
        "train",
        [VID2, VID],
        [{"vid_seg_int": VID}, {"vid_seg_int": VID2}],
        [_annotation(VID), _annotation(VID2, verb="walk")],
    )
    clips = load_vidsitu(tmp_path, "train")
    assert [c.vid_seg_int for c in clips] == [VID2, VID]
    assert clips[0].verbs == ("walk.01",) * 5
    assert clips[0].verb_votes is None
    event = clips[1].annotations[0][0]
    assert list(event.args) == [
        "Arg0 (talker)",
        "Arg2 (hearer)",
        "Scene of the Event",
    ]  # Arg_List order
    assert event.roles == {"Arg0": "man in black suit", "Arg2": "woman", "AScn": "office"}
    assert [e.evrel for e in clips[1].annotations[0]] == [
        "Causes",
        "Causes",
        None,
        "NoRel",
        "NoRel",
    ]
    assert clips[1].video is None
    assert clips[1].event_window(2) == (4.0, 6.0)

    _write(
        tmp_path,
        "valid",
        [VID],
        [_val_info(VID)],
        [_annotation(VID), _annotation(VID, arg0="a man"), _annotation(VID, arg0="guy")],
    )
    (tmp_path / "videos").mkdir()
    (tmp_path / "videos" / f"{VID}.mp4").write_bytes(b"")
    (val,) = load_vidsitu(tmp_path, "val")
    assert len(val.annotations) == 3
    assert val.verb_votes is not None
    assert val.verb_votes[0].count("talk.01") == 9
    assert val.video == tmp_path / "videos" / f"{VID}.mp4"


@pytest.mark.parametrize(
    ("vinfo", "vsann", "message"),
    [
        ([_val_info(VID, votes=8)], [_annotation(VID)] * 3, r"Ev1 needs >= 9 verb votes"),
        ([_val_info(VID)], [_annotation(VID)] * 2, r"has 2 annotation\(s\), needs >= 3"),
        (
            [_val_info(VID)],
            [_annotation(VID)] * 2 + [_annotation(VID, arg0="")],
            None,
        ),  # one empty reference is fine
        ([_val_info(VID)], [_annotation(VID, arg0="")] * 3, r"role 'Arg0 \(talker\)' is empty"),
    ],
)
def test_val_checks_of_the_official_evaluator(
    tmp_path: Path, vinfo: list, vsann: list, message: str | None
) -> None:
    _write(tmp_path, "valid", [VID], vinfo, vsann)
    if message is None:
        assert len(load_vidsitu(tmp_path, "valid")[0].annotations) == 3
        return
    with pytest.raises(UserError, match=message) as err:
        load_vidsitu(tmp_path, "valid")
    assert "_lb.json" in str(err.value)


def test_malformed_annotations_name_the_file_and_record(tmp_path: Path) -> None:
    bad = _annotation(VID)
    del bad["Ev4"]["EvRel"]
    _write(tmp_path, "train", [VID], None, [bad])
    with pytest.raises(UserError, match=r"vsann_train_lb.json: annotation 0 .*Ev4.*EvRel None"):
        load_vidsitu(tmp_path, "train")
    bad = _annotation(VID)
    bad["Ev2"]["Args"]["Agent"] = "x"
    bad["Ev2"]["Arg_List"]["Agent"] = "3"
    _write(tmp_path, "train", [VID], None, [bad])
    with pytest.raises(UserError, match=r"role key 'Agent' does not map"):
        load_vidsitu(tmp_path, "train")
    different = _annotation(VID)
    del different["Ev1"]["Args"]["Arg2 (hearer)"], different["Ev1"]["Arg_List"]["Arg2 (hearer)"]
    _write(tmp_path, "valid", [VID], [_val_info(VID)], [_annotation(VID)] * 2 + [different])
    with pytest.raises(UserError, match=r"Ev1: annotators use different role keys"):
        load_vidsitu(tmp_path, "valid")
    _write(tmp_path, "train", [VID, VID], None, [])
    with pytest.raises(UserError, match=r"vseg_split_train_lb.json: entry 1: duplicate"):
        load_vidsitu(tmp_path, "train")
    (tmp_path / "vidsitu_annotations/split_files/vseg_split_train_lb.json").write_text('[\n"x",')
    with pytest.raises(UserError, match=r"vseg_split_train_lb.json: line 2: invalid JSON"):
        load_vidsitu(tmp_path, "train")
    with pytest.raises(UserError, match="unknown VidSitu split"):
        load_vidsitu(tmp_path, "dev")


def test_verb_vocab(tmp_path: Path) -> None:
    (tmp_path / "vsitu_vocab").mkdir()
    path = tmp_path / "vsitu_vocab" / "verb_id_vocab.json"
    path.write_text(json.dumps({"<s>": 0, "<pad>": 1, "</s>": 2, "<unk>": 3, "speak.01": 4}))
    assert load_verb_vocab(tmp_path)["speak.01"] == 4
    path.write_text(json.dumps({"<s>": 0, "speak.01": 4}))
    with pytest.raises(UserError, match=r"indices are not 0\.\.1"):
        load_verb_vocab(tmp_path)
