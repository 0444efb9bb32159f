"""`load_artist_metadata`: Painter by Numbers' artists.csv (or any CSV with a `name` column) into the catalogue.

Columns: name, years, genre (the movement), nationality, bio, wikipedia (the link); `movement`,
`biography` and `link` are accepted under those names too. Every other column (Painter by Numbers'
`id` and `paintings`, anything added) is kept, as text, in the artist's `extra`. Rows are matched
to paintings by the artist's name, as `--labels` gives it.
"""

from __future__ import annotations

import csv
import io
import logging
import os
from pathlib import Path

from db.artist_info import ArtistInfo
from db.store import CatalogStore
from engine.base.errors import EngineError
from engine.base.home import Home

logger = logging.getLogger(__name__)

COLUMNS = {  # our field: the CSV headers that fill it, first found wins
    "years": ("years", "dates", "lifetime"),
    "nationality": ("nationality",),
    "movement": ("genre", "movement", "style"),
    "bio": ("bio", "biography"),
    "link": ("wikipedia", "link", "url"),
}
NAME_COLUMNS = ("name", "artist")


def read_artists_csv(path: str | os.PathLike[str]) -> list[ArtistInfo]:
    """The rows of `path` as ArtistInfo (rows without a name are skipped); EngineError when unreadable."""
    path = Path(path)
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except FileNotFoundError:
        raise EngineError(f"artists file not found: {path}; check the --artists path") from None
    except IsADirectoryError:
        raise EngineError(f"--artists {path} is a folder; pass the CSV file itself (e.g. artists.csv)") from None
    except UnicodeDecodeError:
        raise EngineError(f"artists file {path} is not UTF-8 text; pass the CSV (e.g. Painter by Numbers' artists.csv)") from None
    except OSError as exc:
        raise EngineError(f"cannot read artists file {path}: {exc.strerror}; check its permissions") from None
    previous = csv.field_size_limit()
    csv.field_size_limit(max(previous, len(text) + 1))  # biographies are long cells
    try:
        reader = csv.DictReader(io.StringIO(text, newline=""))
        header = [h.strip() for h in reader.fieldnames or []]
        name_column = next((h for h in NAME_COLUMNS if h in header), None)
        if name_column is None:
            raise EngineError(f"artists file {path} has no 'name' column (it has: {', '.join(header) or 'nothing'}); "
                              "pass Painter by Numbers' artists.csv or a CSV with a name column")
        return [record for row in reader if (record := _record(row, name_column)) is not None]
    except csv.Error as exc:
        raise EngineError(f"artists file {path} is not valid CSV ({exc}); fix or re-export it") from None
    finally:
        csv.field_size_limit(previous)


def _record(row: dict, name_column: str) -> ArtistInfo | None:
    cells = {(k or "").strip(): (v or "").strip() for k, v in row.items() if k is not None}
    name = cells.get(name_column, "")
    if not name:
        return None
    used = {name_column}
    values = {}
    for field, headers in COLUMNS.items():
        header = next((h for h in headers if h in cells and h not in used), None)
        if header is not None:
            used.add(header)
            values[field] = cells[header] or None
    extra = {k: v for k, v in cells.items() if k not in used and k}
    return ArtistInfo(name=name, extra=extra, **values)


def load_artist_metadata(csv_path: str | os.PathLike[str], *, home: str | os.PathLike[str] | None = None,
                         db: str | None = None) -> dict:
    """Store the artists of `csv_path` in the home's catalogue (by name, replacing what was loaded before).

    Returns {"artists_loaded": n, "artists_with_paintings": m, "unmatched": [names without paintings]}.
    """
    records = read_artists_csv(csv_path)
    the_home = Home.resolve(home, db=db)
    store = CatalogStore(the_home.catalog_url, create=False, exclusive=True)
    try:
        loaded = store.save_artist_info(records)
        indexed = set(store.artist_names())
    finally:
        store.close()
    unmatched = sorted(r.name for r in records if r.name not in indexed)
    logger.info("artist metadata: %d loaded, %d with indexed paintings", loaded, loaded - len(unmatched))
    return {"artists_loaded": loaded, "artists_with_paintings": loaded - len(unmatched), "unmatched": unmatched}
