"""Export the corpus as VidSitu (Sadhu et al., CVPR 2021): 10 s clips of five 2 s events.

Layout (``shared/benchmarks/vidsitu.md`` §1 and the "Decisions" of ``benchmarks.md``)::

    vidsitu/vidsitu_annotations/split_files/vseg_split_{train,valid}_lb.json
    vidsitu/vidsitu_annotations/vinfo_files/vinfo_{train,valid}_lb.json
    vidsitu/vidsitu_annotations/vseg_ann_files/vsann_{train,valid}_lb.json
    vidsitu/vsitu_vocab/verb_id_vocab.json     {"<s>": 0, "<pad>": 1, "</s>": 2, "<unk>": 3, ...}
    vidsitu/vsitu_vocab/arg_vocab.json         role tags, raw key -> short name, roles per verb
    vidsitu/videos/<vid_seg_int>.mp4           10 s clips, the movie's frame rate and size

A clip is five consecutive truth events starting at an event index that is a multiple of
5 (non-overlapping windows); its id is ``v_<11-char movie id>_seg_<start>_<end>`` in whole
seconds of the movie. Train/val clips come from the catalog's train/val movies; test
movies are left out (test files are optional for the corpus).

Roles: ``events.arg0/1/2`` become ``"Arg0 (<desc>)"``, ``"Arg1 (<desc>)"``, ``"Arg2 (<desc>)"``
with PropBank-style descriptions per verb (:mod:`.roles`), the optional ``argm_manner``
becomes ``"ArgM (manner)"`` and the event's place ``"Scene of the Event"``; roles without
text are left out for every annotator.

Annotations follow VidSitu's collection protocol:

- train: one annotation per clip, written with the corpus' canonical role text;
- val: 10 verb votes per event in ``vinfo.vbid_lst`` (the true verb at least 6 times,
  the rest near-synonyms), then 3 SRL annotations that all use the true verb and the same
  role keys; annotator 0 writes the canonical text, annotators 1 and 2 paraphrase every
  entity consistently within the clip; with probability 0.1 per pair one of them picks a
  different relation (the majority stays the truth).

``EvRel`` of Ev1, Ev2, Ev4 and Ev5 is the relation of the truth link between the earlier and
the later event of the pair (Ev_i and Ev3), which is exactly VidSitu's reading direction
("Ev1 Causes Ev3", "Ev3 is a Reaction To Ev1", "Ev3 Causes Ev5", ...); ``NoRel`` when
unlinked. Random choices use a generator seeded by (corpus seed, clip id), so the same
corpus gives byte-identical files.
"""

from __future__ import annotations

import itertools
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from movierep import files
from movierep.corpus.export.cut import ClipRequest
from movierep.corpus.export.ids import imdb_ids, stable_int, youtube_id
from movierep.corpus.export.roles import (
    MANNER_KEY,
    SCENE_KEY,
    Paraphraser,
    near_synonyms,
    role_keys,
)
from movierep.corpus.export.source import CorpusSource, Event, Movie
from movierep.data.benchmarks.vidsitu import EVENT_KEYS, EVREL_LABELS, arg_short_name, verb_id

EVENTS_PER_CLIP = 5
VOTES_PER_EVENT = 10
VAL_ANNOTATORS = 3
MAX_OTHER_VOTES = 4  # the true verb keeps >= 6 of 10 votes
OTHER_VOTE_P = 0.12
EVREL_NOISE_P = 0.1
SPLIT_FILE_NAMES = {"train": "train", "val": "valid"}
SPECIAL_SYMBOLS = ("<s>", "<pad>", "</s>", "<unk>")
ROLE_TAGS = ("Arg0", "Arg1", "Arg2", "Arg3", "Arg4", "AScn", "ALoc", "AMnr", "ADir", "APrp", "AGol")


@dataclass(frozen=True)
class VidSituClipPlan:
    """One 10 s clip to export: its movie, id, whole-second range and five truth events."""

    movie: Movie
    vid_seg_int: str
    name: str
    start: int
    end: int
    events: tuple[Event, ...]
    request: ClipRequest


