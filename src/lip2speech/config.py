"""Dataclass configs loaded from YAML; a YAML file may name a `base` file and list only what it changes."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any, TypeVar

import yaml

from .errors import Lip2SpeechError

T = TypeVar("T")


def _merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def read_yaml(path: str | Path) -> dict[str, Any]:
    """Read a YAML mapping, resolving a `base:` key (relative to the file) recursively."""
    path = Path(path)
    if not path.is_file():
        raise Lip2SpeechError("config file not found", path)
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise Lip2SpeechError(f"invalid YAML: {str(exc).splitlines()[0]}", path) from None
    if not isinstance(data, dict):
        raise Lip2SpeechError("config must be a YAML mapping", path)
    base = data.pop("base", None)
    if base:
        data = _merge(read_yaml(path.parent / base), data)
    return data


def from_dict(cls: type[T], data: dict[str, Any], source: str = "config") -> T:
    """Build dataclass `cls` from a (nested) dict, rejecting unknown keys."""
    fields = {f.name: f for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    unknown = set(data) - set(fields)
    if unknown:
        raise Lip2SpeechError(f"unknown {cls.__name__} keys: {', '.join(sorted(unknown))}", source)
    kwargs: dict[str, Any] = {}
    for key, value in data.items():
        default = fields[key].default_factory() if fields[key].default_factory is not dataclasses.MISSING else fields[key].default  # type: ignore[misc]
        if dataclasses.is_dataclass(default) and isinstance(value, dict):
            kwargs[key] = from_dict(type(default), value, source)
        elif isinstance(default, tuple) and isinstance(value, list):
            kwargs[key] = tuple(value)
        else:
            kwargs[key] = value
    return cls(**kwargs)


def load_config(cls: type[T], path: str | Path | None = None, overrides: dict[str, Any] | None = None) -> T:
    """Defaults of `cls`, updated by the YAML file at `path` and then by `overrides`."""
    data: dict[str, Any] = read_yaml(path) if path else {}
    if overrides:
        data = _merge(data, overrides)
    return from_dict(cls, data, str(path) if path else "config")


def to_dict(cfg: Any) -> dict[str, Any]:
    """A resolved dataclass config as plain dict (tuples become lists) for saving."""
    def plain(v: Any) -> Any:
        if isinstance(v, tuple):
            return [plain(x) for x in v]
        if isinstance(v, dict):
            return {k: plain(x) for k, x in v.items()}
        return v
    return plain(dataclasses.asdict(cfg))


def save_config(cfg: Any, path: str | Path) -> None:
    """Write the resolved config as YAML (atomically)."""
    from .fileio import write_text

    write_text(path, yaml.safe_dump(to_dict(cfg), sort_keys=False))
