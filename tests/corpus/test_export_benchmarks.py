"""Benchmark exports on a hand-built corpus: every format checked against shared/benchmarks.md.

The fixture writes the corpus base files of docs/contracts.md ("Corpus layout") for three
tiny PyAV-encoded movies (train / val / test; one over 3 minutes so LVU cuts it in two),
runs ``export_benchmarks`` once, and the tests read the result back with the loaders.
"""

from __future__ import annotations

import itertools
import json
import re
import shutil
from collections import Counter
from pathlib import Path

import av
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from movierep.corpus.export import export_benchmarks
from movierep.corpus.export.ids import imdb_ids
from movierep.data.benchmarks import lvu as lvu_reader
from movierep.data.benchmarks import movienet as movienet_reader
from movierep.data.benchmarks import vidsitu as vidsitu_reader
from movierep.errors import UserError

VERBS = ["walk", "run", "push", "hit", "talk", "wave", "grow", "chase"]
PLACES = ["office", "airport", "school", "hotel", "forest"]
WAYS = ["explains", "confronts", "discuss", "teaches", "threatens"]
CAST = [
    ("c0", "square", "red", "small"),
    ("c1", "circle", "blue", "large"),
    ("c2", "triangle", "green", "medium"),
]
# (movie_id, split, seconds, fps)
MOVIES = [("m_long", "train", 190, 4), ("m_val", "val", 30, 10), ("m_test", "test", 24, 10)]
W, H = 64, 48


def _encode(path: Path, num_frames: int, fps: int, shot_of_frame: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=fps, options={"preset": "ultrafast"})
        stream.width, stream.height, stream.pix_fmt = W, H, "yuv420p"
        for i in range(num_frames):
            img = np.full((H, W, 3), (37 * int(shot_of_frame[i])) % 256, np.uint8)
            img[10:20, i % (W - 10) : i % (W - 10) + 10] = (255, 0, 0)
            container.mux(stream.encode(av.VideoFrame.from_ndarray(img, format="rgb24")))
        container.mux(stream.encode(None))