def plan_clips(source: CorpusSource, out_dir: Path) -> list[VidSituClipPlan]:
    """All non-overlapping 5-event windows of the train and val movies, in movie order."""
    plans = []
    for movie in source.movies:
        if movie.split not in SPLIT_FILE_NAMES:
            continue
        name = youtube_id(f"vidsitu/{movie.movie_id}")
        events = source.events.get(movie.movie_id, [])
        for first in range(0, len(events) - EVENTS_PER_CLIP + 1, EVENTS_PER_CLIP):
            window = tuple(events[first : first + EVENTS_PER_CLIP])
            if not _consecutive(window):
                continue
            start_frame = round(window[0].start_time * movie.fps)
            end_frame = round(window[-1].end_time * movie.fps)
            if end_frame > movie.num_frames:
                continue
            start, end = round(window[0].start_time), round(window[-1].end_time)
            vid = f"v_{name}_seg_{start}_{end}"
            request = ClipRequest(out_dir / "videos" / f"{vid}.mp4", start_frame, end_frame)
            plans.append(VidSituClipPlan(movie, vid, name, start, end, window, request))
    return plans


def write_annotations(source: CorpusSource, plans: list[VidSituClipPlan], out_dir: Path) -> None:
    """Write the split, vinfo, vsann and vocabulary JSON files for ``plans``."""
    imdb = imdb_ids(m.movie_id for m in source.movies)
    vocabulary = _verb_vocabulary(source, plans)
    verbs = [s.removesuffix(".01") for s in vocabulary if s not in SPECIAL_SYMBOLS]
    ann_dir = out_dir / "vidsitu_annotations"
    for split, file_split in SPLIT_FILE_NAMES.items():
        chosen = [p for p in plans if p.movie.split == split]
        vinfo, vsann = [], []
        for plan in chosen:
            rng = np.random.default_rng([source.seed, stable_int(plan.vid_seg_int)])
            record = _vinfo(plan, imdb[plan.movie.movie_id])
            if split == "train":
                evrels = _evrels(source, plan)
                vsann.append(_annotation(source, plan, evrels, canonical=True, rng=rng))
            else:
                record.update(_verb_votes(plan, verbs, rng))
                vsann.extend(_val_annotations(source, plan, rng))
            vinfo.append(record)
        _write_json(
            ann_dir / "split_files" / f"vseg_split_{file_split}_lb.json",
            [p.vid_seg_int for p in chosen],
        )
        _write_json(
            ann_dir / "vinfo_files" / f"vinfo_{file_split}_lb.json",
            vinfo,
        )
        _write_json(
            ann_dir / "vseg_ann_files" / f"vsann_{file_split}_lb.json",
            vsann,
        )
    _write_json(
        out_dir / "vsitu_vocab" / "verb_id_vocab.json",
        {symbol: i for i, symbol in enumerate(vocabulary)},
    )
    _write_json(
        out_dir / "vsitu_vocab" / "arg_vocab.json",
        _role_vocabulary(verbs),
    )


def _consecutive(window: tuple[Event, ...]) -> bool:
    return all(
        b.index == a.index + 1 and abs(b.start_time - a.end_time) < 1e-6
        for a, b in itertools.pairwise(window)
    )


def _vinfo(plan: VidSituClipPlan, imdb_id: str) -> dict[str, object]:
    movie = plan.movie
    return {
        "vid_uid": f"{movie.movie_id}_seg_{plan.start}_{plan.end}",
        "genres": [movie.genre],
        "duration": round(movie.duration_s),
        "name": plan.name,
        "text": movie.synopsis,
        "start": plan.start,
        "end": plan.end,
        "vid_seg_int": plan.vid_seg_int,
        "movie_name": movie.title,
        "upload_year": movie.year,
        "clip_name": f"{movie.title} ({plan.start}-{plan.end} s)",
        "imdb_id": imdb_id,
        "year_rel": movie.year,
    }


def _evrels(source: CorpusSource, plan: VidSituClipPlan) -> dict[str, str]:
    """Truth relation of Ev1, Ev2, Ev4, Ev5 to Ev3 (link from the earlier to the later event)."""
    links = source.links.get(plan.movie.movie_id, {})
    centre = plan.events[2].index
    out = {}
    for key, event in zip(EVENT_KEYS, plan.events, strict=True):
        if event.index != centre:
            pair = (min(event.index, centre), max(event.index, centre))
            out[key] = links.get(pair, "NoRel")
    return out


def _verb_votes(
    plan: VidSituClipPlan, verbs: list[str], rng: np.random.Generator
) -> dict[str, object]:
    """The val-only vinfo fields: ``vb_to_use``, ``vb_lst`` and ``vbid_lst`` (10 votes/event)."""
    votes = {ev: _votes(e.verb, verbs, rng) for ev, e in zip(EVENT_KEYS, plan.events, strict=True)}
    return {
        "vb_to_use": {ev: verb_id(e.verb) for ev, e in zip(EVENT_KEYS, plan.events, strict=True)},
        "vb_lst": {ev: [v.removesuffix(".01") for v in vs] for ev, vs in votes.items()},
        "vbid_lst": votes,
    }


