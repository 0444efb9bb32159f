"""Content hashes of files: the identity of a painting across renames, moves and re-runs."""

from __future__ import annotations

import hashlib
import os

HASH_BLOCK = 1 << 20  # 1 MiB reads: big enough for throughput, small enough for scan-size files


def file_sha256(path: str | os.PathLike[str]) -> str:
    """Hex sha256 of the file's bytes, read in 1 MiB blocks; OSError propagates."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(HASH_BLOCK):
            digest.update(block)
    return digest.hexdigest()
