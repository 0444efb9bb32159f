"""Artist labels: a CSV (Painter by Numbers or any file/artist columns) or one subfolder per artist.

`read_labels` returns {file name as written in the CSV: LabelRecord}. Cell values are plain text:
they are never evaluated, and a cell that a spreadsheet would run as a formula (`=`, `+`, `@`, ...)
is defused with a leading apostrophe so that manifests and catalogs built from it stay safe to open.
"""

from __future__ import annotations

import contextlib
import csv
import io
import logging
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from engine.base.errors import EngineError

logger = logging.getLogger(__name__)

# Candidate header names, in order of preference (compared case-insensitively).
FILE_COLUMNS = ("filename", "new_filename", "file", "file_name", "path", "image", "image_path")
ARTIST_COLUMNS = ("artist", "painter", "author", "artist_name")
TEXT_FIELDS = ("title", "style", "genre", "date")
MAX_FIELD_CHARS = 1_000_000  # real cells are short: a row with a longer one is skipped as `cell_too_long`
_SHOWN_NAME_CHARS = 200  # a rejected row's file name is cut to this in reports
_FORMULA_START = ("=", "+", "@", "\t", "\r", "|")
_NUMBER = re.compile(r"-\d[\d.,]*")
_DRIVE = re.compile(r"^[A-Za-z]:")


@dataclass(frozen=True)
class LabelRecord:
    """One labelled painting; `file` is the name as written in the CSV."""

    file: str
    artist: str
    title: str = ""
    style: str = ""
    genre: str = ""
    date: str = ""


@dataclass(frozen=True)
class LabelTable:
    """Parsed CSV: usable records plus rows rejected with a reason tag."""

    records: dict[str, LabelRecord]
    rejected: list[tuple[str, str]] = field(default_factory=list)  # (file as written, reason)
    file_column: str = ""
    artist_column: str = ""


def read_labels(
    csv_path: str | Path, *, file_column: str | None = None, artist_column: str | None = None
) -> dict[str, LabelRecord]:
    """{file name as written: LabelRecord}; EngineError when the CSV is unreadable or lacks columns."""
    return load_label_table(csv_path, file_column=file_column, artist_column=artist_column).records


def load_label_table(
    csv_path: str | Path, *, file_column: str | None = None, artist_column: str | None = None
) -> LabelTable:
    """Like `read_labels`, also returning the rows it rejected (unsafe path, no artist, conflicting label, huge cell)."""
    csv_path = Path(csv_path)
    rows = _read_rows(csv_path)
    with _field_limit(rows.text_length):
        table = _parse(csv_path, rows.reader, file_column, artist_column)
    if table.rejected:
        reasons = Counter(reason for _, reason in table.rejected)
        logger.warning("%s: %d label rows rejected (%s)", csv_path, len(table.rejected),
                       ", ".join(f"{r}: {n}" for r, n in sorted(reasons.items())))
    return table


def _parse(csv_path: Path, rows, file_column: str | None, artist_column: str | None) -> LabelTable:
    header = next(rows, None)
    if not header or not any(h.strip() for h in header):
        raise EngineError(f"labels file {csv_path} is empty; pass a CSV with a header row (e.g. filename,artist)")
    names = [h.strip().lstrip("\ufeff") for h in header]
    file_idx = _pick_column(names, file_column, FILE_COLUMNS, "file", "--file-column", csv_path)
    artist_idx = _pick_column(names, artist_column, ARTIST_COLUMNS, "artist", "--artist-column", csv_path)
    text_idx = {name: _find(names, name) for name in TEXT_FIELDS}
    table = LabelTable({}, [], names[file_idx], names[artist_idx])
    conflicted: set[str] = set()
    try:
        for row in rows:
            _add_row(table, conflicted, row, file_idx, artist_idx, text_idx)
    except csv.Error as exc:
        raise EngineError(f"labels file {csv_path} is not valid CSV ({exc}); fix or re-export it") from None
    return table


def artist_from_folder(root: Path, path: Path) -> str | None:
    """The artist of `path` in the one-subfolder-per-artist layout: its first folder under `root`."""
    try:
        parts = Path(path).relative_to(root).parts
    except ValueError:
        return None
    return parts[0] if len(parts) >= 2 and parts[0].strip() else None


def is_safe_relative(name: str) -> bool:
    """True when `name` stays inside the image folder (relative, no `..`, no drive letter)."""
    posix = name.replace("\\", "/")
    if not posix or posix.startswith("/") or _DRIVE.match(posix):
        return False
    return ".." not in PurePosixPath(posix).parts


