"""`ServeConfig`: every knob of `engine serve`, validated before anything is loaded.

Security rule: the server binds 127.0.0.1 by default; any other address needs a token (every /api
call then carries `Authorization: Bearer TOKEN`) or an explicit `no_auth`.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from pathlib import Path

from engine.base.errors import EngineError
from engine.data.imageio import DEFAULT_MAX_PIXELS

THUMBNAIL_SIZES = (64, 128, 256, 512, 1024)  # a request's size snaps up to one of these (bounded cache)


@dataclass(frozen=True)
class ServeConfig:
    home: Path | None = None
    db: str | None = None
    model: Path | None = None
    host: str = "127.0.0.1"
    port: int = 8000
    token: str | None = None
    no_auth: bool = False
    max_upload_mb: float = 50.0
    max_pixels: int = DEFAULT_MAX_PIXELS  # decoded pixels per upload (decompression bombs stop here)
    workers: int | None = None  # inference threads; None: the cores this process may use
    log_level: str = "info"

    def validate(self) -> "ServeConfig":
        checks = [
            (1 <= self.port <= 65535, f"--port {self.port} is not a TCP port; pass 1..65535 (default 8000)"),
            (self.max_upload_mb > 0, f"--max-upload-mb {self.max_upload_mb} must be positive (default 50)"),
            (self.workers is None or self.workers >= 1, f"workers {self.workers} must be >= 1"),
            (self.token is None or self.token.strip() != "", "--token is empty; pass a secret of a few random characters"),
            (not (self.token and self.no_auth), "--token and --no-auth contradict each other; pass one of them"),
            (self.auth_decided(), f"binding {self.host} exposes the collection beyond this machine; "
             "pass --token T (clients send 'Authorization: Bearer T') or --no-auth"),
        ]
        for ok, message in checks:
            if not ok:
                raise EngineError(message)
        return self

    def auth_decided(self) -> bool:
        return is_loopback(self.host) or bool(self.token) or self.no_auth

    @property
    def max_upload_bytes(self) -> int:
        return int(self.max_upload_mb * 1024 * 1024)


def is_loopback(host: str) -> bool:
    """127.0.0.0/8, ::1 and "localhost" stay on this machine; anything else (0.0.0.0, a name, an IP) may not."""
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def thumbnail_size(requested: int) -> int:
    """The smallest cached size >= `requested` (the largest when above all)."""
    return next((s for s in THUMBNAIL_SIZES if s >= requested), THUMBNAIL_SIZES[-1])
