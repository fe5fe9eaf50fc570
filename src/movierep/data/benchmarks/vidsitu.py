"""Read VidSitu annotations (Sadhu et al., CVPR 2021): the real release or the corpus export.

Layout (``shared/benchmarks/vidsitu.md`` §1)::

    <root>/vidsitu_annotations/split_files/vseg_split_<split>_lb.json  ["v_<id>_seg_<s>_<e>"]
    <root>/vidsitu_annotations/vinfo_files/vinfo_<split>_lb.json       [{vid_seg_int, vbid_lst}]
    <root>/vidsitu_annotations/vseg_ann_files/vsann_<split>_lb.json    [{"Ev1": {...}, ...}]
    <root>/vsitu_vocab/verb_id_vocab.json                              {symbol: index}
    <root>/videos/<vid_seg_int>.mp4   or   <root>/vsitu_video_frames/<vid>/<vid>_000001.jpg

A clip is 10 s = five 2 s events ``Ev1..Ev5``. Each annotation gives per event a verb id
(``talk.01``), roles ``Args`` keyed by raw PropBank-style names (``"Arg0 (talker)"``,
``"Scene of the Event"``; :func:`arg_short_name` maps them to ``Arg0``/``AScn``/...) and,
for Ev1, Ev2, Ev4, Ev5, ``EvRel`` relative to Ev3. :func:`load_vidsitu` checks what the
official evaluator demands (``benchmarks.md`` "Decisions"): val events have >= 9 verb votes,
val clips >= 3 annotations that share role keys per event, every key maps, no role is
empty for every annotator, and every annotation has ``EvRel`` on Ev1, Ev2, Ev4, Ev5.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from movierep.errors import UserError
from movierep.files import read_json as _read_json

EVENT_KEYS = ("Ev1", "Ev2", "Ev3", "Ev4", "Ev5")
EVREL_KEYS = ("Ev1", "Ev2", "Ev4", "Ev5")
EVREL_LABELS = ("Causes", "Reaction To", "Enables", "NoRel")
SCORED_ROLES = ("Arg0", "Arg1", "Arg2", "ALoc", "AScn")
EVENT_SECONDS = 2.0
MIN_VERB_VOTES = 9
MIN_VAL_ANNOTATIONS = 3
SPLIT_FILE_NAMES = {
    "train": "train",
    "val": "valid",
    "valid": "valid",
    "testvb": "testvb",
    "testsrl": "testsrl",
    "testevrel": "testevrel",
}
# ArgM keys map by the first of these words in their description (evl_fns.py arg_mapper)
_ARGM_SHORT = (
    ("direction", "ADir"),
    ("purpose", "APrp"),
    ("manner", "AMnr"),
    ("location", "ALoc"),
    ("goal", "AGol"),
)
_ARG_NAMES = frozenset(f"Arg{i}" for i in range(6))


def verb_id(verb: str) -> str:
    """The PropBank-style id of a verb: ``"push"`` -> ``"push.01"`` (ids pass unchanged)."""
    return verb if "." in verb else f"{verb.replace(' ', '_')}.01"


def arg_short_name(raw_key: str) -> str | None:
    """VidSitu's ``arg_mapper`` (``vidsitu_code/evl_fns.py``) from raw role key to short name.

    ``"Arg0 (agent)"`` -> ``"Arg0"`` (first word ``Arg0``..``Arg5``), ``"Scene of the Event"``
    -> ``"AScn"``, ``"ArgM (<...>)"`` -> ``ADir``/``APrp``/``AMnr``/``ALoc``/``AGol`` by the
    first of direction/purpose/manner/location/goal found in the description. Returns None
    where the official evaluator raises (any other key).
    """
    head = raw_key.split(" ")[0]
    if head in _ARG_NAMES:
        return head
    if raw_key == "Scene of the Event":
        return "AScn"
    if raw_key.startswith("ArgM "):
        detail = raw_key[len("ArgM ") :]
        for word, short in _ARGM_SHORT:
            if word in detail:
                return short
    return None


@dataclass(frozen=True)
class VidSituEvent:
    """One annotator's view of one 2 s event.

    Attributes:
        verb_id: e.g. ``"talk.01"``.
        args: raw role key -> text, in ``Arg_List`` order.
        evrel: relation to Ev3 (None for Ev3).
    """

    verb_id: str
    args: dict[str, str]
    evrel: str | None

    @property
    def roles(self) -> dict[str, str]:
        """Short role name (``Arg0``, ``AScn``, ...) -> text."""
        return {str(arg_short_name(k)): v for k, v in self.args.items()}


@dataclass(frozen=True)
class VidSituClip:
    """A 10 s clip with its metadata, verb votes (val) and annotations (one per annotator).

    Attributes:
        vid_seg_int: clip id ``v_<youtube id>_seg_<start>_<end>``.
        info: the clip's ``vinfo`` record ({} when the split has no vinfo file).
        verb_votes: per event the annotators' verb ids (val/test only, else None).
        annotations: per annotator, the five events Ev1..Ev5.
        video: the clip's ``.mp4`` or 30 fps frame folder, None when absent.
    """

    vid_seg_int: str
    info: dict[str, Any]
    verb_votes: tuple[tuple[str, ...], ...] | None
    annotations: tuple[tuple[VidSituEvent, ...], ...] = field(default=())
    video: Path | None = None

    @property
    def verbs(self) -> tuple[str, ...]:
        """The verb id of each event used for SRL (the first annotation's)."""
        return tuple(e.verb_id for e in self.annotations[0]) if self.annotations else ()

    @staticmethod
    def event_window(k: int) -> tuple[float, float]:
        """Start and end second of event ``k`` (0..4) inside the clip."""
        return k * EVENT_SECONDS, (k + 1) * EVENT_SECONDS


def annotation_dir(root: Path) -> Path:
    """The ``vidsitu_annotations`` folder under ``root`` (or ``root`` itself)."""
    return root / "vidsitu_annotations" if (root / "vidsitu_annotations").is_dir() else root


def load_vidsitu(root: Path, split: str) -> list[VidSituClip]:
    """Read one split of VidSitu in split-file order (``ann_idx`` = list index).

    Args:
        root: folder holding ``vidsitu_annotations/`` (and ``videos/`` or frame folders).
        split: ``train``, ``val``/``valid``, ``testvb``, ``testsrl`` or ``testevrel``.

    Raises:
        UserError: a missing file or anything the official evaluator would reject, naming
            the file and the record.
    """
    if split not in SPLIT_FILE_NAMES:
        raise UserError(f"unknown VidSitu split {split!r} (known: {', '.join(SPLIT_FILE_NAMES)})")
    name = SPLIT_FILE_NAMES[split]
    ann = annotation_dir(Path(root))
    split_path = ann / "split_files" / f"vseg_split_{name}_lb.json"
    ids = _read_split(split_path)
    info = _read_vinfo(ann / "vinfo_files" / f"vinfo_{name}_lb.json", set(ids))
    votes = {
        vid: _votes(vid, rec, ann / "vinfo_files" / f"vinfo_{name}_lb.json")
        for vid, rec in info.items()
        if "vbid_lst" in rec
    }
    vsann_path = ann / "vseg_ann_files" / f"vsann_{name}_lb.json"
    annotations = _read_vsann(vsann_path, set(ids)) if vsann_path.is_file() else {}
    is_eval = name != "train"
    clips = []
    for vid in ids:
        anns = annotations.get(vid, [])
        if vsann_path.is_file():
            _check_clip(vsann_path, vid, anns, evaluation=is_eval)
        if is_eval and info and vid not in votes:
            raise UserError(f"{ann / 'vinfo_files'}: clip {vid} has no vbid_lst verb votes")
        clips.append(
            VidSituClip(
                vid, info.get(vid, {}), votes.get(vid), tuple(anns), _video(Path(root), vid)
            )
        )
    return clips


def load_verb_vocab(root: Path) -> dict[str, int]:
    """``vsitu_vocab/verb_id_vocab.json``: symbol -> index (special symbols first)."""
    path = Path(root) / "vsitu_vocab" / "verb_id_vocab.json"
    vocab = _read_json(path)
    if not isinstance(vocab, dict) or not all(
        isinstance(k, str) and isinstance(v, int) for k, v in vocab.items()
    ):
        raise UserError(f"{path}: expected a JSON object of symbol -> integer index")
    if sorted(vocab.values()) != list(range(len(vocab))):
        raise UserError(f"{path}: indices are not 0..{len(vocab) - 1}")
    return vocab


def _read_split(path: Path) -> list[str]:
    ids = _read_json(path)
    if not isinstance(ids, list) or not all(isinstance(v, str) for v in ids):
        raise UserError(f"{path}: expected a JSON list of vid_seg_int strings")
    seen: set[str] = set()
    for i, vid in enumerate(ids):
        if vid in seen:
            raise UserError(f"{path}: entry {i}: duplicate vid_seg_int {vid}")
        if not (vid.startswith("v_") and "_seg_" in vid):
            raise UserError(f"{path}: entry {i}: {vid!r} is not v_<id>_seg_<start>_<end>")
        seen.add(vid)
    return list(ids)


def _read_vinfo(path: Path, ids: set[str]) -> dict[str, dict[str, Any]]:
    if not path.is_file():
        return {}
    records = _read_json(path)
    if not isinstance(records, list):
        raise UserError(f"{path}: expected a JSON list of records")
    out: dict[str, dict[str, Any]] = {}
    for i, rec in enumerate(records):
        if not isinstance(rec, dict) or not isinstance(rec.get("vid_seg_int"), str):
            raise UserError(f"{path}: record {i}: no vid_seg_int")
        if rec["vid_seg_int"] in out:
            raise UserError(f"{path}: record {i}: duplicate vid_seg_int {rec['vid_seg_int']}")
        if rec["vid_seg_int"] in ids:
            out[rec["vid_seg_int"]] = rec
    return out


def _votes(vid: str, rec: dict[str, Any], path: Path) -> tuple[tuple[str, ...], ...]:
    lists = rec["vbid_lst"]
    if not isinstance(lists, dict):
        raise UserError(f"{path}: clip {vid}: vbid_lst is not an object keyed Ev1..Ev5")
    out = []
    for ev in EVENT_KEYS:
        votes = lists.get(ev)
        if not isinstance(votes, list) or len(votes) < MIN_VERB_VOTES:
            raise UserError(f"{path}: clip {vid}: {ev} needs >= {MIN_VERB_VOTES} verb votes")
        out.append(tuple(str(v) for v in votes))
    return tuple(out)


def _read_vsann(path: Path, ids: set[str]) -> dict[str, list[tuple[VidSituEvent, ...]]]:
    records = _read_json(path)
    if not isinstance(records, list):
        raise UserError(f"{path}: expected a JSON list of annotations")
    out: dict[str, list[tuple[VidSituEvent, ...]]] = {}
    for i, rec in enumerate(records):
        where = f"{path}: annotation {i}"
        if not isinstance(rec, dict) or any(not isinstance(rec.get(ev), dict) for ev in EVENT_KEYS):
            raise UserError(f"{where}: needs objects Ev1..Ev5")
        vid = rec["Ev1"].get("vid_seg_int")
        if vid not in ids:
            continue
        out.setdefault(vid, []).append(
            tuple(_event(rec[ev], ev, f"{where} ({vid} {ev})") for ev in EVENT_KEYS)
        )
    return out


def _event(rec: dict[str, Any], ev: str, where: str) -> VidSituEvent:
    vb = rec.get("VerbID")
    args, order = rec.get("Args"), rec.get("Arg_List")
    if not isinstance(vb, str) or not isinstance(args, dict) or not isinstance(order, dict):
        raise UserError(f"{where}: needs VerbID, Args and Arg_List")
    if set(args) != set(order):
        raise UserError(f"{where}: Args and Arg_List have different keys")
    for key in args:
        if arg_short_name(key) is None:
            raise UserError(f"{where}: role key {key!r} does not map to a VidSitu role")
        if not isinstance(args[key], str):
            raise UserError(f"{where}: role {key!r} is not a string")
    try:
        keys = sorted(order, key=lambda k: int(order[k]))
    except (TypeError, ValueError):
        raise UserError(f"{where}: Arg_List positions must be integers") from None
    evrel = rec.get("EvRel")
    if ev in EVREL_KEYS and evrel not in EVREL_LABELS:
        raise UserError(f"{where}: EvRel {evrel!r} is not one of {', '.join(EVREL_LABELS)}")
    return VidSituEvent(vb, {k: args[k] for k in keys}, evrel if ev in EVREL_KEYS else None)


def _check_clip(
    path: Path, vid: str, anns: list[tuple[VidSituEvent, ...]], *, evaluation: bool
) -> None:
    need = MIN_VAL_ANNOTATIONS if evaluation else 1
    if len(anns) < need:
        raise UserError(f"{path}: clip {vid} has {len(anns)} annotation(s), needs >= {need}")
    if not evaluation:
        return
    for k, ev in enumerate(EVENT_KEYS):
        keys = {tuple(sorted(a[k].args)) for a in anns}
        if len(keys) > 1:
            raise UserError(f"{path}: clip {vid} {ev}: annotators use different role keys")
        for key in anns[0][k].args:
            if all(not a[k].args[key].strip() for a in anns):
                raise UserError(f"{path}: clip {vid} {ev}: role {key!r} is empty for everyone")


def _video(root: Path, vid: str) -> Path | None:
    mp4 = root / "videos" / f"{vid}.mp4"
    if mp4.is_file():
        return mp4
    frames = root / "vsitu_video_frames" / vid
    return frames if frames.is_dir() else None
