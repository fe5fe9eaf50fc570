"""The main job: both papers end to end on the embedded corpus, and a report to read.

:func:`run_demo` (``movierep demo``) runs the stages listed in :mod:`movierep.demo.run`;
:mod:`movierep.demo.report` turns their measurements into the papers' tables, plots and
findings (:mod:`movierep.report` renders them as HTML, Markdown and JSON).
"""

from movierep.demo.presets import PRESETS, DemoPreset
from movierep.demo.run import run_demo

__all__ = ["PRESETS", "DemoPreset", "run_demo"]
