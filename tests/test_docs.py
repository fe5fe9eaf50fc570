"""docs/contracts.md describes the package as it is: every file it names exists."""

from __future__ import annotations

import re
from pathlib import Path

import movierep

ROOT = Path(__file__).resolve().parents[1]
SRC = Path(movierep.__file__).parent


def layout_block() -> list[str]:
    text = (ROOT / "docs" / "contracts.md").read_text()
    section = text.split("## Package layout", 1)[1]
    return section.split("```", 2)[1].splitlines()


def test_every_file_of_the_layout_exists_and_every_package_is_listed() -> None:
    folder = ""
    named: set[str] = set()
    for line in layout_block():
        head = re.match(r"\s{2}(\w+/)\s", line)
        if head:
            folder = head.group(1)
        elif re.match(r"\s{2}\S", line):
            folder = ""
        for token in re.findall(r"[\w/{},]+\.py\b", line):
            stem = token[: -len(".py")]
            braces = re.match(r"(.*)\{(.+)\}$", stem)
            stems = [braces.group(1) + s for s in braces.group(2).split(",")] if braces else [stem]
            for s in stems:
                rel = s if "/" in s and not folder else folder + s
                path = SRC / f"{rel}.py"
                assert path.is_file(), f"docs/contracts.md names {rel}.py, which does not exist"
                named.add(rel.split("/")[0])
    packages = {p.name for p in SRC.iterdir() if p.is_dir() and (p / "__init__.py").is_file()}
    assert packages <= named | {p for p in packages if f"  {p}/" in "\n".join(layout_block())}
