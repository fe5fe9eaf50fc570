"""Files a user can open, written so that a crash never leaves a half-written one.

Every file movierep writes goes through :func:`atomic_path`: the content is written under
a temporary name beside the destination (same folder, hence same file system) and then
renamed onto it with :func:`os.replace`, which POSIX makes atomic. A reader, or a rerun
after ``kill -9``, sees the old file or the new one, never a prefix of it. Folders
(checkpoints) are swapped the same way by :func:`atomic_dir`. Temporary names start with
a dot and end in ``.tmp``, so listings and globs of finished outputs skip them.

:func:`read_json` is the matching reader for files a user hands us: a missing or
malformed file is a one-line :class:`~movierep.errors.UserError`.
"""

from __future__ import annotations

import json
import math
import os
import secrets
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from movierep.errors import UserError


def _temp_name(path: Path) -> Path:
    return path.with_name(f".{path.name}.{os.getpid()}-{secrets.token_hex(4)}.tmp")


@contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path to write; on success it is renamed onto ``path``.

    The temporary file is not created: the writer creates it (so it gets the usual
    permissions). If the block raises, the temporary file is removed and ``path`` is
    left as it was. Writers that pick a format from the file name (PIL, NumPy) must be
    told the format, since the temporary name ends in ``.tmp``.

    Example:
        >>> with atomic_path(out / "table.parquet") as tmp:  # doctest: +SKIP
        ...     pq.write_table(table, tmp)
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _temp_name(path)
    try:
        yield tmp
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_text(path: str | Path, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically and return ``path``."""
    path = Path(path)
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return path


def json_safe(obj: Any) -> Any:
    """``obj`` with every non-finite float (NaN, ±inf) replaced by None, recursively.

    JSON has no NaN: strict parsers reject Python's ``NaN`` token, so a metric without a
    value is written ``null`` (its count, e.g. of runs, stays beside it).
    """
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: json_safe(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [json_safe(v) for v in obj]
    return obj


def write_json(path: str | Path, obj: Any, *, indent: int | None = 2, **kwargs: Any) -> Path:
    """Write ``obj`` as strict JSON (plus a final newline) to ``path`` atomically.

    Non-finite floats become ``null`` (:func:`json_safe`); ``allow_nan`` is always False.
    """
    kwargs["allow_nan"] = False
    return write_text(path, json.dumps(json_safe(obj), indent=indent, **kwargs) + "\n")


@contextmanager
def atomic_dir(path: str | Path) -> Iterator[Path]:
    """Yield a fresh temporary folder; on success it replaces the folder ``path``.

    The old folder is first renamed to ``.<name>.old`` and removed only after the new
    one is in place, so at every moment either the old or the new folder is at ``path``
    (a crash between the two renames leaves the old one beside it, never a half one).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _temp_name(path)
    tmp.mkdir()
    try:
        yield tmp
        old = path.with_name(f".{path.name}.old")
        if path.exists():
            shutil.rmtree(old, ignore_errors=True)
            path.rename(old)
        tmp.rename(path)
        shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def read_json(path: str | Path) -> Any:
    """Parse ``path`` as UTF-8 JSON.

    Raises:
        UserError: ``<path>: file not found`` or ``<path>: line N: invalid JSON (...)``.
    """
    path = Path(path)
    if not path.is_file():
        raise UserError(f"{path}: file not found")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise UserError(f"{path}: line {err.lineno}: invalid JSON ({err.msg})") from None
