"""The command line: every command listed, every --help shows an example, user errors exit 2."""

from __future__ import annotations

from pathlib import Path

import pytest

from movierep.cli import main

COMMANDS = [
    ["corpus", "make"],
    ["corpus", "preview"],
    ["ingest", "shots"],
    ["ingest", "events"],
    ["train", "backbone"],
    ["train", "contextualizer"],
    ["extract", "events"],
    ["extract", "shots"],
    ["extract", "scenes"],
    ["extract", "clips"],
    ["extract", "instances"],
    ["train", "image-encoder"],
    ["train", "moviesim"],
    ["train", "scenes"],
    ["similar-movies"],
    ["select-pairs"],
    ["eval", "vidsitu-verbs"],
    ["eval", "vidsitu-relations"],
    ["eval", "lvu"],
    ["eval", "place-retrieval"],
    ["eval", "movienet-places"],
    ["eval", "movienet-sbd"],
    ["eval", "moderation"],
    ["eval", "lvu-ot"],
    ["embed"],
    ["index"],
    ["search"],
    ["verify"],
    ["demo"],
]


def test_top_level_help_lists_every_command(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        main(["--help"])
    assert done.value.code == 0
    out = capsys.readouterr().out
    for name in ("corpus", "ingest", "train", "extract", "eval", "demo"):
        assert f"    {name}" in out


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_every_command_help_ends_with_an_example(
    command: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit):
        main([*command, "--help"])
    out = capsys.readouterr().out
    assert "example" in out
    assert f"movierep {' '.join(command)}" in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["ingest", "shots", "{tmp}/missing.mp4", "--out", "{tmp}/o"], "missing.mp4"),
        (["extract", "events", "--backbone", "{tmp}", "--videos", "{tmp}/a.mp4",
          "--out", "{tmp}/f.parquet"], "not a movierep checkpoint"),
        (["train", "contextualizer", "--features", "{tmp}/none.parquet", "--out", "{tmp}/r"],
         "none.parquet"),
        (["train", "contextualizer", "--features", "{tmp}/none.parquet", "--out", "{tmp}/r",
          "--set", "nope.x=1"], "nope"),
        (["corpus", "preview", "{tmp}"], "not a corpus"),
        (["eval", "vidsitu-verbs", "--data", "{tmp}", "--row", "x={tmp}/bb"], "vseg_split_train"),
        (["eval", "vidsitu-relations", "--data", "{tmp}", "--row", "x=a,b,c"], "NAME= then 1 to 2"),
        (["demo", "--out", "{tmp}/d", "--preset", "tiny", "--seed", "x"], None),
    ],
)  # fmt: skip
def test_user_errors_print_one_line_and_exit_2(
    argv: list[str], message: str | None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = [a.format(tmp=tmp_path) for a in argv]
    try:
        code = main(argv)
    except SystemExit as done:  # argparse's own errors (bad option values) also exit 2
        code = int(done.code or 0)
    assert code == 2
    err = capsys.readouterr().err.strip()
    if message is not None:
        lines = err.splitlines()
        assert len(lines) == 1
        assert lines[0].startswith("movierep: error:")
        assert message in lines[0]


@pytest.mark.parametrize(
    ("argv", "key", "value", "paper"),
    [
        (["train", "contextualizer"], "maskpred.queue_size", "4096", "65536"),
        (["train", "backbone", "--method", "cvrl"], "train.optimizer", '"adamw"', '"lars"'),
        (["train", "backbone", "--method", "modist"], "modist.temperature", "0.1", "0.1"),
        (["train", "backbone", "--method", "supervised"], "supervised.dropout", "0.5", "0.5"),
    ],
)
def test_print_config_lists_every_key_with_its_paper_value(argv, key, value, paper, capsys):
    assert main([*argv, "--profile", "cpu", "--set", "train.seed=7", "--print-config"]) == 0
    rows = {line.split()[0]: line.split()[1:] for line in capsys.readouterr().out.splitlines()}
    assert rows[key][:2] == [value, paper]
    assert rows["train.seed"] == ["7", "0", "*"]  # differs from the paper: marked
    assert rows["train.steps"][-1] == "*"


def test_training_without_its_inputs_is_a_user_error(capsys):
    assert main(["train", "contextualizer", "--profile", "cpu"]) == 2
    assert "--features is required" in capsys.readouterr().err
