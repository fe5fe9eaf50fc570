"""``movierep serve``: browse an embeddings store in a web page.

The page (:mod:`movierep.web.app`) lists the movies of a level, shows a movie's scenes (or
shots, events) with their keyframes, and the nearest items of other movies as keyframe
grids with scores, through the level's index (built on the first search if missing).
``--moderation HEAD`` adds a filter that hides results a saved classifier head flags. It
listens on 127.0.0.1 unless ``--host`` says otherwise; FastAPI and uvicorn are imported
only when the command runs.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from movierep.errors import UserError
from movierep.store.layout import check_level


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``serve``."""
    parser = sub.add_parser(
        "serve",
        help="browse a store in a web page: scenes, keyframes, nearest scenes of other movies",
        description=(
            "Serve a page and a JSON API over an embeddings store: pick a movie and a scene "
            "(or shot, event with --level), see its keyframes, and the nearest items of other "
            "movies as keyframe grids with scores. The level's index is built on the first "
            "search if it has none. --moderation HEAD (a folder of head.json + "
            "model.safetensors, movierep.web.moderation.save_head) offers a filter hiding "
            "results whose probability of a chosen class is above a threshold."
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=(
            "examples:\n"
            "  movierep serve runs/store\n"
            "  movierep serve runs/store --level shot --port 8080 --moderation runs/mod_head"
        ),
    )
    parser.add_argument("store", type=Path, metavar="STORE", help="store folder")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (127.0.0.1)")
    parser.add_argument("--port", type=int, default=8000, help="port (8000; 0: any free port)")
    parser.add_argument("--level", default="scene", help="event, shot or scene (scene)")
    parser.add_argument(
        "--moderation", type=Path, metavar="HEAD", help="moderation head folder: enables the filter"
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Serve the store until interrupted; see ``movierep serve --help``."""
    if not args.store.is_dir():
        raise UserError(f"{args.store}: no such store folder")
    level = check_level(args.level)
    try:
        from movierep.web.app import create_app, listen, serve
    except ImportError as err:
        raise UserError(
            f"movierep serve needs FastAPI and uvicorn ({err}); pip install 'movierep[web]'"
        ) from None
    app = create_app(args.store, level=level, moderation=args.moderation)
    sock = listen(args.host, args.port)
    host, port = sock.getsockname()[:2]
    shown = f"[{host}]" if ":" in host else host
    print(f"serving {args.store} at http://{shown}:{port}/ (Ctrl+C stops)", flush=True)
    serve(app, sock)
    return 0
