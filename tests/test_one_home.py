"""Each parameter has one home and one name (issue 32).

A module's config dataclass is the single source of its defaults: a constructor takes the
config, or has no default of its own for a field of it. Configs are passed whole, by name,
never splatted into a constructor (``**config.to_dict(cfg)``, ``**asdict(cfg)``,
``**vars(cfg)``, ``**meta["model_kwargs"]``), so a reader's tools can follow the hop.
"""

from __future__ import annotations

import ast
import dataclasses
import importlib
import inspect
import pkgutil
import types
import typing
from pathlib import Path
from typing import Any

import pytest

import movierep

SRC = Path(movierep.__file__).parent

#: Calls whose result, splatted into a call, passes a config's fields as keywords.
SPLATTED = {"to_dict", "asdict", "vars"}


def _modules() -> list[types.ModuleType]:
    out = []
    for info in pkgutil.walk_packages(movierep.__path__, "movierep."):
        if info.name.endswith("__main__"):  # runs the CLI on import
            continue
        out.append(importlib.import_module(info.name))
    return out


def _is_config(obj: Any) -> bool:
    return inspect.isclass(obj) and dataclasses.is_dataclass(obj)


def _annotated_configs(init: Any) -> set[type]:
    """Config dataclasses named by the annotations of ``init``'s parameters."""
    try:
        hints = typing.get_type_hints(init)
    except Exception:  # an annotation that does not resolve at runtime names no config
        return set()
    found: set[type] = set()
    for hint in hints.values():
        for arg in (hint, *typing.get_args(hint)):  # X, X | None
            if _is_config(arg) and arg.__name__.endswith("Config"):
                found.add(arg)
    return found


#: Names of the class a config ``<Stem>Config`` is named for: ``<Stem>``, ``<Stem>Net``...
NAMED_FOR = ("", "Net", "Objective")


def _configs_in(module: types.ModuleType) -> dict[str, type]:
    return {
        name: obj
        for name, obj in vars(module).items()
        if _is_config(obj) and obj.__module__ == module.__name__ and name.endswith("Config")
    }


def defaults_written_twice(
    module: types.ModuleType, everywhere: dict[str, type] | None = None
) -> list[str]:
    """``Class.param`` for every constructor default that is also a field of a config.

    The configs checked for a class are those its constructor's annotations name, every
    ``*Config`` dataclass defined in its module, and, from ``everywhere`` (the package's
    configs by name), the one named for it (``ShotAdjacencyConfig`` for
    ``ShotAdjacencyNet``, wherever each lives).
    """
    local = set(_configs_in(module).values())
    everywhere = everywhere or {}
    problems = []
    for name, cls in vars(module).items():
        if not inspect.isclass(cls) or cls.__module__ != module.__name__ or _is_config(cls):
            continue
        init = cls.__dict__.get("__init__")
        if init is None:
            continue
        params = inspect.signature(init).parameters.values()
        named_for = {
            cfg
            for cfg_name, cfg in everywhere.items()
            if any(name == cfg_name[: -len("Config")] + suffix for suffix in NAMED_FOR)
        }
        for cfg in local | named_for | _annotated_configs(init):
            fields = {f.name for f in dataclasses.fields(cfg)}
            for p in params:
                if p.default is not p.empty and p.name in fields:
                    problems.append(f"{name}.{p.name} (default also in {cfg.__name__})")
    return problems


def _splats_a_config(value: ast.expr) -> bool:
    """``**f(...)`` (f in :data:`SPLATTED`), ``**{**f(...), ...}`` or ``**x["model_kwargs"]``."""
    if isinstance(value, ast.Call):
        func = value.func
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
        return name in SPLATTED
    if isinstance(value, ast.Dict):
        pairs = zip(value.keys, value.values, strict=True)
        return any(k is None and _splats_a_config(v) for k, v in pairs)
    if isinstance(value, ast.Subscript):
        key = value.slice
        return isinstance(key, ast.Constant) and key.value == "model_kwargs"
    return False


def config_splats(source: str, filename: str = "<source>") -> list[str]:
    """``file:line`` of every call that splats a config into its keyword arguments."""
    return [
        f"{filename}:{node.lineno}: {ast.unparse(node)[:80]}"
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Call)
        and any(kw.arg is None and _splats_a_config(kw.value) for kw in node.keywords)
    ]


