"""``movierep serve``: the JSON API on a tiny store, path safety, the moderation filter, a browser.

The store is the tiny corpus embedded at the scene level with a small random ViT; every
expected neighbour list is computed here from the stored embeddings with NumPy (cosine,
other movies only), never through the index. The browser test drives Debian's chromium
with its chromedriver through selenium (``make install-dev`` installs them); it fails when
they are missing, unless ``MOVIEREP_NO_BROWSER=1``.
"""

from __future__ import annotations

import os
import re
import select
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest
import torch
from fastapi.testclient import TestClient
from PIL import Image

from movierep.checkpoint import save_checkpoint
from movierep.cli import main
from movierep.errors import UserError
from movierep.models.vit import ViT, ViTConfig
from movierep.store.embed import embed_catalog
from movierep.store.index import index_dir
from movierep.store.layout import (
    LevelInfo,
    keyframes_dir,
    movie_file,
    read_level,
    write_info,
)
from movierep.tables import to_numpy_embeddings
from movierep.tasks.heads.feature_classifier import FeatureClassifier
from movierep.web.app import create_app
from movierep.web.moderation import load_head, save_head
from movierep.web.store_files import BadPathError, FileNotInStoreError, store_file

WINDOW = 3  # shots per scene
D = 24


@pytest.fixture(scope="module")
def store(tiny_corpus: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("web")
    torch.manual_seed(2)
    vit = ViT(
        ViTConfig(image_size=32, patch_size=16, width=32, layers=1, heads=1, output_dim=D)
    ).eval()
    save_checkpoint(root / "scene_ckpt", vit, "vit", vit.model_kwargs)
    report = embed_catalog(
        [tiny_corpus], root / "store", ["scene"], scene_encoder=root / "scene_ckpt",
        shots_per_scene=WINDOW, detector="scenedetect", device="cpu", show_progress=False,
    )  # fmt: skip
    assert (len(report.done), report.failed) == (4, [])
    return root / "store"


@pytest.fixture(scope="module")
def stored(store: Path) -> tuple[list[tuple[str, int]], np.ndarray]:
    """The scene rows' keys (movie, item) and their embeddings, read from the files."""
    table = read_level(store, "scene")
    keys = list(zip(table["movie_id"].to_pylist(), table["item_index"].to_pylist(), strict=True))
    return keys, to_numpy_embeddings(table["embedding"])


@pytest.fixture(scope="module")
def head(store: Path, stored, tmp_path_factory: pytest.TempPathFactory):
    """A 2-class head whose p(violence) = sigmoid(w·x + b) hides about half the scenes."""
    _, x = stored
    u = np.random.default_rng(0).standard_normal(D).astype(np.float32)
    scale = 3.0 / float((x @ u).std())
    # the threshold halfway between the two middle scenes (the median of an odd count
    # would put one scene on p = 0.5, where float32 and float64 disagree)
    s = np.sort(x @ u)
    w, b = u * scale, -float(s[len(s) // 2 - 1] + s[len(s) // 2]) / 2 * scale
    module = FeatureClassifier(D, 2, hidden=())
    with torch.no_grad():
        module.mlp[0].weight.zero_()
        module.mlp[0].bias.zero_()
        module.mlp[0].weight[1] = torch.from_numpy(w)
        module.mlp[0].bias[1] = b
    path = save_head(tmp_path_factory.mktemp("head") / "head", module, ["none", "violence"])
    return path, w, b


def p_violence(x: np.ndarray, w: np.ndarray, b: float) -> np.ndarray:
    return 1 / (1 + np.exp(-(x.astype(np.float64) @ w + b)))


def expected(stored, movie: str, item: int, k: int, hidden: np.ndarray | None = None):
    """The k nearest (cosine) scenes of other movies, with NumPy; and how many were hidden."""
    keys, x = stored
    unit = x / np.linalg.norm(x, axis=1, keepdims=True)
    scores = unit @ unit[keys.index((movie, item))]
    out, skipped = [], 0
    for i in np.argsort(-scores, kind="stable"):
        if keys[i][0] == movie:
            continue
        if hidden is not None and hidden[i]:
            skipped += 1
            continue
        out.append((keys[i], float(scores[i])))
        if len(out) == k:
            break
    return out, skipped


def image(path: Path, color: tuple[int, int, int] = (200, 30, 30)) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (16, 9), color).save(path, format="JPEG")
    return path


def test_movies_items_and_their_keyframes(store: Path, stored) -> None:
    client = TestClient(create_app(store))
    keys, _ = stored
    movies = client.get("/api/movies").json()["movies"]
    want = sorted({m for m, _ in keys})
    assert [m["movie_id"] for m in movies] == want
    assert [m["items"] for m in movies] == [sum(k[0] == m for k in keys) for m in want]

    rows = read_level(store, "scene", movie_ids=["m0001"]).to_pylist()
    items = client.get("/api/items", params={"movie": "m0001"}).json()["items"]
    assert [i["item_index"] for i in items] == list(range(len(rows)))
    assert [(i["start_time"], i["end_time"]) for i in items] == [
        (r["start_time"], r["end_time"]) for r in rows
    ]
    for item, row in zip(items, rows, strict=True):
        shots = range(row["start_shot"], row["end_shot"])
        folder = keyframes_dir("", "m0001").as_posix()
        assert item["keyframes"] == [f"/files/{folder}/shot_{s:04d}_img_1.jpg" for s in shots]
        assert item["keyframe"] == f"/files/{row['keyframe']}"
    got = client.get(items[0]["keyframes"][0])
    assert got.status_code == 200 and got.headers["content-type"] == "image/jpeg"
    assert got.content == (store / items[0]["keyframes"][0][len("/files/") :]).read_bytes()
    page = client.get("/")
    assert page.status_code == 200 and 'src="/static/app.js"' in page.text
    assert "http://" not in page.text and "https://" not in page.text  # nothing from elsewhere
    assert client.get("/static/app.js").status_code == 200
    assert client.get("/static/../app.py").status_code == 404
    assert client.get("/api/items", params={"movie": "nope"}).status_code == 404
    assert client.get("/api/movies", params={"level": "frame"}).status_code == 400


def test_neighbours_are_the_nearest_scenes_of_other_movies(store: Path, stored) -> None:
    client = TestClient(create_app(store))
    shutil.rmtree(index_dir(store, "scene"), ignore_errors=True)
    status = client.get("/api/status").json()
    assert status["ready"] and "built on the first search" in status["message"]
    for n, (movie, item) in enumerate([("m0000", 0), ("m0002", 1), ("m0003", 1)]):
        found = client.get("/api/neighbours", params={"movie": movie, "item": item, "k": 5})
        assert found.status_code == 200, found.text
        body = found.json()
        assert body["index"]["built_now"] == (n == 0)  # built on first use, then reused
        want, _ = expected(stored, movie, item, 5)
        got = [(r["movie_id"], r["item_index"]) for r in body["results"]]
        assert got == [key for key, _ in want]
        np.testing.assert_allclose([r["score"] for r in body["results"]], [s for _, s in want],
                                   atol=1e-5)  # fmt: skip
        assert [r["rank"] for r in body["results"]] == [1, 2, 3, 4, 5]
        assert body["query"]["movie_id"] == movie and body["hidden"] == 0
        assert all(r["keyframes"] for r in body["results"])
    assert (index_dir(store, "scene") / "index.json").is_file()
    assert client.get("/api/status").json()["levels"]["scene"]["index"]["kind"] == "flat"
    everything = client.get("/api/neighbours", params={"movie": "m0000", "item": 0, "k": 100})
    keys, _ = stored
    assert len(everything.json()["results"]) == sum(m != "m0000" for m, _ in keys)
    missing = client.get("/api/neighbours", params={"movie": "m0000", "item": 99})
    assert missing.status_code == 404 and "has no scene 99" in missing.json()["detail"]
    assert client.get("/api/neighbours", params={"movie": "m0000", "item": 0, "k": 0}).is_error


def test_keyframes_are_served_only_from_inside_the_store(tmp_path: Path) -> None:
    root = tmp_path / "store"
    image(root / "keyframes" / "m" / "shot_0000_img_1.jpg")
    secret = image(tmp_path / "secret.jpg", (1, 2, 3))
    (root / "keyframes" / "m" / "out.jpg").symlink_to(secret)
    (root / "keyframes" / "up").symlink_to(tmp_path)
    (root / "store.json").write_text("{}")
    client = TestClient(create_app(root))
    assert client.get("/files/keyframes/m/shot_0000_img_1.jpg").status_code == 200
    refused = {
        "/files/..%2Fsecret.jpg": 400,
        "/files/keyframes/..%2F..%2Fsecret.jpg": 400,
        "/files/%2e%2e/secret.jpg": 400,
        "/files/keyframes/%2E%2E/%2E%2E/secret.jpg": 400,
        f"/files/{secret}": 400,  # //tmp/...: absolute
        f"/files/%2F{str(secret).lstrip('/')}": 400,
        "/files/keyframes%5C..%5C..%5Csecret.jpg": 400,
        "/files/keyframes/m/%00.jpg": 400,
        "/files/keyframes/m/out.jpg": 404,  # a link pointing out of the store
        "/files/keyframes/up/secret.jpg": 404,  # a folder link pointing out
        # decoded once (uvicorn) a literal name that is not there; twice (TestClient) ../
        "/files/%252e%252e%252fsecret.jpg": (400, 404),
        "/files/store.json": 404,  # inside, but not an image
        "/files/keyframes/m/nope.jpg": 404,
        "/files/": 400,
    }
    for url, code in refused.items():
        got = client.get(url)
        assert got.status_code in (code if isinstance(code, tuple) else (code,)), (url, got.text)
        assert got.content != secret.read_bytes()
    assert client.get("/files/../secret.jpg").status_code == 404  # the client normalises it away
    for bad in ("../secret.jpg", "/etc/passwd", "a/../../secret.jpg", "a//b.jpg", "a\\b.jpg"):
        with pytest.raises(BadPathError):
            store_file(root, bad)
    with pytest.raises(FileNotInStoreError):
        store_file(root, "keyframes/m/out.jpg")
    assert store_file(root, "keyframes/m/shot_0000_img_1.jpg").is_file()


def test_an_empty_or_half_built_store_says_what_is_missing(tmp_path: Path) -> None:
    empty = TestClient(create_app(tmp_path))
    status = empty.get("/api/status")
    assert status.status_code == 200 and not status.json()["ready"]
    assert "no store.json yet" in status.json()["message"]
    movies = empty.get("/api/movies")
    assert movies.status_code == 409 and "store.json" in movies.json()["detail"]
    assert empty.get("/").status_code == 200  # the page loads and shows the message

    write_info(tmp_path, "scenedetect", {"scene": LevelInfo("vit", "ckpt", "0" * 16, D)})
    half = TestClient(create_app(tmp_path))
    status = half.get("/api/status").json()
    assert not status["ready"] and "no scene embeddings yet" in status["message"]
    assert status["levels"]["scene"] == {
        "encoder": "vit", "dim": D, "movies": 0, "items": 0, "index": None,
    }  # fmt: skip
    assert half.get("/api/movies").status_code == 409
    other = TestClient(create_app(tmp_path, level="shot")).get("/api/movies")
    assert other.status_code == 409 and "no shot level yet (it has: scene)" in other.text
    (tmp_path / "store.json").write_text('{"format": "movierep-store", "version": 7}')
    broken = half.get("/api/movies")
    assert broken.status_code == 409 and "version 7" in broken.json()["detail"]


def test_a_stale_index_is_named_not_a_crash(store: Path, stored, head, tmp_path: Path) -> None:
    copy = shutil.copytree(store, tmp_path / "store", symlinks=True)
    client = TestClient(create_app(copy, moderation=head[0]))
    client.get("/api/neighbours", params={"movie": "m0000", "item": 0})  # index up to date
    movie_file(copy, "scene", "m0001").unlink()  # a movie leaves the store after indexing
    keys, _ = stored
    note = client.get("/api/status").json()["message"]
    left = len(keys) - sum(m == "m0001" for m, _ in keys)
    assert f"index holds {len(keys)} of the store's {left} scenes" in note
    params = {"movie": "m0000", "item": 0, "k": 100}
    found = client.get("/api/neighbours", params=params).json()["results"]
    assert len(found) == sum(m != "m0000" for m, _ in keys)  # the index's rows stand in
    hidden = client.get("/api/neighbours", params={**params, "hide": "violence"})
    assert hidden.status_code == 409 and "--rebuild" in hidden.json()["detail"]


def test_the_moderation_filter_hides_what_the_head_flags(store: Path, stored, head) -> None:
    path, w, b = head
    loaded = load_head(path)
    assert (loaded.classes, loaded.dim) == (("none", "violence"), D)
    keys, x = stored
    p = p_violence(x, w, b)
    flagged = p > 0.5
    assert 0 < flagged.sum() < len(flagged)
    client = TestClient(create_app(store, moderation=path))
    assert client.get("/api/status").json()["moderation"]["classes"] == ["none", "violence"]
    for movie, item in [("m0000", 0), ("m0001", 1), ("m0003", 0)]:
        params = {"movie": movie, "item": item, "k": 4, "hide": "violence", "threshold": 0.5}
        body = client.get("/api/neighbours", params=params).json()
        want, skipped = expected(stored, movie, item, 4, flagged)
        assert [(r["movie_id"], r["item_index"]) for r in body["results"]] == [k for k, _ in want]
        assert body["hidden"] == skipped
        for r in body["results"]:
            prob = p[keys.index((r["movie_id"], r["item_index"]))]
            assert r["probabilities"]["violence"] == pytest.approx(prob, abs=1e-5)
            assert r["probabilities"]["violence"] <= 0.5
        unfiltered = client.get("/api/neighbours", params={**params, "hide": ""}).json()
        assert [r["rank"] for r in unfiltered["results"]] == [1, 2, 3, 4]
    bad = client.get("/api/neighbours", params={"movie": "m0000", "item": 0, "hide": "gore"})
    assert bad.status_code == 400 and "no class 'gore'" in bad.json()["detail"]
    plain = TestClient(create_app(store))
    no_head = plain.get("/api/neighbours", params={"movie": "m0000", "item": 0, "hide": "x"})
    assert no_head.status_code == 400 and "--moderation" in no_head.json()["detail"]


def test_a_head_folder_round_trips_and_a_bad_one_is_a_user_error(tmp_path: Path) -> None:
    torch.manual_seed(0)
    module = FeatureClassifier(8, 3, hidden=(5,)).eval()
    path = save_head(tmp_path / "h", module, ["a", "b", "c"], level="shot")
    loaded = load_head(path)
    assert (loaded.classes, loaded.dim, loaded.level) == (("a", "b", "c"), 8, "shot")
    x = np.random.default_rng(0).standard_normal((4, 8)).astype(np.float32)
    with torch.no_grad():
        want = module(torch.from_numpy(x)).softmax(-1).numpy()
    np.testing.assert_allclose(loaded.probabilities(x), want, atol=1e-6)
    with pytest.raises(UserError, match="not a movierep head folder"):
        load_head(tmp_path)
    with pytest.raises(ValueError, match="3 outputs but 2 class names"):
        save_head(tmp_path / "g", module, ["a", "b"])


def test_the_serve_command_checks_its_inputs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["serve", str(tmp_path / "missing")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"movierep: error: {tmp_path / 'missing'}: no such store folder"]
    assert main(["serve", str(tmp_path), "--moderation", str(tmp_path)]) == 2
    assert "not a movierep head folder" in capsys.readouterr().err
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        assert main(["serve", str(tmp_path), "--port", str(port)]) == 2
    assert f"127.0.0.1:{port}: cannot listen there" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["serve", "--help"])
    out = capsys.readouterr().out
    assert "example" in out and "movierep serve runs/store" in out


@contextmanager
def served(store: Path, *extra: str) -> Iterator[str]:
    """``movierep serve STORE --port 0`` in a child process; yields the URL it prints."""
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    argv = [sys.executable, "-m", "movierep", "serve", str(store), "--port", "0", *extra]
    pipe = subprocess.PIPE
    proc = subprocess.Popen(argv, stdout=pipe, stderr=pipe, text=True, env=env)
    try:
        assert proc.stdout is not None
        ready, _, _ = select.select([proc.stdout], [], [], 60)
        line = proc.stdout.readline() if ready else ""
        found = re.search(r"at (http://127\.0\.0\.1:\d+/)", line)
        if not found:
            proc.kill()
            pytest.fail(f"movierep serve did not start: {line!r} {proc.communicate()[1][-2000:]}")
        yield found.group(1)
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def chrome(tmp_path: Path):
    """Headless Debian chromium driven by its own chromedriver; never a download."""
    if os.environ.get("MOVIEREP_NO_BROWSER") == "1":
        pytest.skip("MOVIEREP_NO_BROWSER=1")
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    if not browser or not driver:
        pytest.fail(
            "the browser test needs Debian's chromium and chromium-driver (`make install-dev` "
            "installs them with apt-get); set MOVIEREP_NO_BROWSER=1 to skip it"
        )
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = browser
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                "--window-size=1280,1100", f"--user-data-dir={tmp_path / 'chromium'}"):  # fmt: skip
        options.add_argument(arg)
    return webdriver.Chrome(options=options, service=Service(executable_path=driver))