def defuse(value: str) -> str:
    """Strip and neutralise spreadsheet formula cells (a leading apostrophe); negative numbers stay."""
    value = value.replace("\x00", "").strip()
    if value.startswith(_FORMULA_START) or (value.startswith("-") and value != "-" and not _NUMBER.fullmatch(value)):
        return "'" + value
    return value


@dataclass(frozen=True)
class _Rows:
    reader: object  # csv.reader over the decoded text
    text_length: int


@contextlib.contextmanager
def _field_limit(chars: int):
    """Let the csv module read cells of any length in this file (the limit is process-wide, so
    it is restored after): over-long cells are then refused row by row (`cell_too_long`) instead
    of the parser's error refusing the whole file."""
    previous = csv.field_size_limit()
    csv.field_size_limit(max(previous, chars + 1))
    try:
        yield
    finally:
        csv.field_size_limit(previous)


def _read_rows(csv_path: Path) -> _Rows:
    try:
        data = csv_path.read_bytes()
    except FileNotFoundError:
        raise EngineError(f"labels file not found: {csv_path}; check the --labels path") from None
    except IsADirectoryError:
        raise EngineError(f"--labels {csv_path} is a folder; pass the CSV file itself") from None
    except OSError as exc:
        raise EngineError(f"cannot read labels file {csv_path}: {exc.strerror}; check its permissions") from None
    if b"\x00" in data[:4096] and not data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise EngineError(f"labels file {csv_path} is binary, not CSV; pass the CSV (e.g. train_info.csv)")
    text = _decode(data).replace("\x00", "")
    return _Rows(csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(text), strict=False), len(text))


def _delimiter(text: str) -> str:
    """',' unless the header line only has ';' or tabs (spreadsheet exports in some locales)."""
    header = text.split("\n", 1)[0]
    if "," in header:
        return ","
    return max(";\t|", key=header.count) if any(c in header for c in ";\t|") else ","


def _decode(data: bytes) -> str:
    """UTF-8 (with or without BOM), UTF-16 with BOM, else cp1252, else latin-1 (never fails)."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16", errors="replace")
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    return data.decode("latin-1")


def _find(names: list[str], wanted: str) -> int | None:
    lowered = [n.lower() for n in names]
    return lowered.index(wanted.lower()) if wanted.lower() in lowered else None


def _pick_column(names, explicit, candidates, what, option, csv_path) -> int:
    if explicit:
        idx = _find(names, explicit)
        if idx is None:
            raise EngineError(f"labels file {csv_path} has no column {explicit!r} (columns: {_columns(names)}); fix {option}")
        return idx
    for candidate in candidates:
        idx = _find(names, candidate)
        if idx is not None:
            return idx
    raise EngineError(
        f"labels file {csv_path} has no {what} column (columns: {_columns(names)}); name it with {option}"
    )


def _columns(names: list[str]) -> str:
    return ", ".join(_shown(n) for n in names)


def _add_row(table: LabelTable, conflicted: set[str], row: list[str], file_idx: int, artist_idx: int, text_idx: dict) -> None:
    if not row or not any(cell.strip() for cell in row):
        return
    name = _cell(row, file_idx).replace("\x00", "").strip()
    if any(len(cell) > MAX_FIELD_CHARS for cell in row):
        table.rejected.append((_shown(name), "cell_too_long"))
        return
    if not name:
        table.rejected.append(("", "no_file_name"))
        return
    if not is_safe_relative(name):
        table.rejected.append((name, "unsafe_path"))
        return
    artist = defuse(_cell(row, artist_idx))
    if not artist:
        table.rejected.append((name, "no_artist"))
        return
    record = LabelRecord(name, artist, **{k: defuse(_cell(row, i)) for k, i in text_idx.items() if i is not None})
    previous = table.records.get(name)
    if name in conflicted:
        table.rejected.append((name, "conflicting_label"))
    elif previous is None:
        table.records[name] = record
    elif previous.artist != artist:
        # One file, two artists: trust neither row.
        conflicted.add(name)
        table.rejected.append((name, "conflicting_label"))
        table.rejected.append((name, "conflicting_label"))
        del table.records[name]


def _shown(name: str) -> str:
    return name if len(name) <= _SHOWN_NAME_CHARS else name[:_SHOWN_NAME_CHARS] + "…"


def _cell(row: list[str], idx: int) -> str:
    return row[idx] if idx < len(row) else ""