# -- the checks catch what issue 32 found ------------------------------------------------


@dataclasses.dataclass(frozen=True)
class OldStyleConfig:
    temperature: float = 0.1
    proj_dim: int = 128


class OldStyle:  # how CVRL looked before issue 32: its config's defaults, written again
    def __init__(self, backbone: object, *, temperature: float = 0.1, proj_dim: int = 128):
        self.backbone, self.temperature, self.proj_dim = backbone, temperature, proj_dim


class NewStyle:
    def __init__(
        self, backbone: object, cfg: OldStyleConfig = OldStyleConfig(), *, gather: bool = True
    ):
        self.backbone, self.cfg, self.gather = backbone, cfg, gather


def test_the_check_finds_a_default_written_twice() -> None:
    module = types.ModuleType(__name__)
    module.OldStyleConfig = OldStyleConfig  # type: ignore[attr-defined]
    module.OldStyle = OldStyle  # type: ignore[attr-defined]
    module.NewStyle = NewStyle  # type: ignore[attr-defined]
    assert defaults_written_twice(module) == [
        "OldStyle.temperature (default also in OldStyleConfig)",
        "OldStyle.proj_dim (default also in OldStyleConfig)",
    ]
    elsewhere = types.ModuleType(__name__)  # the class here, its config in another module
    elsewhere.OldStyle = OldStyle  # type: ignore[attr-defined]
    assert defaults_written_twice(elsewhere) == []
    assert len(defaults_written_twice(elsewhere, {"OldStyleConfig": OldStyleConfig})) == 2


def test_the_check_finds_a_config_splat() -> None:
    old = (
        "txe = TxE(**config.to_dict(cfg.txe))\n"
        "obj = MaskPredObjective(txe, **config.to_dict(cfg.maskpred))\n"
        "net = ShotAdjacencyNet(**asdict(cfg.net))\n"
        "b = SpanBatch(**{**vars(batch), 'inst_feat': feats})\n"
        "model = MODELS[arch](**meta['model_kwargs'])\n"
    )
    assert len(config_splats(old)) == 5
    new = (
        "txe = TxE(cfg.txe)\n"
        "run_config = {**config.to_dict(cfg), 'init': str(init)}\n"  # a dict, not a call
        "fit(run_config=config.to_dict(cfg))\n"
    )
    assert config_splats(new) == []


# -- the package ---------------------------------------------------------------------------


MODULES = _modules()
CONFIGS = {name: cfg for module in MODULES for name, cfg in _configs_in(module).items()}


@pytest.mark.parametrize("module", MODULES, ids=lambda m: m.__name__)
def test_a_config_is_the_one_home_of_its_defaults(module: types.ModuleType) -> None:
    assert defaults_written_twice(module, CONFIGS) == []


def test_no_source_file_splats_a_config_into_a_call() -> None:
    found = []
    for path in sorted(SRC.rglob("*.py")):
        found += config_splats(path.read_text(), str(path.relative_to(SRC)))
    assert found == []


def test_the_walk_sees_the_configs_and_their_modules() -> None:
    names = {m.__name__ for m in MODULES}
    for module in ("movierep.models.txe", "movierep.pretrain.cvrl", "movierep.recipes.maskpred"):
        assert module in names
    from movierep.models.shot_adjacency import ShotAdjacencyConfig, ShotAdjacencyNet
    from movierep.pretrain.cvrl import CVRL, CVRLConfig

    assert _annotated_configs(CVRL.__init__) == {CVRLConfig}
    assert _annotated_configs(ShotAdjacencyNet.__init__) == {ShotAdjacencyConfig}


def test_model_size_presets_live_beside_their_models() -> None:
    """The recipes' CPU sizes are the models' presets, not copies of them."""
    from movierep import config
    from movierep.models.shot_adjacency import SHOT_ADJACENCY_CPU
    from movierep.models.txe import TXE_TINY
    from movierep.models.vit import VIT_TINY
    from movierep.recipes import image_encoder, maskpred, moviesim

    assert image_encoder.resolve("cpu").model == VIT_TINY
    assert maskpred.resolve("cpu").txe == TXE_TINY
    assert moviesim.resolve("cpu").net == SHOT_ADJACENCY_CPU
    assert config.preset_overrides("net", SHOT_ADJACENCY_CPU)["net.cosine"] is True
