"""Catalog tables (SQLAlchemy 2.0 typed models).

- `paintings`: one row per indexed image file. Its primary key is also the FAISS vector id, and the
  row carries its own embedding (`vector`, float32 bytes), inserted in the same transaction, so a row
  never exists without its vector: the FAISS index is a derived cache that can always be reconciled
  with (or rebuilt from) the catalog. Ids are never reused (SQLite AUTOINCREMENT, a PostgreSQL
  sequence), so a stale vector in an old index file can never be mistaken for a new painting's.
- `artists`: distinct artist names.
- `index_meta`: one row describing the model that made every vector (fingerprint, backbone, dim, path).
"""

from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import BigInteger, DateTime, ForeignKey, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class Base(DeclarativeBase):
    pass


class Artist(Base):
    __tablename__ = "artists"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(512), unique=True)

    paintings: Mapped[list["Painting"]] = relationship(back_populates="artist")


class Painting(Base):
    __tablename__ = "paintings"
    __table_args__ = (
        Index("ix_paintings_sha256", "sha256"),
        Index("ix_paintings_artist_id", "artist_id"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)  # == FAISS vector id
    path: Mapped[str] = mapped_column(Text, unique=True)  # absolute path of the file
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(BigInteger)
    mtime_ns: Mapped[int] = mapped_column(BigInteger)
    width: Mapped[int | None] = mapped_column(Integer)
    height: Mapped[int | None] = mapped_column(Integer)
    artist_id: Mapped[int | None] = mapped_column(ForeignKey("artists.id", ondelete="SET NULL"))
    title: Mapped[str | None] = mapped_column(Text)
    style: Mapped[str | None] = mapped_column(Text)
    genre: Mapped[str | None] = mapped_column(Text)
    date: Mapped[str | None] = mapped_column(Text)
    vector: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)  # float32 (D,), L2-normalised
    added_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)

    artist: Mapped[Artist | None] = relationship(back_populates="paintings")


class IndexMeta(Base):
    """The model behind every vector of this catalog (a single row, id 1)."""

    __tablename__ = "index_meta"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    catalog_uid: Mapped[str] = mapped_column(String(32))
    model_fingerprint: Mapped[str] = mapped_column(String(128))
    backbone: Mapped[str] = mapped_column(String(128))
    embedding_dim: Mapped[int] = mapped_column(Integer)
    model_path: Mapped[str | None] = mapped_column(Text)
    versions: Mapped[str] = mapped_column(Text, default="{}")  # JSON: engine, torch, faiss, sqlalchemy
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)
