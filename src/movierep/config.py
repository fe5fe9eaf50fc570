"""Run configs: frozen dataclasses whose defaults are the papers' numbers.

A *stage config* (``SlowDConfig``, ``TrainConfig``...) is a frozen dataclass of plain
values. A *run config* is a frozen dataclass whose fields are stage configs (sections) or
plain values. A run module also defines ``PROFILES``: flat override sets keyed
``"section.field"``; ``"paper"`` is always the empty set (the defaults are the paper), and
``"cpu"`` shrinks sizes while keeping every mechanism.

Resolution order, applied once: defaults <- profile <- YAML file <- ``--set key=value``.
Keys are validated: an unknown key, a duplicate key or a value of the wrong type is a
:class:`~movierep.errors.UserError`. The resolved config is written beside every output
(``config.json`` and ``config.yaml``).

Example:
    >>> cfg = build(CVRLRun, PROFILES, profile="cpu", sets=["train.lr=0.1"])  # doctest: +SKIP
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import types
import typing
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

import yaml

from movierep import files
from movierep.errors import UserError

C = TypeVar("C")
Profiles = Mapping[str, Mapping[str, Any]]


def to_dict(cfg: Any) -> dict[str, Any]:
    """Convert a (nested) config dataclass to plain JSON-able values (tuples become lists)."""
    out: dict[str, Any] = {}
    for f in dataclasses.fields(cfg):
        value = getattr(cfg, f.name)
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            out[f.name] = to_dict(value)
        elif isinstance(value, tuple):
            out[f.name] = list(value)
        else:
            out[f.name] = value
    return out


def from_dict(cls: type[C], data: Mapping[str, Any], *, source: str = "config") -> C:
    """Build ``cls`` from a (possibly partial) nested dict, validating keys and types.

    Fields without a default (e.g. ``TxDConfig.vocab_size``) must be in ``data``; the
    others default to the class's values.
    """
    flat = _flatten(data)
    required = [
        f.name
        for f in dataclasses.fields(cls)  # type: ignore[arg-type]
        if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
    ]
    missing = [name for name in required if name not in flat]
    if missing:
        raise UserError(f"{source}: {cls.__name__} needs {', '.join(missing)}")
    given = {name: _coerce_field(cls, name, flat.pop(name), source) for name in required}
    return _apply(cls(**given), flat, source)


def override(cfg: C, changes: Mapping[str, Any], *, source: str = "overrides") -> C:
    """``cfg`` with the (nested or ``section.field``) ``changes``, validated and type-checked.

    Like :func:`dataclasses.replace`, but an unknown key or a value of the wrong type is a
    :class:`~movierep.errors.UserError`, and JSON lists become tuples where a tuple is due.
    """
    return _apply(cfg, _flatten(changes), source)


def preset_overrides(section: str, preset: Any) -> dict[str, Any]:
    """The flat ``section.field`` overrides that turn a config class's defaults into ``preset``.

    A run config's profile uses it to name a model-size preset defined beside its model
    (e.g. ``preset_overrides("model", VIT_TINY)``) instead of repeating its sizes.
    """
    base = type(preset)()
    return {
        f"{section}.{f.name}": getattr(preset, f.name)
        for f in dataclasses.fields(preset)
        if getattr(preset, f.name) != getattr(base, f.name)
    }


def build(
    cls: type[C],
    profiles: Profiles,
    profile: str = "paper",
    config_file: str | Path | None = None,
    sets: Sequence[str] = (),
) -> C:
    """Resolve a run config: defaults <- profile <- YAML file <- ``--set`` overrides.

    Args:
        cls: the run-config dataclass (every field has a default).
        profiles: named flat override sets, e.g. ``{"paper": {}, "cpu": {"train.steps": 200}}``.
        profile: which profile to apply.
        config_file: a YAML file holding a nested mapping of overrides.
        sets: ``"section.field=value"`` strings; values are parsed as YAML scalars/lists.

    Returns:
        The resolved, frozen run config.
    """
    if profile not in profiles:
        raise UserError(f"unknown profile {profile!r}; known profiles: {', '.join(profiles)}")
    cfg = _apply(cls(), dict(profiles[profile]), f"profile {profile!r}")
    if config_file is not None:
        path = Path(config_file)
        if not path.is_file():
            raise UserError(f"{path}: config file not found")
        try:
            data = yaml.safe_load(path.read_text()) or {}
        except yaml.YAMLError as err:
            raise UserError(f"{path}: not valid YAML ({str(err).splitlines()[0]})") from None
        if not isinstance(data, dict):
            raise UserError(f"{path}: a config file must hold a mapping of sections")
        cfg = _apply(cfg, _flatten(data), str(path))
    overrides: dict[str, Any] = {}
    for item in sets:
        key, sep, raw = item.partition("=")
        if not sep or not key:
            raise UserError(f"--set {item!r}: expected key=value, e.g. train.lr=0.1")
        if key in overrides:
            raise UserError(f"--set {key}: given twice")
        try:
            overrides[key] = yaml.safe_load(raw) if raw else ""
        except yaml.YAMLError:
            overrides[key] = raw
    return _apply(cfg, overrides, "--set")


def add_config_args(parser: argparse.ArgumentParser, default_profile: str = "paper") -> None:
    """Add ``--profile``, ``--config`` and ``--set`` to a command's parser."""
    group = parser.add_argument_group("configuration")
    group.add_argument(
        "--profile",
        default=default_profile,
        help=f"named profile: 'paper' (the paper's numbers) or 'cpu' (default: {default_profile})",
    )
    group.add_argument("--config", type=Path, default=None, help="YAML file of overrides")
    group.add_argument(
        "--set",
        dest="sets",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override one field, e.g. --set train.lr=0.1 (repeatable)",
    )
    group.add_argument(
        "--print-config",
        action="store_true",
        help="print every key with its resolved value and the paper's value, then exit",
    )


