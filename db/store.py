"""`CatalogStore`: every read and write of the catalog goes through here.

Each write method is one transaction: a painting row is inserted together with its vector, a
content change replaces the old row in the same transaction, so a crash at any point leaves the
catalog at a batch boundary. Rows are written in batches (db.bulk). A writer opened `exclusive`
holds the catalog's indexer lock (db.lock) until `close`, and checks it in every write transaction.
"""

from __future__ import annotations

import contextlib
import json
import logging
import uuid
from typing import Iterable, Iterator, Sequence

import numpy as np
from sqlalchemy import Engine, delete, func, inspect, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from db.artist_info import ArtistInfo, read_artist_info, save_artist_info
from db.bulk import artist_ids, chunks, insert_paintings, update_paintings
from db.lock import CatalogLock
from db.models import Artist, Base, IndexMeta, Painting
from db.readonly import immutable_engine, readable_as_immutable
from db.records import FileState, Labels, ModelInfo, NewPainting, PaintingView, bytes_to_vector, vector_to_bytes
from db.server_errors import display_url
from db.session import check_reachable, make_engine, make_sessionmaker, sqlite_file
from engine.base.errors import EngineError

logger = logging.getLogger(__name__)


class CatalogStore:
    """The catalog at one SQLAlchemy URL; tables are created on first open."""

    def __init__(self, url: str, *, create: bool = True, exclusive: bool = False) -> None:
        """`create=False` (readers): EngineError "nothing indexed" instead of creating an empty catalog.

        `exclusive` (the indexer): take the catalog's indexer lock first (EngineError when another holds it).
        """
        self.url = url
        if not create:
            _require_existing(url)
        self.engine = _open_engine(url, reader=not create)
        check_reachable(self.engine)
        self._lock: CatalogLock | None = None
        try:
            self._lock = CatalogLock(self.engine).acquire() if exclusive else None
            self._create_tables(create)
        except BaseException:
            self.close()
            raise
        self._sessions = make_sessionmaker(self.engine)

    def _create_tables(self, create: bool) -> None:
        if not create and not inspect(self.engine).has_table(IndexMeta.__tablename__):
            raise NothingIndexed(self.url)
        try:
            Base.metadata.create_all(self.engine)
        except SQLAlchemyError as exc:
            raise EngineError(f"cannot create the catalog tables at {display_url(self.url)}: {exc.__class__.__name__}; "
                              "check --db") from None

    def session(self) -> Session:
        return self._sessions()

    def close(self) -> None:
        if self._lock is not None:
            self._lock.release()
            self._lock = None
        self.engine.dispose()

    @contextlib.contextmanager
    def _write(self) -> Iterator[Session]:
        """One write transaction, begun only while this writer still holds the catalog's lock."""
        with self.session() as s, s.begin():
            if self._lock is not None:
                self._lock.guard(s.connection())
            yield s

    # -- the model behind the vectors ---------------------------------------------------------

    def model_info(self) -> ModelInfo | None:
        with self.session() as s:
            meta = s.get(IndexMeta, 1)
            return None if meta is None else _model_info(meta)

    def catalog_uid(self) -> str | None:
        with self.session() as s:
            meta = s.get(IndexMeta, 1)
            return None if meta is None else meta.catalog_uid

    def bind_model(self, model: ModelInfo, *, versions: dict, reindex: bool = False) -> str:
        """Record `model` as the maker of this catalog's vectors; returns the catalog uid.

        A catalog holding vectors of another model is refused (`check_model`) unless `reindex`, which
        forgets every painting in the same transaction as the new model is recorded (an empty
        catalog simply takes the new model).
        """
        with self._write() as s:
            meta = s.get(IndexMeta, 1)
            if meta is not None and not reindex and s.scalar(select(Painting.id).limit(1)) is not None:
                check_model(_model_info(meta), model)
            if meta is None:
                meta = IndexMeta(id=1, catalog_uid=uuid.uuid4().hex)
                s.add(meta)
            elif reindex and _model_info(meta).fingerprint != model.fingerprint:
                s.execute(delete(Painting))
                s.execute(delete(Artist))
            meta.model_fingerprint = model.fingerprint
            meta.backbone = model.backbone
            meta.embedding_dim = model.embedding_dim
            meta.model_path = model.path
            meta.versions = json.dumps(versions, sort_keys=True)
            return meta.catalog_uid

    # -- reads --------------------------------------------------------------------------------

    def count(self) -> int:
        with self.session() as s:
            return int(s.scalar(select(func.count(Painting.id))) or 0)

    def ids(self) -> np.ndarray:
        """All painting ids (= vector ids), int64, ascending."""
        with self.session() as s:
            return np.fromiter(s.scalars(select(Painting.id).order_by(Painting.id)), dtype=np.int64)

    def file_states(self) -> list[FileState]:
        with self.session() as s:
            rows = s.execute(select(Painting.id, Painting.path, Painting.sha256, Painting.size, Painting.mtime_ns))
            return [FileState(*row) for row in rows]

    def vectors(self, ids: Sequence[int]) -> dict[int, np.ndarray]:
        """{id: vector} for the ids that exist."""
        out: dict[int, np.ndarray] = {}
        with self.session() as s:
            for chunk in chunks(list(ids)):
                for pid, blob in s.execute(select(Painting.id, Painting.vector).where(Painting.id.in_(chunk))):
                    out[pid] = bytes_to_vector(blob)
        return out

    def iter_vectors(self, *, batch: int = 4096) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Yield (ids int64 (n,), vectors float32 (n, D)) over the whole catalog, in id order."""
        with self.session() as s:
            result = s.execute(select(Painting.id, Painting.vector).order_by(Painting.id).execution_options(yield_per=batch))
            for part in result.partitions(batch):
                ids = np.array([r[0] for r in part], dtype=np.int64)
                yield ids, np.stack([bytes_to_vector(r[1]) for r in part])

    def vectors_by_sha(self, shas: Iterable[str]) -> dict[str, np.ndarray]:
        """One stored vector per known content hash (to reuse for copies of an indexed file)."""
        out: dict[str, np.ndarray] = {}
        with self.session() as s:
            for chunk in chunks(sorted(set(shas))):
                for sha, blob in s.execute(select(Painting.sha256, Painting.vector).where(Painting.sha256.in_(chunk))):
                    out.setdefault(sha, bytes_to_vector(blob))
        return out

    def views(self, ids: Sequence[int]) -> dict[int, PaintingView]:
        with self.session() as s:
            out: dict[int, PaintingView] = {}
            for chunk in chunks([int(i) for i in ids]):
                stmt = _view_select().where(Painting.id.in_(chunk))
                out.update({row.id: PaintingView(*row) for row in s.execute(stmt)})
            return out

    def filter_ids(self, *, artist: str | None = None, style: str | None = None, date: str | None = None) -> np.ndarray:
        """Ids of paintings matching every given filter (case-insensitive; `date` is a prefix), int64."""
        stmt = select(Painting.id).outerjoin(Artist, Painting.artist_id == Artist.id)
        if artist is not None:
            stmt = stmt.where(func.lower(Artist.name) == artist.strip().lower())
        if style is not None:
            stmt = stmt.where(func.lower(Painting.style) == style.strip().lower())
        if date is not None:
            stmt = stmt.where(Painting.date.startswith(date.strip(), autoescape=True))
        with self.session() as s:
            return np.fromiter(s.scalars(stmt.order_by(Painting.id)), dtype=np.int64)

    def artist_info(self) -> dict[str, ArtistInfo]:
        """{artist name: metadata loaded by `engine index --artists`} (db.artist_info); empty when none was."""
        with self.engine.connect() as conn:
            return read_artist_info(conn)

    def painting_sizes(self, ids: Sequence[int]) -> dict[int, tuple[int | None, int | None]]:
        """{id: (width, height)} as recorded when indexed."""
        out: dict[int, tuple[int | None, int | None]] = {}
        with self.session() as s:
            for chunk in chunks([int(i) for i in ids]):
                out.update({r[0]: (r[1], r[2]) for r in s.execute(select(Painting.id, Painting.width, Painting.height).where(Painting.id.in_(chunk)))})
        return out

    def artist_names(self) -> list[str]:
        with self.session() as s:
            return list(s.scalars(select(Artist.name).order_by(Artist.name)))

    # -- writes (one transaction each) --------------------------------------------------------

    def add_paintings(self, items: Sequence[NewPainting], *, replaces: Sequence[int] = ()) -> list[int]:
        """Insert rows with their vectors (in batches), deleting the rows they replace; returns the new ids."""
        with self._write() as s:
            conn = s.connection()
            for chunk in chunks(list(replaces)):
                conn.execute(delete(Painting).where(Painting.id.in_(chunk)))
            artists = artist_ids(conn, {item.labels.artist for item in items})
            return insert_paintings(conn, [_painting_row(item, artists) for item in items])

    def move(self, moves: Sequence[tuple[int, str, int, int]]) -> None:
        """Give rows a new path (same content, same vector): (id, path, size, mtime_ns)."""
        with self._write() as s:
            changes = [(pid, {"path": path, "size": size, "mtime_ns": mtime_ns}) for pid, path, size, mtime_ns in moves]
            update_paintings(s.connection(), changes)

    def relabel(self, changes: Sequence[tuple[int, Labels]]) -> None:
        with self._write() as s:
            conn = s.connection()
            artists = artist_ids(conn, {labels.artist for _, labels in changes})
            update_paintings(conn, [(pid, _label_values(labels, artists)) for pid, labels in changes])

    def labels_of(self) -> dict[int, Labels]:
        with self.session() as s:
            rows = s.execute(_view_select())
            return {r.id: Labels(r.artist, r.title, r.style, r.genre, r.date) for r in rows}

    def save_artist_info(self, records: Sequence[ArtistInfo]) -> int:
        """Insert or replace artist metadata by name (one transaction; the table is added to older catalogues)."""
        with self._write() as s:
            return save_artist_info(s.connection(), records)

    def delete(self, ids: Sequence[int]) -> None:
        """Remove rows (and so their vectors); drops artists left without paintings."""
        with self._write() as s:
            for chunk in chunks(list(ids)):
                s.execute(delete(Painting).where(Painting.id.in_(chunk)))
            used = select(Painting.artist_id).where(Painting.artist_id.is_not(None))
            s.execute(delete(Artist).where(Artist.id.not_in(used)))


class NothingIndexed(EngineError):
    def __init__(self, url: str) -> None:
        where = display_url(url)
        super().__init__(f"nothing indexed in {where}; run `engine index FOLDER` first (with the same --home/--db)")


def _open_engine(url: str, *, reader: bool) -> Engine:
    """A reader of a SQLite catalog on a read-only file system opens it immutable when safe (see db.readonly)."""
    database = sqlite_file(url)
    if reader and database is not None and readable_as_immutable(database):
        logger.info("%s is on a read-only file system: reading it as immutable", database)
        return immutable_engine(database)
    return make_engine(url)


def _require_existing(url: str) -> None:
    database = sqlite_file(url)  # None for other databases, memory and file: URIs (make_engine reports bad URLs)
    if database is not None and not database.is_file():
        raise NothingIndexed(url)


def check_model(stored: ModelInfo, model: ModelInfo) -> None:
    """EngineError unless `model` is the one that made the catalog's vectors."""
    if stored.fingerprint == model.fingerprint and stored.embedding_dim == model.embedding_dim:
        return
    made_by = f"{stored.fingerprint[:12]} ({stored.backbone}, {stored.path or 'unknown path'})"
    raise EngineError(
        f"this index was built with model {made_by} but the model given is {model.fingerprint[:12]} "
        f"({model.backbone}); re-index with `engine index FOLDER --reindex`, use a new --home, "
        f"or pass --model {stored.path or 'PATH'}"
    )


def _painting_row(item: NewPainting, artists: dict[str, int]) -> dict:
    return {
        "path": item.path,
        "sha256": item.sha256,
        "size": item.size,
        "mtime_ns": item.mtime_ns,
        "width": item.width,
        "height": item.height,
        "vector": vector_to_bytes(item.vector),
        **_label_values(item.labels, artists),
    }


def _label_values(labels: Labels, artists: dict[str, int]) -> dict:
    return {
        "artist_id": artists.get(labels.artist) if labels.artist else None,
        "title": labels.title or None,
        "style": labels.style or None,
        "genre": labels.genre or None,
        "date": labels.date or None,
    }


def _view_select():
    return select(
        Painting.id, Painting.path, Artist.name.label("artist"), Painting.title, Painting.style, Painting.genre, Painting.date
    ).outerjoin(Artist, Painting.artist_id == Artist.id)


def _model_info(meta: IndexMeta) -> ModelInfo:
    return ModelInfo(meta.model_fingerprint, meta.backbone, meta.embedding_dim, meta.model_path)

