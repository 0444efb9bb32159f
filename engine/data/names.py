"""Matching a file name written in a labels CSV with a file found on disk (prepare and index alike).

A name matches by its relative path, else by its base name when that base name is unique. Both
sides are compared NFC-normalised, with backslashes as slashes: macOS stores file names
decomposed (NFD) while CSVs are usually composed (NFC), and Windows CSVs use backslashes.
"""

from __future__ import annotations

import posixpath
import unicodedata
from typing import Generic, Iterable, TypeVar

V = TypeVar("V")


def name_key(name: str) -> str:
    """The comparable form of a relative file name: posix, normalised, NFC."""
    posix = posixpath.normpath(name.replace("\\", "/"))
    return posix if posix.isascii() else unicodedata.normalize("NFC", posix)


class NameLookup(Generic[V]):
    """{relative file name: value}, looked up by exact relative path, else by a unique base name."""

    def __init__(self, items: Iterable[tuple[str, V]]) -> None:
        self.exact: dict[str, V] = {}
        by_name: dict[str, list[V]] = {}
        for name, value in items:
            key = name_key(name)
            self.exact.setdefault(key, value)
            values = by_name.setdefault(posixpath.basename(key), [])
            if value not in values:
                values.append(value)
        # A base name that stands for two different values is ambiguous by name alone: left out.
        self.by_name = {name: values[0] for name, values in by_name.items() if len(values) == 1}

    def find(self, name: str) -> V | None:
        key = name_key(name)
        found = self.exact.get(key)
        return found if found is not None else self.by_name.get(posixpath.basename(key))
