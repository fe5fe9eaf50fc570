"""The embedded synthetic corpus: movies with ground truth for every task.

``make_corpus(out, preset="tiny", seed=0, **overrides)`` writes the files described in
``CORPUS.md``. The modules follow the generation order:

1. :mod:`.metadata` and :mod:`.crew`: catalog facts (genre, director, writer, year);
2. :mod:`.script`: scenes, 2 s events, causal links, shots and camera plans;
3. :mod:`.motion` and :mod:`.staging`: per-frame poses, camera windows, boxes;
4. :mod:`.places`, :mod:`.sprites`, :mod:`.render`, :mod:`.encode`: frames and MP4s;
5. :mod:`.truth`, :mod:`.synopsis`, :mod:`.audience`: tables; :mod:`.kinetics`: action clips.
"""

from movierep.corpus.make import make_corpus
from movierep.corpus.presets import PRESETS, CorpusOptions, resolve_options

__all__ = ["PRESETS", "CorpusOptions", "make_corpus", "resolve_options"]
