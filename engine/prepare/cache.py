"""The incremental cache of `prepare`: DIR/prepare_cache.json.

Keyed by the original's absolute path; an entry is reused while the file's byte size and
mtime_ns are unchanged and the target `size` is the same. It stores facts (sha256, perceptual
hash, original width/height, or the decode failure), never policy decisions, so changing
--min-side or --max-pixels re-judges cached files without re-decoding the ones already decoded.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

from engine.base.atomic import atomic_write_text
from engine.prepare.worker import TRANSIENT_REASONS, FileFacts

logger = logging.getLogger(__name__)

CACHE_NAME = "prepare_cache.json"
CACHE_VERSION = 1


class FactsCache:
    """{absolute source path: (bytes, mtime_ns, FileFacts)} for one target size."""

    def __init__(self, path: Path, size: int) -> None:
        self.path = path
        self.size = size
        self._old = self._load()
        self._new: dict[str, dict] = {}

    def lookup(self, source: str, stat: os.stat_result) -> FileFacts | None:
        entry = self._old.get(source)
        if not entry or entry.get("bytes") != stat.st_size or entry.get("mtime_ns") != stat.st_mtime_ns:
            return None
        try:
            return FileFacts(**entry["facts"])
        except (KeyError, TypeError):
            return None

    def store(self, source: str, stat: os.stat_result | None, facts: FileFacts) -> None:
        if stat is None or facts.reason in TRANSIENT_REASONS:
            return
        self._new[source] = {"bytes": stat.st_size, "mtime_ns": stat.st_mtime_ns, "facts": dict(vars(facts))}

    def decoded_hashes(self) -> set[str]:
        """sha256 of every file whose normalised copy this run keeps (kept or dropped as duplicate)."""
        return {e["facts"]["sha256"] for e in self._new.values() if e["facts"].get("phash")}

    def save(self, *, complete: bool = True) -> None:
        """Write the cache; after a complete run only its files stay (vanished sources leave the cache)."""
        entries = self._new if complete else {**self._old, **self._new}
        doc = {"version": CACHE_VERSION, "size": self.size, "entries": dict(sorted(entries.items()))}
        atomic_write_text(self.path, json.dumps(doc, separators=(",", ":")) + "\n")

    def _load(self) -> dict[str, dict]:
        if not self.path.is_file():
            return {}
        try:
            doc = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            logger.warning("ignoring unreadable cache %s (%s); every file is decoded again", self.path, exc)
            return {}
        if not isinstance(doc, dict) or doc.get("version") != CACHE_VERSION or doc.get("size") != self.size:
            return {}
        entries = doc.get("entries")
        return entries if isinstance(entries, dict) else {}
