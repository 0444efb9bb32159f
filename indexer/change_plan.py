"""Decide what an index run must do, from the folder scan and what the catalog already holds.

Change detection is by content: a file whose size and mtime are unchanged is trusted; otherwise
its sha256 decides. A known content under a new path whose old path is gone is a move (the row
keeps its id and vector); a known content elsewhere is a copy (its vector is reused, no
re-embedding); only unknown content is embedded.
"""

from __future__ import annotations

import logging
import os
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from db.records import FileState
from engine.base.progress import Progress, track
from engine.data.hashing import file_sha256
from engine.data.walk import WalkedFile

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Work:
    """A file to (re)insert; `replaces` is the row of its path's previous content."""

    file: WalkedFile
    sha256: str
    replaces: int | None = None


@dataclass
class Plan:
    kept: dict[str, int] = field(default_factory=dict)  # path -> id of rows that stay (unchanged, touched, moved)
    restat: list[tuple[int, str, int, int]] = field(default_factory=list)  # same content, new size/mtime
    moves: list[tuple[int, str, int, int]] = field(default_factory=list)  # (id, new path, size, mtime_ns)
    copies: list[Work] = field(default_factory=list)  # known content: reuse a stored vector
    embed: list[Work] = field(default_factory=list)  # unknown content: embed
    gone: list[int] = field(default_factory=list)  # rows under the folder whose file is gone
    skipped: list[tuple[str, str]] = field(default_factory=list)


def plan_changes(
    files: list[WalkedFile], states: list[FileState], *, root: Path, hash_file=file_sha256, progress: Progress | None = None
) -> Plan:
    """Classify every scanned file against the catalog rows (`states`)."""
    plan = Plan()
    by_path = {s.path: s for s in states}
    by_sha: dict[str, list[FileState]] = defaultdict(list)
    for state in states:
        by_sha[state.sha256].append(state)
    scanned = {f.path for f in files}
    moved: set[int] = set()
    for f in track(files, progress, "checking files"):
        _classify(f, by_path.get(f.path), by_sha, scanned, moved, plan, hash_file)
    plan.gone = [s.id for s in states if _under(s.path, root) and s.path not in scanned and s.id not in moved]
    return plan


def _classify(f, old, by_sha, scanned, moved, plan: Plan, hash_file) -> None:
    if old is not None and old.size == f.size and old.mtime_ns == f.mtime_ns:
        plan.kept[f.path] = old.id
        return
    try:
        sha = hash_file(f.path)
    except OSError as exc:
        plan.skipped.append((f.path, "unreadable"))
        logger.debug("cannot hash %s: %s", f.path, exc)
        return
    if old is not None and old.sha256 == sha:
        plan.kept[f.path] = old.id
        plan.restat.append((old.id, f.path, f.size, f.mtime_ns))
        return
    source = _moved_from(by_sha.get(sha, []), scanned, moved) if old is None else None
    if source is not None:
        moved.add(source.id)
        plan.kept[f.path] = source.id
        plan.moves.append((source.id, f.path, f.size, f.mtime_ns))
    elif sha in by_sha:
        plan.copies.append(Work(f, sha, old.id if old else None))
    else:
        plan.embed.append(Work(f, sha, old.id if old else None))


def _moved_from(candidates: list[FileState], scanned: set[str], moved: set[int]) -> FileState | None:
    """A row with this content whose file no longer exists anywhere (so it was moved, not copied)."""
    for state in candidates:
        if state.id not in moved and state.path not in scanned and not os.path.lexists(state.path):
            return state
    return None


def _under(path: str, root: Path) -> bool:
    return Path(path).is_relative_to(root)