def from_args(cls: type[C], profiles: Profiles, args: argparse.Namespace) -> C:
    """Resolve a run config from the arguments added by :func:`add_config_args`."""
    return build(cls, profiles, args.profile, args.config, args.sets)


def describe(cfg: Any, paper: Any) -> str:
    """Every key of ``cfg`` with its resolved value and its value in ``paper``, as a table.

    Keys are flat (``section.field``), in declaration order; rows whose value differs
    from the paper's are marked ``*``.

    Args:
        cfg: the resolved run config.
        paper: the same run config resolved with the ``paper`` profile.

    Returns:
        The table as text (one line per key, then a legend).
    """
    resolved, reference = _flatten(to_dict(cfg)), _flatten(to_dict(paper))
    rows = [("key", "value", "paper", "")]
    for key, value in resolved.items():
        ref = reference.get(key)
        rows.append((key, _show(value), _show(ref), "" if value == ref else "*"))
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    lines = [
        f"{k:<{widths[0]}}  {v:<{widths[1]}}  {p:<{widths[2]}}  {m}".rstrip() for k, v, p, m in rows
    ]
    return "\n".join([*lines, "* differs from the paper's value"])


def _show(value: Any) -> str:
    return json.dumps(value)


def write_config(cfg: Any, out_dir: str | Path, name: str = "config") -> Path:
    """Write the resolved config as ``<name>.json`` and ``<name>.yaml`` in ``out_dir``."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    data = to_dict(cfg)
    files.write_json(out / f"{name}.json", data)
    files.write_text(out / f"{name}.yaml", yaml.safe_dump(data, sort_keys=False))
    return out / f"{name}.json"


def _flatten(data: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            flat.update(_flatten(value, f"{name}."))
        else:
            flat[name] = value
    return flat


def _apply(cfg: C, overrides: Mapping[str, Any], source: str, prefix: str = "") -> C:
    """Return ``cfg`` with ``{"section.field": value}`` overrides applied and type-checked."""
    sections: dict[str, dict[str, Any]] = {}
    top: dict[str, Any] = {}
    for key, value in overrides.items():
        head, _, leaf = key.partition(".")
        field_value = _field(cfg, head, prefix + key, source)
        if leaf:
            if not dataclasses.is_dataclass(field_value):
                raise UserError(f"{source}: {head!r} is a value, not a section (key {key!r})")
            sections.setdefault(head, {})[leaf] = value
        else:
            if dataclasses.is_dataclass(field_value):
                raise UserError(f"{source}: {key!r} is a section; set {key}.FIELD instead")
            top[head] = _coerce(cfg, head, value, source)
    for head, leaves in sections.items():
        top[head] = _apply(getattr(cfg, head), leaves, source, f"{prefix}{head}.")
    return dataclasses.replace(cfg, **top)  # type: ignore[type-var]


def _field(cfg: Any, name: str, key: str, source: str) -> Any:
    names = [f.name for f in dataclasses.fields(cfg)]
    if name not in names:
        raise UserError(
            f"{source}: unknown key {key!r} for {type(cfg).__name__}; known: {', '.join(names)}"
        )
    return getattr(cfg, name)


def _coerce(cfg: Any, name: str, value: Any, source: str) -> Any:
    """Check ``value`` against the annotated type of ``cfg.name``; convert lists to tuples."""
    return _coerce_field(type(cfg), name, value, source)


def _coerce_field(cls: type, name: str, value: Any, source: str) -> Any:
    hint = typing.get_type_hints(cls)[name]
    try:
        return _coerce_to(hint, value)
    except (TypeError, ValueError):
        raise UserError(
            f"{source}: {cls.__name__}.{name} expects {_type_name(hint)}, got {value!r}"
        ) from None


def _coerce_to(hint: Any, value: Any) -> Any:
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if hint is Any:
        return value
    if origin in (typing.Union, types.UnionType):
        for arg in args:
            try:
                return _coerce_to(arg, value)
            except (TypeError, ValueError):
                continue
        raise TypeError(hint)
    if hint is type(None):
        if value is None or (isinstance(value, str) and value.lower() in ("none", "null")):
            return None
        raise TypeError(hint)
    if origin is typing.Literal:
        if value in args:
            return value
        raise ValueError(value)
    if origin is tuple:
        if not isinstance(value, (list, tuple)):
            value = [value]
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_coerce_to(args[0], v) for v in value)
        if len(args) != len(value):
            raise ValueError(value)
        return tuple(_coerce_to(a, v) for a, v in zip(args, value, strict=True))
    if hint is bool:
        if isinstance(value, bool):
            return value
        raise TypeError(hint)
    if hint is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise TypeError(hint)
    if hint is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, str):  # YAML 1.1 reads "5e-3" as a string
            return float(value)
        raise TypeError(hint)
    if hint is str:
        if isinstance(value, str):
            return value
        raise TypeError(hint)
    return value


def _type_name(hint: Any) -> str:
    return getattr(hint, "__name__", None) or str(hint).replace("typing.", "")
