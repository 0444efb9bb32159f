"""The per-file work of `prepare`, run in worker processes: hash, probe, decode, normalise, cache.

`process_file(job) -> FileFacts` never raises: a bad file comes back with a reason tag.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from engine.base.errors import ImageLoadError
from engine.data.imageio import center_square, decode_rgb, probe_size

# Reasons that follow from the configuration (not from the file): re-checked on every run.
POLICY_REASONS = frozenset({"too_small", "too_large"})
WRITE_FAILED = "write_failed"  # the normalised copy could not be written (disk full, permissions)
# Reasons that may go away without the file changing (permissions, races): never cached.
TRANSIENT_REASONS = frozenset({"missing", "unreadable", "not_a_file", "error", WRITE_FAILED})


@dataclass(frozen=True)
class DecodeJob:
    source: str  # absolute path of the original
    images_dir: str  # where the normalised copy goes: images_dir/<sha[:2]>/<sha>.jpg
    size: int
    min_side: int
    max_pixels: int
    quality: int = 95


@dataclass(frozen=True)
class FileFacts:
    """What one file is: content hash, perceptual hash (hex), original size; `reason` "" when usable."""

    sha256: str = ""
    phash: str = ""
    width: int = 0
    height: int = 0
    reason: str = ""
    detail: str = ""

    @property
    def decoded(self) -> bool:
        return not self.reason and bool(self.phash)


def cached_image_name(sha256: str) -> str:
    """Path of the normalised copy under the images folder (posix)."""
    return f"{sha256[:2]}/{sha256}.jpg"


def cached_image_path(images_dir: str | Path, sha256: str) -> Path:
    return Path(os.path.join(images_dir, sha256[:2], f"{sha256}.jpg"))


def policy_reason(width: int, height: int, *, min_side: int, max_pixels: int) -> tuple[str, str]:
    """('too_large'|'too_small'|'', detail) for an original of width x height."""
    if width * height > max_pixels:
        return "too_large", f"{width}x{height} exceeds the pixel limit {max_pixels}"
    if min(width, height) < min_side:
        return "too_small", f"{width}x{height} is below the minimum side {min_side}"
    return "", ""


def process_file(job: DecodeJob) -> FileFacts:
    """Hash, probe and (when the policy allows) decode + write the normalised copy of one file."""
    try:
        return _process(job)
    except ImageLoadError as exc:
        return FileFacts(reason=exc.reason, detail=exc.detail)
    except MemoryError:
        return FileFacts(reason="too_large", detail="out of memory while decoding")
    except Exception as exc:  # a bad file must never stop the run
        return FileFacts(reason="error", detail=f"{type(exc).__name__}: {exc}")


def _process(job: DecodeJob) -> FileFacts:
    data = _read(Path(job.source))
    sha = hashlib.sha256(data).hexdigest()
    try:
        width, height = probe_size(data)
    except ImageLoadError as exc:
        return FileFacts(sha, reason=exc.reason, detail=exc.detail)
    reason, detail = policy_reason(width, height, min_side=job.min_side, max_pixels=job.max_pixels)
    if reason:
        return FileFacts(sha, width=width, height=height, reason=reason, detail=detail)
    try:
        square = center_square(decode_rgb(data, max_pixels=job.max_pixels, draft_size=job.size), job.size)
    except ImageLoadError as exc:
        return FileFacts(sha, width=width, height=height, reason=exc.reason, detail=exc.detail)
    try:
        _save_jpeg(square, cached_image_path(job.images_dir, sha), job.quality)
    except OSError as exc:  # the output's fault (disk full), not the file's: the run stops
        return FileFacts(sha, width=width, height=height, reason=WRITE_FAILED, detail=exc.strerror or str(exc))
    return FileFacts(sha, perceptual_hash(square), width, height)


def perceptual_hash(image) -> str:
    """64-bit DCT hash (ImageHash phash) of the normalised square, as 16 hex digits."""
    import imagehash

    return str(imagehash.phash(image, hash_size=8))


def _read(path: Path) -> bytes:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ImageLoadError("missing", str(path)) from None
    except IsADirectoryError:
        raise ImageLoadError("not_a_file", str(path)) from None
    except OSError as exc:
        raise ImageLoadError("unreadable", f"{path}: {exc.strerror}") from None
    if not data:
        raise ImageLoadError("empty", "zero bytes")
    return data


def _save_jpeg(image, target: Path, quality: int) -> None:
    # tmp + rename so that a crash or a concurrent writer never leaves half a JPEG; no fsync:
    # the copy is derived data the next run can rebuild.
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    image.save(tmp, format="JPEG", quality=quality)
    os.replace(tmp, target)
