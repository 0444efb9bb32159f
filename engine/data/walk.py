"""The one folder walk of `prepare` and `index`: every file once, never outside the folder, never
round a symlink loop, special files (FIFOs, devices) reported and never opened.

Links to files are followed only to files inside the folder; links to folders are either followed
(inside the folder, each real folder once) or left alone, as the caller asks. Whatever cannot be
taken is returned in `skipped` with a reason tag: unreadable_folder, symlink_loop, broken_symlink,
unreadable, outside_folder, not_a_file.
"""

from __future__ import annotations

import errno
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable


@dataclass(frozen=True)
class WalkedFile:
    path: str  # where it was found: the folder path joined with the entry's name (a link keeps its name)
    real: str  # the regular file it is, resolved (inside the root)
    rel: str  # posix, `path` relative to the root
    size: int
    mtime_ns: int


@dataclass
class Walk:
    root: Path
    files: list[WalkedFile] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (path, reason)


@dataclass(frozen=True)
class _Rules:
    real_root: Path
    follow_dir_links: bool
    skip_hidden: bool
    exclude: Path | None
    accept: Callable[[str], bool] | None


def walk_folder(
    root: Path,
    *,
    follow_dir_links: bool = True,
    skip_hidden: bool = False,
    exclude: Path | None = None,
    accept: Callable[[str], bool] | None = None,
) -> Walk:
    """Files under the folder `root`, sorted by `rel`; `accept(name)` False ignores a file silently.

    The walk starts from the resolved root and enters every folder by its real path, so `path` is
    the real file for everything but links to files.
    """
    real_root = root.resolve()
    rules = _Rules(real_root, follow_dir_links, skip_hidden, exclude.resolve() if exclude else None, accept)
    walk = Walk(real_root)
    seen_dirs = {_inode(real_root)}
    stack = [real_root]
    while stack:
        directory = stack.pop()
        for entry in _entries(directory, walk):
            if rules.skip_hidden and entry.name.startswith("."):
                continue
            if _is_dir(entry):
                _visit_dir(entry, rules, seen_dirs, stack, walk)
            elif rules.accept is None or rules.accept(entry.name):
                _visit_file(entry, rules, walk)
    walk.files.sort(key=lambda f: f.rel)
    return walk


def _entries(directory: Path, walk: Walk) -> list[os.DirEntry]:
    try:
        with os.scandir(directory) as it:
            return sorted(it, key=lambda e: e.name, reverse=True)
    except OSError as exc:
        walk.skipped.append((str(directory), "symlink_loop" if exc.errno == errno.ELOOP else "unreadable_folder"))
        return []


def _is_dir(entry: os.DirEntry) -> bool:
    try:
        return entry.is_dir(follow_symlinks=True)
    except OSError:
        return False


def _visit_dir(entry: os.DirEntry, rules: _Rules, seen: set, stack: list[Path], walk: Walk) -> None:
    if entry.is_symlink() and not rules.follow_dir_links:
        return  # a linked folder is not part of the collection unless the caller follows links
    real = Path(os.path.realpath(entry.path))
    if not real.is_relative_to(rules.real_root):
        walk.skipped.append((entry.path, "outside_folder"))
        return
    if rules.exclude is not None and real == rules.exclude:
        return
    key = _inode(real)
    if key in seen:
        if entry.is_symlink() and Path(entry.path).parent.resolve().is_relative_to(real):
            walk.skipped.append((entry.path, "symlink_loop"))
        return  # else: the same folder under another name, already walked
    seen.add(key)
    stack.append(Path(entry.path) if not entry.is_symlink() else real)


def _visit_file(entry: os.DirEntry, rules: _Rules, walk: Walk) -> None:
    if entry.is_file(follow_symlinks=False):  # the common case, from the listing's d_type: no lstat needed
        real, reason = entry.path, ""  # the folders walked are real, so a plain file is its own real path
    else:
        real, reason = _resolve_file(entry.path, rules.real_root)
    if reason:
        walk.skipped.append((entry.path, reason))
        return
    try:
        st = os.stat(real)
    except OSError:  # gone since it was listed
        walk.skipped.append((entry.path, "unreadable"))
        return
    rel = Path(entry.path).relative_to(rules.real_root).as_posix()
    walk.files.append(WalkedFile(entry.path, real, rel, st.st_size, st.st_mtime_ns))


def _resolve_file(path: str, real_root: Path) -> tuple[str, str]:
    """(the real regular file, '') for a file inside the root, else ('', the reason tag)."""
    try:
        mode = os.lstat(path).st_mode
        if not stat.S_ISLNK(mode):  # the folders walked are real, so a plain file is its own real path
            return (path, "") if stat.S_ISREG(mode) else ("", "not_a_file")
        real = os.path.realpath(path, strict=True)
        mode = os.stat(real).st_mode
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return "", "symlink_loop"
        return "", "broken_symlink" if os.path.islink(path) else "unreadable"
    if not Path(real).is_relative_to(real_root):
        return "", "outside_folder"
    return (real, "") if stat.S_ISREG(mode) else ("", "not_a_file")


def _inode(path: Path) -> tuple[int, int]:
    st = os.stat(path)
    return st.st_dev, st.st_ino
