"""Serving keyframe images from a store, and nothing outside it.

A keyframe's URL is ``/files/<path relative to STORE>`` (the store's ``keyframe`` column,
e.g. ``/files/keyframes/m0003/shot_0012_img_1.jpg``). The path in a URL is the user's
input, so :func:`store_file` accepts it only when

- it is relative, without ``..``, backslashes, NUL bytes or empty segments (else
  :class:`BadPathError`, HTTP 400; the server has already percent-decoded the URL, so
  ``%2e%2e%2f`` arrives here as ``../`` and is refused the same way), and
- the file it names, with every symbolic link resolved, lies inside the resolved store
  root, is a regular file and is an image (``.jpg``, ``.jpeg``, ``.png``, ``.webp``;
  else :class:`FileNotInStoreError`, HTTP 404, so a link pointing out of the store is
  indistinguishable from a missing file).
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath
from urllib.parse import quote

from movierep.errors import UserError

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp")
ROUTE = "/files/"


class BadPathError(UserError):
    """A file path that is not a plain relative path (absolute, ``..``, backslash, NUL)."""


class FileNotInStoreError(UserError):
    """No image file at that path inside the store (missing, elsewhere, or not an image)."""


def file_url(relative: str) -> str:
    """The URL of a file of the store, from its path relative to the store."""
    return ROUTE + quote(relative)


def store_file(root: str | Path, relative: str) -> Path:
    """The image file ``root / relative``, resolved, if it is safely inside ``root``.

    Args:
        root: the store folder.
        relative: the path from the URL, relative to the store (``/`` separated).

    Returns:
        The resolved path of an existing image file inside the resolved ``root``.

    Raises:
        BadPathError: ``relative`` is empty, absolute, has ``..``, a backslash, NUL or ``//``.
        FileNotInStoreError: it resolves outside the store, to no file, or to a non-image.
    """
    if (
        not relative
        or "\x00" in relative
        or "\\" in relative
        or relative.startswith("/")
        or PurePosixPath(relative).is_absolute()
        or any(part in ("", ".", "..") for part in relative.split("/"))
    ):
        raise BadPathError(f"{relative!r}: not a plain path relative to the store")
    base = Path(root).resolve()
    target = (base / relative).resolve()
    if not target.is_relative_to(base) or target == base:
        raise FileNotInStoreError(f"{relative}: not a file of the store")
    if target.suffix.lower() not in IMAGE_SUFFIXES or not target.is_file():
        raise FileNotInStoreError(f"{relative}: no image of that name in the store")
    return target
