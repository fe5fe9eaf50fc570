"""Training recipes: each method's run config, its profiles and a ``run(cfg, ...)`` function.

A recipe is library code, importable without argparse; the CLI (``movierep train``) and
the demo are thin callers of the same functions. Every recipe module has the same shape:

- a frozen run-config dataclass whose defaults are the paper's numbers (``CVRLRun``...);
- ``PROFILES``: ``"paper"`` (empty: the defaults) and ``"cpu"`` (sizes that train in CPU
  minutes, every mechanism kept);
- ``resolve(profile, config_file, sets)``: the resolved run config
  (defaults ← profile ← YAML ← ``--set``, validated);
- ``run(cfg, ..., out=...)``: train through :func:`movierep.train.loop.fit` and return
  its :class:`~movierep.train.loop.FitResult`. Resumable from ``out/last``; the same call
  runs under ``torchrun`` (it joins the process group from the environment).

Example:
    >>> from movierep.recipes import cvrl  # doctest: +SKIP
    >>> cfg = cvrl.resolve("cpu", sets=["train.steps=100"])
    >>> cvrl.run(cfg, data=[Path("corpus")], out=Path("runs/cvrl"))

Recipes: :mod:`.cvrl`, :mod:`.modist`, :mod:`.supervised` (the Slow-D backbone, level 1,
sharing :mod:`.backbone`) and :mod:`.maskpred` (the TxE contextualizer, level 2);
Movies2Scenes' :mod:`.image_encoder` (E_fixed), :mod:`.moviesim` (shot adjacency) and
:mod:`.scenes` (scene MoCo).
"""

from movierep.recipes import cvrl, maskpred, modist, supervised

#: The backbone recipes by method name (``movierep train backbone --method NAME``).
BACKBONE_METHODS = {"cvrl": cvrl, "modist": modist, "supervised": supervised}

__all__ = ["BACKBONE_METHODS", "cvrl", "maskpred", "modist", "supervised"]
