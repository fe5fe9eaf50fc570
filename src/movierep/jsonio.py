"""Read a JSON file a user handed us: a missing or malformed file is one-line UserError."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from movierep.errors import UserError


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
