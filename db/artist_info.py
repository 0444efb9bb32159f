"""Artist metadata (Painter by Numbers' artists.csv: years, nationality, movement, biography, link).

An additive table, `artist_info`, kept apart from the paintings: one row per artist *name* (it joins
`artists.name`, so metadata loaded before or after the paintings is found either way), with every
column of the CSV the schema does not name kept as JSON in `extra`. It lives in its own metadata
(`InfoBase`), created only by a writer (`save_artist_info`): a reader of a catalogue made before this
table existed finds no metadata instead of writing to the catalogue (or failing on a read-only one).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Sequence

from sqlalchemy import Connection, Integer, String, Text, delete, inspect, insert, select
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from db.bulk import chunks


class InfoBase(DeclarativeBase):
    pass


class ArtistInfoRow(InfoBase):
    __tablename__ = "artist_info"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(512), unique=True)
    years: Mapped[str | None] = mapped_column(Text)
    nationality: Mapped[str | None] = mapped_column(Text)
    movement: Mapped[str | None] = mapped_column(Text)  # artists.csv calls it "genre"
    bio: Mapped[str | None] = mapped_column(Text)
    link: Mapped[str | None] = mapped_column(Text)  # artists.csv calls it "wikipedia"
    extra: Mapped[str] = mapped_column(Text, default="{}")  # JSON: the CSV's other columns, kept as given


@dataclass(frozen=True)
class ArtistInfo:
    """What is known about one artist beyond their paintings."""

    name: str
    years: str | None = None
    nationality: str | None = None
    movement: str | None = None
    bio: str | None = None
    link: str | None = None
    extra: dict = field(default_factory=dict)


FIELDS = ("years", "nationality", "movement", "bio", "link")
TABLE = ArtistInfoRow.__table__


def save_artist_info(conn: Connection, records: Sequence[ArtistInfo]) -> int:
    """Insert or replace `records` (by name) in the caller's transaction, creating the table when absent."""
    TABLE.create(conn, checkfirst=True)
    names = [r.name for r in records]
    for chunk in chunks(names):
        conn.execute(delete(TABLE).where(TABLE.c.name.in_(chunk)))
    rows = [{"name": r.name, **{f: getattr(r, f) or None for f in FIELDS}, "extra": json.dumps(r.extra, sort_keys=True)}
            for r in records]
    if rows:
        conn.execute(insert(TABLE), rows)
    return len(rows)


def read_artist_info(conn: Connection) -> dict[str, ArtistInfo]:
    """{name: ArtistInfo}; empty for a catalogue without the table (made before it existed)."""
    if not inspect(conn).has_table(TABLE.name):
        return {}
    rows = conn.execute(select(TABLE).order_by(TABLE.c.name))
    return {r.name: ArtistInfo(r.name, *(getattr(r, f) for f in FIELDS), json.loads(r.extra or "{}")) for r in rows}