def _movie_truth(movie_id: str, seconds: int, fps: int, rng: np.random.Generator) -> dict:
    n = seconds * fps
    cuts = [0]
    while cuts[-1] < n:
        cuts.append(min(n, cuts[-1] + int(rng.integers(2 * fps, 6 * fps))))
    shots, scene_of_shot, scene = [], [], 0
    for i, (a, b) in enumerate(itertools.pairwise(cuts)):
        if i > 0 and rng.random() < 0.4:
            scene += 1
        scene_of_shot.append(scene)
        shots.append(
            dict(
                movie_id=movie_id,
                shot_index=i,
                start_frame=a,
                end_frame=b,
                start_time=a / fps,
                end_time=b / fps,
                scene_index=scene,
                transition_in="cut",
                camera="wide",
            )
        )
    scenes = []
    for s in range(scene + 1):
        members = [sh for sh in shots if sh["scene_index"] == s]
        scenes.append(
            dict(
                movie_id=movie_id,
                scene_index=s,
                start_shot=members[0]["shot_index"],
                end_shot=members[-1]["shot_index"],
                start_frame=members[0]["start_frame"],
                end_frame=members[-1]["end_frame"],
                start_time=members[0]["start_time"],
                end_time=members[-1]["end_time"],
                place=PLACES[int(rng.integers(len(PLACES)))],
                way_speaking=WAYS[int(rng.integers(len(WAYS)))] if s % 3 else "none",
                characters=["c0", "c1"],
            )
        )
    events = []
    for e in range(seconds // 2):
        frame = e * 2 * fps
        s = next(sc for sc in scenes if sc["start_frame"] <= frame < sc["end_frame"])
        a0, a1 = (int(x) for x in rng.permutation(3)[:2])
        has_arg1 = rng.random() < 0.6
        verb = VERBS[int(rng.integers(len(VERBS)))]
        events.append(
            dict(
                movie_id=movie_id,
                event_index=e,
                start_time=2.0 * e,
                end_time=2.0 * e + 2,
                scene_index=s["scene_index"],
                verb=verb,
                arg0_id=CAST[a0][0],
                arg1_id=CAST[a1][0] if has_arg1 else None,
                arg2_id=None,
                arg0=_desc(CAST[a0]),
                arg1=_desc(CAST[a1]) if has_arg1 else None,
                arg2="to the left" if e % 4 == 0 else None,
                argm_manner="explains" if verb == "talk" else None,  # optional column
                place=s["place"],
            )
        )
    links = []
    for e in range(len(events) - 1):
        if rng.random() < 0.5:
            dst = min(len(events) - 1, e + int(rng.integers(1, 5)))
            if all((ln["src_event"], ln["dst_event"]) != (e, dst) for ln in links):
                links.append(
                    dict(
                        movie_id=movie_id,
                        src_event=e,
                        dst_event=dst,
                        relation=["Causes", "Reaction To", "Enables"][e % 3],
                    )
                )
    boxes = [
        dict(
            movie_id=movie_id,
            frame=f,
            character_id=c[0],
            x1=float(f % 40),
            y1=5.0,
            x2=float(f % 40 + 12),
            y2=20.0 + k,
        )
        for f in range(n)
        for k, c in enumerate(CAST[:2])
    ]
    shot_of_frame = np.repeat(np.arange(len(shots)), np.diff(cuts))
    return dict(
        shots=shots,
        scenes=scenes,
        events=events,
        links=links,
        boxes=boxes,
        shot_of_frame=shot_of_frame,
    )


def _desc(c: tuple[str, str, str, str]) -> str:
    return f"the {c[3]} {c[2]} {c[1]}"


def build_corpus(root: Path) -> Path:
    """Write the corpus base files (contract "Corpus layout") for the three MOVIES."""
    rng = np.random.default_rng(7)
    tables: dict[str, list[dict]] = {
        k: [] for k in ("shots", "scenes", "events", "event_links", "boxes")
    }
    catalog, characters = [], []
    for k, (movie_id, split, seconds, fps) in enumerate(MOVIES):
        truth = _movie_truth(movie_id, seconds, fps, rng)
        _encode(root / "movies" / f"{movie_id}.mp4", seconds * fps, fps, truth["shot_of_frame"])
        for name, key in (
            ("shots", "shots"),
            ("scenes", "scenes"),
            ("events", "events"),
            ("event_links", "links"),
            ("boxes", "boxes"),
        ):
            tables[name] += truth[key]
        characters += [
            dict(
                movie_id=movie_id,
                character_id=c[0],
                shape=c[1],
                color=c[2],
                size=c[3],
                description=_desc(c),
            )
            for c in CAST
        ]
        catalog.append(
            dict(
                movie_id=movie_id,
                path=f"movies/{movie_id}.mp4",
                title=f"Movie {k}",
                genre=["comedy", "drama", "horror"][k % 3],
                director=f"dir {k % 2}",
                writer=None if k == 2 else f"writer_{k}",
                year=1950 + 17 * k,
                synopsis=f"A story number {k}.",
                like_count=100 + k,
                dislike_count=10 + k,
                like_ratio=(100 + k) / (110 + 2 * k),
                view_count=1000 * (k + 1),
                relationship=["friend", "husband_wife", "friend"][k % 3],
                duration_s=float(seconds),
                fps=float(fps),
                width=W,
                height=H,
                num_frames=seconds * fps,
                split=split,
            )
        )
    pq.write_table(pa.Table.from_pylist(catalog), root / "catalog.parquet")
    (root / "truth").mkdir(exist_ok=True)
    for name, rows in tables.items():
        pq.write_table(pa.Table.from_pylist(rows), root / "truth" / f"{name}.parquet")
    pq.write_table(pa.Table.from_pylist(characters), root / "truth" / "characters.parquet")
    (root / "corpus.json").write_text(
        json.dumps(
            {
                "seed": 3,
                "classes": {
                    "verbs": [*VERBS, "kiss"],
                    "places": PLACES,
                    "ways_speaking": WAYS,
                },
            }
        )
    )
    return root


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = build_corpus(tmp_path_factory.mktemp("export") / "corpus")
    export_benchmarks(root)
    return root


def _truth(root: Path, name: str) -> list[dict]:
    return pq.read_table(root / "truth" / f"{name}.parquet").to_pylist()


# ----------------------------------------------------------------------------- VidSitu
VID_RE = re.compile(r"v_[A-Za-z0-9_-]{11}_seg_(\d+)_(\d+)")


def test_vidsitu_clips_are_five_event_windows_of_train_and_val_movies(corpus: Path) -> None:
    train = vidsitu_reader.load_vidsitu(corpus / "vidsitu", "train")
    val = vidsitu_reader.load_vidsitu(corpus / "vidsitu", "val")
    assert len(train) == 190 // 10
    assert len(val) == 30 // 10
    for clip in train + val:
        m = VID_RE.fullmatch(clip.vid_seg_int)
        assert m
        assert int(m[2]) - int(m[1]) == 10
        assert int(m[1]) % 10 == 0
        assert clip.info["start"] == int(m[1])
        assert clip.info["imdb_id"].startswith("tt")
        assert clip.video is not None
        assert clip.video.name == f"{clip.vid_seg_int}.mp4"
    with av.open(str(val[1].video)) as c:
        assert sum(1 for _ in c.decode(video=0)) == 10 * 10  # 10 s at 10 fps


def test_vidsitu_val_satisfies_the_official_evaluator(corpus: Path) -> None:
    events = {(e["movie_id"], e["event_index"]): e for e in _truth(corpus, "events")}
    links = {
        (x["src_event"], x["dst_event"]): x["relation"]
        for x in _truth(corpus, "event_links")
        if x["movie_id"] == "m_val"
    }
    vocab = vidsitu_reader.load_verb_vocab(corpus / "vidsitu")
    assert list(vocab)[:4] == ["<s>", "<pad>", "</s>", "<unk>"]
    assert {f"{v}.01" for v in [*VERBS, "kiss"]} <= set(vocab)
    for clip in vidsitu_reader.load_vidsitu(corpus / "vidsitu", "val"):
        first = clip.info["start"] // 2
        assert clip.verb_votes is not None
        assert len(clip.annotations) == 3
        for k, votes in enumerate(clip.verb_votes):
            truth = events[("m_val", first + k)]
            assert len(votes) == 10
            assert all(v in vocab for v in votes)
            assert Counter(votes).most_common(1)[0] == (
                f"{truth['verb']}.01",
                max(Counter(votes).values()),
            )
            assert votes.count(f"{truth['verb']}.01") >= 6
            ann0 = clip.annotations[0][k]
            assert ann0.verb_id == f"{truth['verb']}.01"
            assert ann0.roles["Arg0"] == truth["arg0"]
            assert ann0.roles["AScn"] == truth["place"]
            assert ("Arg2" in ann0.roles) == (truth["arg2"] is not None)
            assert ann0.roles.get("AMnr") == truth["argm_manner"]
            assert ("ArgM (manner)" in ann0.args) == (truth["verb"] == "talk")
            if k != 2:
                pair = (min(first + k, first + 2), max(first + k, first + 2))
                majority = Counter(a[k].evrel for a in clip.annotations).most_common(1)[0]
                assert ann0.evrel == links.get(pair, "NoRel") == majority[0]
                assert majority[1] >= 2
            else:
                assert all(a[k].evrel is None for a in clip.annotations)
    raw = json.loads(
        (corpus / "vidsitu/vidsitu_annotations/vseg_ann_files/vsann_valid_lb.json").read_text()
    )
    assert all(
        "EvRel" not in a["Ev3"] and all("EvRel" in a[e] for e in ("Ev1", "Ev2", "Ev4", "Ev5"))
        for a in raw
    )


def test_vidsitu_paraphrases_are_consistent_within_an_annotation(corpus: Path) -> None:
    events = {(e["movie_id"], e["event_index"]): e for e in _truth(corpus, "events")}
    differs = 0
    for clip in vidsitu_reader.load_vidsitu(corpus / "vidsitu", "val"):
        first = clip.info["start"] // 2
        for ann in clip.annotations[1:]:
            names: dict[str, set[str]] = {}
            for k, event in enumerate(ann):
                truth = events[("m_val", first + k)]
                names.setdefault(truth["arg0_id"], set()).add(event.roles["Arg0"])
                differs += event.roles["Arg0"] != truth["arg0"]
                if truth["arg2"]:
                    assert event.roles["Arg2"] in ("to the left", "leftward", "towards the left")
            assert all(len(v) == 1 for v in names.values())  # one wording per entity
    assert differs > 0


def test_vidsitu_train_has_one_canonical_annotation(corpus: Path) -> None:
    for clip in vidsitu_reader.load_vidsitu(corpus / "vidsitu", "train"):
        assert len(clip.annotations) == 1
        assert clip.verb_votes is None
        assert all(e.roles["Arg0"].startswith("the ") for e in clip.annotations[0])


# ----------------------------------------------------------------------------- LVU
def test_lvu_files_have_the_exact_headers_and_columns(corpus: Path) -> None:
    for task in lvu_reader.LVU_TASKS:
        for split in ("train", "val", "test"):
            path = corpus / "lvu" / "lvu_1.0" / task / f"{split}.csv"
            lines = path.read_text().splitlines()
            assert lines[0] == lvu_reader.HEADERS[task]
            assert all(len(x.split()) == len(lines[0].split()) for x in lines[1:])
            for item in lvu_reader.load_lvu_task(corpus / "lvu", task, split):
                assert (corpus / "lvu" / "videos" / f"{item.video_id}.mp4").is_file()
                assert re.fullmatch(r"tt\d{7}", item.imdb_id)


def test_lvu_clips_and_labels_follow_the_truth(corpus: Path) -> None:
    imdb = imdb_ids(m for m, *_ in MOVIES)
    sources = json.loads((corpus / "lvu" / "clip_sources.json").read_text())
    long_clips = [s for s in sources if s["movie_id"] == "m_long"]
    starts = {sh["start_frame"] for sh in _truth(corpus, "shots") if sh["movie_id"] == "m_long"}
    assert len(long_clips) == 2
    assert long_clips[1]["start_frame"] in starts
    assert all(60 <= s["end_time"] - s["start_time"] <= 180 for s in long_clips)
    assert [s["end_time"] for s in sources if s["movie_id"] == "m_val"] == [30.0]  # whole movie
    durations = lvu_reader.load_durations(corpus / "lvu")
    assert durations[long_clips[0]["youtube_id"]] == round(long_clips[0]["end_time"])
    scenes = [s for s in _truth(corpus, "scenes") if s["movie_id"] == "m_long"]
    clip = long_clips[0]
    cover: Counter[str] = Counter()
    for s in scenes:
        cover[s["place"]] += max(
            0, min(clip["end_frame"], s["end_frame"]) - max(clip["start_frame"], s["start_frame"])
        )
    items = {i.video_id: i for i in lvu_reader.load_lvu_task(corpus / "lvu", "scene", "train")}
    assert items[clip["youtube_id"]].class_name == cover.most_common(1)[0][0]
    assert items[clip["youtube_id"]].label == PLACES.index(cover.most_common(1)[0][0])
    year = lvu_reader.load_lvu_task(corpus / "lvu", "year", "val")
    assert [(i.class_name, i.imdb_id) for i in year] == [("1960", imdb["m_val"])]
    writer = lvu_reader.load_lvu_task(corpus / "lvu", "writer", "test")
    assert [(i.label, i.class_name) for i in writer] == [(0, "\\N")]
    director = lvu_reader.load_lvu_task(corpus / "lvu", "director", "train")
    assert {i.class_name for i in director} == {"dir_0"}  # spaces -> "_"
    like = lvu_reader.load_lvu_task(corpus / "lvu", "like_ratio", "train")[0]
    assert like.counts == (100, 10)
    assert like.target == pytest.approx(10 * 100 / 110 - lvu_reader.LIKE_RATIO_OFFSET)
    views = lvu_reader.load_lvu_task(corpus / "lvu", "view_count", "test")
    assert [i.counts for i in views] == [(3000,)]


def test_lvu_instance_meta_is_one_fps_normalised_boxes(corpus: Path) -> None:
    meta = lvu_reader.load_instance_meta(corpus / "lvu" / "instance_meta.json")
    sources = {
        s["youtube_id"]: s for s in json.loads((corpus / "lvu" / "clip_sources.json").read_text())
    }
    assert set(meta) == set(sources)
    for vid, seconds in meta.items():
        length = sources[vid]["end_time"] - sources[vid]["start_time"]
        assert sorted(seconds) == list(range(len(seconds)))  # a box in every second
        assert int(length) <= len(seconds) <= int(length) + 1
        for instances in seconds.values():
            assert len(instances) == 2  # two characters boxed in every frame
            assert all(0 <= v <= 1 for i in instances for v in i.box)
            assert instances[0].shot == instances[1].shot >= 0
            assert instances[0].link != instances[1].link
    (val_clip,) = [v for v, s in sources.items() if s["movie_id"] == "m_val"]
    frame = 3 * 10 + 5  # middle frame of second 3 at 10 fps; c0's box starts at x = frame % 40
    assert meta[val_clip][3][0].box == pytest.approx(
        (frame % 40 / W, 5 / H, (frame % 40 + 12) / W, 20 / H), abs=1e-3
    )


# ----------------------------------------------------------------------------- MovieNet
def test_movienet_boundaries_keyframes_and_places(corpus: Path) -> None:
    imdb = imdb_ids(m for m, *_ in MOVIES)
    root = corpus / "movienet"
    split = movienet_reader.load_split318(root)
    assert split["train"] == [imdb["m_long"]]
    assert split["val"] == [imdb["m_val"]]
    assert sorted(split["all"]) == sorted(imdb.values())
    for movie_id, tt in imdb.items():
        shots = [s for s in _truth(corpus, "shots") if s["movie_id"] == movie_id]
        movie = movienet_reader.load_movienet_movie(root, tt)
        assert len(movie.labels) == len(shots) - 1
        assert list(movie.boundaries) == [
            int(a["scene_index"] != b["scene_index"]) for a, b in itertools.pairwise(shots)
        ]
        for shot, truth in zip(movie.shots, shots, strict=True):
            assert (shot.start_frame, shot.end_frame) == (
                truth["start_frame"],
                truth["end_frame"] - 1,
            )
            length = truth["end_frame"] - truth["start_frame"]
            assert shot.keyframes == tuple(
                truth["start_frame"] + q * length // 4 for q in (1, 2, 3)
            )
            assert all(movie.keyframe_path(shot.index, k).is_file() for k in range(3))
        scenes = movienet_reader.load_place_annotation(root, tt)
        truth_scenes = [s for s in _truth(corpus, "scenes") if s["movie_id"] == movie_id]
        assert [s.place_tags for s in scenes] == [(s["place"],) for s in truth_scenes]
        assert scenes[-1].frames[1] == shots[-1]["end_frame"] - 1
    assert len(list((root / "240P_frames").rglob("*.jpg"))) == 3 * len(_truth(corpus, "shots"))


def test_keyframe_is_the_requested_frame(corpus: Path) -> None:
    """The JPEG saved for a keyframe shows that frame (the moving square's x position)."""
    from PIL import Image

    movie = movienet_reader.load_movienet_movie(
        corpus / "movienet", imdb_ids(["m_val", "m_long", "m_test"])["m_val"]
    )
    shot = movie.shots[1]
    img = np.asarray(Image.open(movie.keyframe_path(1, 2)).convert("RGB")).astype(int)
    red = (img[:, :, 0] > 180) & (img[:, :, 1] < 90)
    xs = np.nonzero(red[12:18].any(axis=0))[0]
    frame = shot.keyframes[2]
    assert abs(xs.min() - frame % (W - 10)) <= 1


# ----------------------------------------------------------------------------- determinism
def test_same_corpus_gives_byte_identical_exports(corpus: Path, tmp_path: Path) -> None:
    copy = tmp_path / "copy"
    shutil.copytree(corpus, copy, ignore=shutil.ignore_patterns("vidsitu", "lvu", "movienet"))
    export_benchmarks(copy)
    for name in ("vidsitu", "lvu", "movienet"):
        a = sorted(p.relative_to(corpus) for p in (corpus / name).rglob("*") if p.is_file())
        b = sorted(p.relative_to(copy) for p in (copy / name).rglob("*") if p.is_file())
        assert a == b
        for rel in a:
            assert (corpus / rel).read_bytes() == (copy / rel).read_bytes(), rel


def test_missing_truth_column_is_a_user_error(corpus: Path, tmp_path: Path) -> None:
    copy = tmp_path / "bad"
    shutil.copytree(corpus, copy, ignore=shutil.ignore_patterns("vidsitu", "lvu", "movienet"))
    table = pq.read_table(copy / "truth" / "events.parquet").drop_columns(["verb"])
    pq.write_table(table, copy / "truth" / "events.parquet")
    with pytest.raises(UserError, match=r"events\.parquet: missing column\(s\) verb"):
        export_benchmarks(copy)
