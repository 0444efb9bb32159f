"""Helpers for configs stored in artefacts: plain JSON-able data only (checkpoints load weights_only)."""

from __future__ import annotations

import dataclasses
import math
import typing
from enum import Enum
from pathlib import Path
from typing import Any, Iterable

from engine.base.errors import EngineError


def require(checks: Iterable[tuple[bool, str]]) -> None:
    """The one way configs are validated: EngineError with the message of the first check that fails."""
    for ok, message in checks:
        if not ok:
            raise EngineError(message)


def given(**options: Any) -> dict[str, Any]:
    """The options a caller actually set (not None), so the library's own defaults fill the rest.

    Edges (CLI, HTTP) pass their raw options through this instead of repeating the defaults:
    `IndexConfig(**given(commit_every=commit_every, ...))`.
    """
    return {name: value for name, value in options.items() if value is not None}


def to_plain(obj: Any) -> Any:
    """Dataclasses, tuples, Paths, numpy scalars -> dict/list/str/int/float/bool/None."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: to_plain(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, dict):
        return {str(k): to_plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_plain(v) for v in obj]
    if isinstance(obj, Enum):
        return to_plain(obj.value)
    if isinstance(obj, Path):
        return str(obj)
    if isinstance(obj, (bool, int, str)) or obj is None:
        return obj
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if hasattr(obj, "item"):  # numpy / torch scalars
        return to_plain(obj.item())
    return str(obj)


def from_plain(cls: type, data: dict) -> Any:
    """Rebuild a (possibly nested) dataclass from `to_plain` output; unknown keys are ignored."""
    hints = typing.get_type_hints(cls)
    kwargs = {}
    for field in dataclasses.fields(cls):
        if field.name not in data:
            continue
        value, hint = data[field.name], hints.get(field.name)
        if dataclasses.is_dataclass(hint) and isinstance(value, dict):
            value = from_plain(hint, value)
        elif isinstance(value, list) and typing.get_origin(hint) is tuple:
            value = tuple(value)
        kwargs[field.name] = value
    return cls(**kwargs)
