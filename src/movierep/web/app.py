"""The web app of ``movierep serve``: a JSON API over a store, and the page that uses it.

Routes (all ``GET``; ``level`` defaults to the level the app was made for)::

    /                               the page (static/index.html + app.js + style.css)
    /api/status?level=              what the store holds; "ready" and a message
    /api/movies?level=              [{"movie_id", "items"}]
    /api/items?level=&movie=        the movie's items: times, keyframe URLs
    /api/neighbours?level=&movie=&item=&k=10[&hide=CLASS&threshold=0.5]
                                    nearest items of other movies, scores, hidden count
    /files/<path in STORE>          a keyframe image (only images inside the store)

Errors are JSON ``{"detail": one line}``: 400 for a bad request (unknown level, a path
that is not plain, a filter without a head), 404 for an unknown movie, item or file, 409
when the store cannot answer yet (no ``store.json``, no rows of the level): the page
shows the line. The app is plain FastAPI with synchronous handlers (run in Starlette's
thread pool); :class:`~movierep.web.browse.StoreBrowser` does the work. The page is
static HTML with a small vanilla JavaScript file, shipped in the package, with nothing
fetched from elsewhere: the interactive API docs (which load from a CDN) are off.
"""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Query, Request
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response

from movierep.errors import UserError
from movierep.store.layout import check_level
from movierep.web.browse import (
    BadRequestError,
    NotFoundError,
    StoreBrowser,
    StoreNotReadyError,
)
from movierep.web.moderation import ModerationHead, load_head
from movierep.web.store_files import BadPathError, FileNotInStoreError, store_file

STATIC = Path(__file__).parent / "static"
ASSETS = {"app.js": "text/javascript", "style.css": "text/css"}
MAX_K = 100


def status_code(err: UserError) -> int:
    """The HTTP status of a user error: 404 unknown, 409 not ready, 400 otherwise."""
    if isinstance(err, NotFoundError | FileNotInStoreError):
        return 404
    if isinstance(err, StoreNotReadyError):
        return 409
    if isinstance(err, BadRequestError | BadPathError):
        return 400
    return 400


def create_app(
    store: str | Path,
    *,
    level: str = "scene",
    moderation: str | Path | ModerationHead | None = None,
) -> FastAPI:
    """The FastAPI app serving the store ``store``.

    Args:
        store: the store folder (it may be empty or half built: the page says so).
        level: the level the page opens on.
        moderation: a head folder (:func:`movierep.web.moderation.load_head`) or a loaded
            head, to offer the filter; ``None``: no filter.

    Raises:
        UserError: an unknown level, or a moderation head that cannot be read.
    """
    level = check_level(level)
    head = load_head(moderation) if isinstance(moderation, str | Path) else moderation
    browser = StoreBrowser(store, head)
    app = FastAPI(title="movierep", docs_url=None, redoc_url=None)
    app.state.browser = browser
    page = (STATIC / "index.html").read_text(encoding="utf-8")

    @app.exception_handler(UserError)
    async def user_error(request: Request, err: UserError) -> JSONResponse:
        return JSONResponse({"detail": str(err)}, status_code=status_code(err))

    @app.get("/", response_class=HTMLResponse)
    def index() -> HTMLResponse:
        return HTMLResponse(page)

    @app.get("/static/{name}")
    def asset(name: str) -> Response:
        if name not in ASSETS:
            return JSONResponse({"detail": f"no asset {name!r}"}, status_code=404)
        return FileResponse(STATIC / name, media_type=ASSETS[name])

    @app.get("/api/status")
    def status(level: str = level) -> dict[str, Any]:
        return browser.status(level)

    @app.get("/api/movies")
    def movies(level: str = level) -> dict[str, Any]:
        return {"level": level, "movies": browser.movies(level)}

    @app.get("/api/items")
    def items(movie: str, level: str = level) -> dict[str, Any]:
        return {"level": level, "movie_id": movie, "items": browser.items(level, movie)}

    @app.get("/api/neighbours")
    def neighbours(
        movie: str,
        item: int,
        level: str = level,
        k: int = Query(10, ge=1, le=MAX_K),
        hide: str | None = None,
        threshold: float = Query(0.5, ge=0.0, le=1.0),
    ) -> dict[str, Any]:
        found = browser.neighbours(level, movie, item, k, hide=hide or None, threshold=threshold)
        return {"level": level, **found}

    @app.get("/files/{path:path}")
    def files(path: str) -> FileResponse:
        return FileResponse(store_file(browser.root, path))

    return app


def listen(host: str, port: int) -> socket.socket:
    """A socket bound to ``host:port`` and listening (``port`` 0: a free port).

    Raises:
        UserError: the address cannot be bound (in use, not this machine's).
    """
    try:
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
        sock = socket.create_server((host, port), family=family)
    except OSError as err:
        raise UserError(f"{host}:{port}: cannot listen there ({err.strerror or err})") from None
    return sock


def serve(app: FastAPI, sock: socket.socket, *, log_level: str = "warning") -> None:
    """Serve ``app`` with uvicorn on an already bound socket until interrupted."""
    import uvicorn

    server = uvicorn.Server(uvicorn.Config(app, log_level=log_level))
    server.run(sockets=[sock])
