"""The package layout follows the data flow: imports point upstream only, and never in a circle.

Every ``import`` statement of every module counts, including those inside functions (which
is how import circles hide); only imports under ``if TYPE_CHECKING:`` are skipped, since
they never run.
"""

from __future__ import annotations

import ast
import importlib
import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

import movierep

SRC = Path(movierep.__file__).parent

#: Top-level modules every stage may use (config, files, tables, checkpoints, jobs).
FOUNDATION = {
    "errors", "files", "config", "dist", "tables", "runlog", "checkpoint", "jobs", "version"
}  # fmt: skip

#: Package -> the packages (besides itself and FOUNDATION) it may import, upstream in the
#: data flow: video -> data -> models/losses -> pretrain -> train -> features -> tasks ->
#: recipes -> demo -> cli.
UPSTREAM: dict[str, set[str]] = {
    "video": set(),
    "data": {"video"},
    "corpus": {"video", "data"},
    "models": set(),
    "losses": set(),
    "pretrain": {"models", "losses"},
    "train": set(),
    "features": {"video", "data", "models"},
    "similarity": {"video", "data", "models", "features"},
    "store": {"video", "data", "models", "features"},
    "scale": {"video", "data", "models", "features", "store"},
    "tasks": {
        "video",
        "data",
        "models",
        "losses",
        "pretrain",
        "train",
        "metrics",
        "features",
        "similarity",
    },
    "recipes": {"video", "data", "models", "losses", "pretrain", "train", "features", "similarity"},
    "demo": {
        "video",
        "data",
        "corpus",
        "models",
        "losses",
        "pretrain",
        "train",
        "features",
        "similarity",
        "metrics",
        "tasks",
        "recipes",
        "store",
        "report",
    },
}
UPSTREAM["report"] = set()
UPSTREAM["web"] = {"video", "data", "models", "features", "store", "tasks"}
UPSTREAM["cli"] = UPSTREAM["demo"] | {"demo", "web", "scale"}
UPSTREAM["__main__"] = {"cli"}


def module_name(path: Path) -> str:
    parts = ["movierep", *path.relative_to(SRC).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _type_checking_lines(tree: ast.Module) -> set[int]:
    lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for child in node.body:
                lines.update(range(child.lineno, (child.end_lineno or child.lineno) + 1))
    return lines


def imported_modules(path: Path) -> set[str]:
    """Every movierep module that ``path`` imports, at any depth of the file."""
    tree = ast.parse(path.read_text())
    skip = _type_checking_lines(tree)
    found: set[str] = set()
    for node in ast.walk(tree):
        if getattr(node, "lineno", None) in skip:
            continue
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("movierep"))
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if not node.module.startswith("movierep"):
                continue
            for alias in node.names:  # `from movierep.x import y`: y may be a submodule
                sub = f"{node.module}.{alias.name}"
                is_module = (SRC / Path(*sub.split(".")[1:])).with_suffix(".py").is_file() or (
                    SRC / Path(*sub.split(".")[1:]) / "__init__.py"
                ).is_file()
                found.add(sub if is_module else node.module)
    return found


GRAPH = {module_name(p): imported_modules(p) for p in sorted(SRC.rglob("*.py"))}


def group(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "movierep"


def test_the_graph_is_read_from_every_module_including_function_imports() -> None:
    assert "movierep.cli.train" in GRAPH
    assert "movierep.recipes" in GRAPH["movierep.cli.train"]
    # demo.py imports at module level only; features.contextualize has none inside functions
    assert any(imports for imports in GRAPH.values())


@pytest.mark.parametrize("module", sorted(GRAPH))
def test_imports_point_upstream(module: str) -> None:
    mine = group(module)
    for target in GRAPH[module]:
        theirs = group(target)
        if theirs == mine:
            continue
        if mine == "metrics":
            pytest.fail(f"{module} imports {target}: metrics/ imports nothing from movierep")
        if mine in FOUNDATION:
            assert theirs in FOUNDATION, f"{module} (foundation) imports {target}"
            continue
        if theirs in FOUNDATION:
            continue
        assert theirs in UPSTREAM[mine], f"{module} imports {target}: downstream of {mine}"


def test_no_import_circle() -> None:
    """No module reaches itself through imports (Tarjan's strongly connected components)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    circles: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in GRAPH.get(v, ()):
            if w not in GRAPH:
                continue
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                circles.append(sorted(component))

    sys.setrecursionlimit(10_000)
    for v in GRAPH:
        if v not in index:
            visit(v)
    assert not circles, circles


def test_no_module_imports_the_facade() -> None:
    """``movierep/__init__.py`` sits downstream of everything: no module imports from it."""
    for path in SRC.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module == "movierep":
                names = {a.name for a in node.names}
                assert names <= {p.name for p in pkgutil.iter_modules([str(SRC)])}, (
                    f"{path}: from movierep import {names}"
                )


PACKAGES = sorted(f"movierep.{m.name}" for m in pkgutil.iter_modules([str(SRC)]) if m.ispkg)


@pytest.mark.parametrize("package", PACKAGES)
def test_package_imports_alone_and_never_downstream(package: str) -> None:
    code = (
        "import importlib, pkgutil, sys\n"
        f"pkg = importlib.import_module({package!r})\n"
        "for m in pkgutil.walk_packages(pkg.__path__, pkg.__name__ + '.'):\n"
        "    importlib.import_module(m.name)\n"
        "print('\\n'.join(sorted(n for n in sys.modules if n.startswith('movierep'))))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    mine = package.split(".")[1]
    allowed = UPSTREAM.get(mine, set()) | {mine} | FOUNDATION
    for loaded in proc.stdout.split():
        if loaded != "movierep":
            assert group(loaded) in allowed, f"importing {package} loaded {loaded}"


def test_import_movierep_loads_nothing_else() -> None:
    code = "import movierep, sys; print(sorted(n for n in sys.modules if n.startswith('movierep')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "['movierep', 'movierep.version']"


def test_every_package_is_placed_in_the_layout() -> None:
    for package in PACKAGES:
        name = package.split(".")[1]
        assert name in UPSTREAM or name == "metrics", f"{package}: add it to UPSTREAM"
    for module in GRAPH:
        name = group(module)
        if module.count(".") == 1 and not (SRC / name).is_dir():
            assert name in FOUNDATION | {"demo", "__main__", "__init__"}, module
    importlib.import_module("movierep.cli")
