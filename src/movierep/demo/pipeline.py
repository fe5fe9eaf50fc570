"""Stages that run once: progress for every stage, skipped on a rerun, failures in one line.

A stage is a named function. When it returns, :class:`Pipeline` writes
``OUT/.stages/<name>.json`` (its wall time); a rerun finds the mark and skips the stage, so
what finished is never redone. A stage that raises leaves no mark: the run stops with one
line naming the stage and the problem (:class:`StageError`, a
:class:`~movierep.errors.UserError`, so ``movierep demo`` exits with status 2), the
traceback goes to ``OUT/logs/<name>.log``, and the next run starts again at that stage.
"""

from __future__ import annotations

import errno
import json
import resource
import sys
import time
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path

from movierep import files
from movierep.errors import UserError


class StageError(UserError):
    """A stage of the demo failed; the message names the stage and the problem."""


def problem(err: BaseException) -> str:
    """One line for ``err``: a full disk and a refused write are said in words."""
    if isinstance(err, OSError) and err.errno == errno.ENOSPC:
        return f"the disk is full ({err.filename or 'no space left on device'})"
    if isinstance(err, PermissionError):
        return f"permission denied: {err.filename}"
    text = str(err).strip().splitlines()
    return f"{type(err).__name__}: {text[0] if text else ''}".rstrip(": ")


def check_writable(out: Path) -> None:
    """Fail early, in one line, when ``out`` cannot be created or written."""
    try:
        out.mkdir(parents=True, exist_ok=True)
        files.write_text(out / ".stages" / ".write-check", "ok\n")
        (out / ".stages" / ".write-check").unlink()
    except OSError as err:
        raise StageError(f"{out}: the output folder is not writable ({problem(err)})") from err


def peak_memory_gb() -> float:
    """Peak resident memory of this process and its finished children, in GB (Linux KiB)."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return max(own, children) / 1024**2


class Pipeline:
    """Runs named stages in order, once each; ``OUT/.stages`` remembers the finished ones.

    Args:
        out: the run folder.
        names: every stage's name, in order (for ``[demo 3/17]`` progress lines).
        log: where progress lines go.
    """

    def __init__(self, out: Path, names: Sequence[str], log: Callable[[str], None] = print):
        check_writable(out)
        self.out = out
        self.marks = out / ".stages"
        self.names = list(names)
        self.log = log
        self.timings: dict[str, float] = {}
        self.skipped: list[str] = []

    def done(self, name: str) -> bool:
        """Whether stage ``name`` finished in this or an earlier run."""
        return (self.marks / f"{name}.json").is_file()

    def stage(self, name: str, fn: Callable[[], object]) -> None:
        """Run ``fn`` unless stage ``name`` finished before; record its wall time.

        Raises:
            StageError: ``fn`` raised; the message names the stage and the problem.
        """
        where = f"[demo {self.names.index(name) + 1}/{len(self.names)}] {name}"
        mark = self.marks / f"{name}.json"
        if mark.is_file():
            self.timings[name] = float(json.loads(mark.read_text())["seconds"])
            self.skipped.append(name)
            self.log(f"{where}: finished in an earlier run, skipped")
            return
        self.log(f"{where} ...")
        tic = time.monotonic()
        try:
            fn()
        except (KeyboardInterrupt, StageError):
            raise
        except Exception as err:
            self._log_traceback(name)
            raise StageError(
                f"stage {name}: {problem(err)} (what finished is kept; rerun to continue; "
                f"traceback in {self.out / 'logs' / f'{name}.log'})"
            ) from err
        seconds = time.monotonic() - tic
        self.timings[name] = seconds
        try:
            files.write_json(mark, {"seconds": round(seconds, 2)}, indent=None)
        except OSError as err:
            raise StageError(f"stage {name}: finished but {problem(err)}") from err
        self.log(f"{where}: {seconds:.0f} s (peak memory {peak_memory_gb():.2f} GB)")

    def _log_traceback(self, name: str) -> None:
        try:
            files.write_text(self.out / "logs" / f"{name}.log", traceback.format_exc())
        except OSError:  # a full disk: the one line still goes out
            print(traceback.format_exc(), file=sys.stderr)