def _val_annotations(
    source: CorpusSource, plan: VidSituClipPlan, rng: np.random.Generator
) -> list[dict[str, dict[str, object]]]:
    """Three annotations: annotator 0 canonical, 1 and 2 paraphrasing, relations noisy."""
    evrels = _noisy_evrels(_evrels(source, plan), rng)
    return [
        _annotation(source, plan, evrels[a], canonical=a == 0, rng=rng)
        for a in range(VAL_ANNOTATORS)
    ]


def _noisy_evrels(truth: dict[str, str], rng: np.random.Generator) -> list[dict[str, str]]:
    """Three annotators' relations: at most one of annotators 1, 2 disagrees per pair."""
    out = [dict(truth) for _ in range(VAL_ANNOTATORS)]
    for key, label in truth.items():
        if rng.random() < EVREL_NOISE_P:
            others = [lab for lab in EVREL_LABELS if lab != label]
            out[1 + int(rng.integers(VAL_ANNOTATORS - 1))][key] = others[
                int(rng.integers(len(others)))
            ]
    return out


def _votes(verb: str, vocabulary: list[str], rng: np.random.Generator) -> list[str]:
    """Ten verb-id votes: the true verb, sometimes replaced by a near-synonym."""
    others = near_synonyms(verb, vocabulary)
    n_other = min(int(rng.binomial(VOTES_PER_EVENT, OTHER_VOTE_P)), MAX_OTHER_VOTES)
    if not others:
        n_other = 0
    votes = [verb] * (VOTES_PER_EVENT - n_other)
    votes += [others[int(rng.integers(len(others)))] for _ in range(n_other)]
    return [verb_id(votes[i]) for i in rng.permutation(VOTES_PER_EVENT)]


def _annotation(
    source: CorpusSource,
    plan: VidSituClipPlan,
    evrels: dict[str, str],
    *,
    canonical: bool,
    rng: np.random.Generator,
) -> dict[str, dict[str, object]]:
    """One annotator's Ev1..Ev5 (verb, ordered roles, role text, relation to Ev3)."""
    words = Paraphraser(source.characters.get(plan.movie.movie_id, {}), rng, canonical=canonical)
    annotation: dict[str, dict[str, object]] = {}
    for key, event in zip(EVENT_KEYS, plan.events, strict=True):
        args: dict[str, str] = {}
        for raw, arg_id, text in zip(
            role_keys(event.verb), event.arg_ids, event.arg_texts, strict=True
        ):
            if text:
                args[raw] = words.entity(arg_id, text)
        if event.manner:
            args[MANNER_KEY] = words.entity(None, event.manner)
        args[SCENE_KEY] = words.scene(event.place)
        record: dict[str, object] = {
            "vid_uid": f"{plan.movie.movie_id}_seg_{plan.start}_{plan.end}",
            "vid_seg_int": plan.vid_seg_int,
            "Verb": event.verb,
            "VerbID": verb_id(event.verb),
            "Arg_List": {raw: str(i) for i, raw in enumerate(args)},
            "Args": args,
        }
        if key in evrels:
            record["EvRel"] = evrels[key]
        annotation[key] = record
    return annotation


def _verb_vocabulary(source: CorpusSource, plans: list[VidSituClipPlan]) -> list[str]:
    """Special symbols, then every corpus verb id by train frequency (ties by name)."""
    counts: Counter[str] = Counter()
    for plan in plans:
        if plan.movie.split == "train":
            counts.update(verb_id(e.verb) for e in plan.events)
    every = {verb_id(e.verb) for events in source.events.values() for e in events}
    every |= {verb_id(v) for v in source.vocabularies.get("verbs", [])}
    return list(SPECIAL_SYMBOLS) + sorted(every, key=lambda v: (-counts[v], v))


def _role_vocabulary(verbs: list[str]) -> dict[str, object]:
    raw_keys = sorted({k for v in verbs for k in role_keys(v)} | {MANNER_KEY, SCENE_KEY})
    return {
        "role_tags": [f"<{tag}>" for tag in ROLE_TAGS],
        "raw_to_short": {k: arg_short_name(k) for k in raw_keys},
        "verb_roles": {verb_id(v): [*role_keys(v), MANNER_KEY, SCENE_KEY] for v in verbs},
    }


def _write_json(path: Path, obj: object) -> None:
    """VidSitu's annotation style: compact, UTF-8 (atomic, like every movierep file)."""
    files.write_json(path, obj, indent=None, ensure_ascii=False)