def test_the_page_shows_the_nearest_scenes_in_a_browser(
    store: Path, stored, head, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SE_OFFLINE", "true")  # selenium-manager: never reach the network
    browser = chrome(tmp_path)  # skips (MOVIEREP_NO_BROWSER=1) or fails before anything starts
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select, WebDriverWait

    path, w, b = head
    movie, item, k = "m0002", 1, 6
    want, _ = expected(stored, movie, item, k)
    flagged = p_violence(stored[1], w, b) > 0.5
    want_filtered, skipped = expected(stored, movie, item, k, flagged)
    try:
        with served(store, "--moderation", str(path)) as url:
            wait = WebDriverWait(browser, 30)
            browser.get(url)
            wait.until(lambda d: len(Select(d.find_element(By.ID, "movie")).options) == 4)
            Select(browser.find_element(By.ID, "movie")).select_by_value(movie)
            title = (By.ID, "query-title")
            wait.until(lambda d: d.find_element(*title).text.startswith(f"{movie} · scene 0"))
            browser.find_element(By.CSS_SELECTOR, f'#items .item[data-item="{item}"]').click()
            assert browser.find_element(*title).text.startswith(f"{movie} · scene {item} ·")
            query_frames = browser.find_elements(By.CSS_SELECTOR, "#query-frames img")
            assert len(query_frames) == WINDOW
            box = browser.find_element(By.ID, "k")
            box.clear()
            box.send_keys(str(k))

            def search() -> list[tuple[str, int, float]]:
                browser.find_element(By.ID, "search").click()
                results = (By.CSS_SELECTOR, f'#results[data-query="{movie}:{item}"]')
                wait.until(lambda d: d.find_elements(*results))
                cards = browser.find_elements(By.CSS_SELECTOR, "#results .result")
                return [(c.get_attribute("data-movie"), int(c.get_attribute("data-item")),
                         float(c.get_attribute("data-score"))) for c in cards]  # fmt: skip

            got = search()
            assert [(m, i) for m, i, _ in got] == [key for key, _ in want]
            np.testing.assert_allclose([s for *_, s in got], [s for _, s in want], atol=1e-5)
            loaded = "return [...document.querySelectorAll('#results img, #query-frames img')]" \
                ".every(i => i.complete && i.naturalWidth > 0)"  # fmt: skip
            wait.until(lambda d: d.execute_script(loaded))
            first = browser.find_element(By.CSS_SELECTOR, "#results .result")
            shown = re.search(r"score (-?\d\.\d{4})\b", first.text)
            assert shown and abs(float(shown.group(1)) - want[0][1]) <= 6e-5, first.text
            assert f"{want[0][0][0]} · scene {want[0][0][1]} ·" in first.text
            shot = tmp_path / "page.png"
            assert browser.save_screenshot(str(shot)) and shot.stat().st_size > 10_000
            if os.environ.get("MOVIEREP_WEB_SCREENSHOT"):  # for a developer to look at
                browser.save_screenshot(os.environ["MOVIEREP_WEB_SCREENSHOT"])

            Select(browser.find_element(By.ID, "hide-class")).select_by_value("violence")
            got = search()
            assert [(m, i) for m, i, _ in got] == [key for key, _ in want_filtered]
            note = browser.find_element(By.ID, "results-note").text
            assert (f"{skipped} hidden by the moderation filter" in note) == (skipped > 0)
    finally:
        browser.quit()
