"""One indexer per home: an exclusive, non-blocking lock on `HOME/index.lock` (engine.base.lock explains the lock).

It guards the home's own files (its FAISS index). The catalog, which several homes may share, has its
own lock in the database (db.lock), which `index_folder` takes next through `CatalogStore(exclusive=True)`.
"""

from __future__ import annotations

from pathlib import Path

from engine.base.lock import ExclusiveLock


class IndexLock(ExclusiveLock):
    """Context manager holding the home's index lock; EngineError when another holder has it."""

    def __init__(self, path: Path) -> None:
        super().__init__(
            path,
            busy="another `engine index` is running on this home (pid {pid}); wait for it to finish",
            writable_hint="pass a writable --home",
        )
