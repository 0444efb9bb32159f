"""Plain values passed in and out of the catalog (no SQLAlchemy objects escape `CatalogStore`)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class ModelInfo:
    """The model that made (or will make) the vectors."""

    fingerprint: str
    backbone: str
    embedding_dim: int
    path: str | None = None


@dataclass(frozen=True)
class FileState:
    """What the catalog knows about one indexed file (for change detection)."""

    id: int
    path: str
    sha256: str
    size: int
    mtime_ns: int


@dataclass(frozen=True)
class Labels:
    """Descriptive fields of a painting; empty strings are stored as NULL."""

    artist: str | None = None
    title: str | None = None
    style: str | None = None
    genre: str | None = None
    date: str | None = None


@dataclass(frozen=True)
class NewPainting:
    """A row to insert together with its vector (float32 (D,), L2-normalised)."""

    path: str
    sha256: str
    size: int
    mtime_ns: int
    width: int | None
    height: int | None
    labels: Labels
    vector: np.ndarray = field(repr=False)


@dataclass(frozen=True)
class PaintingView:
    """A painting as shown in search results."""

    id: int
    path: str
    artist: str | None
    title: str | None
    style: str | None
    genre: str | None
    date: str | None


def vector_to_bytes(vector: np.ndarray) -> bytes:
    return np.ascontiguousarray(vector, dtype="<f4").tobytes()


def bytes_to_vector(blob: bytes) -> np.ndarray:
    return np.frombuffer(blob, dtype="<f4").astype(np.float32)
