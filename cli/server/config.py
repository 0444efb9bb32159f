"""`ServeConfig`: every knob of `engine serve`, validated before anything is loaded.

Security rule: the server binds 127.0.0.1 by default; any other address needs a token (every /api
call then carries `Authorization: Bearer TOKEN`) or an explicit `no_auth`.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from pathlib import Path

from engine.base.errors import EngineError

# Uploads are photos of paintings, not museum scans (those go through `engine prepare`, 250 MP): 64 MP
# takes every phone's normal output (12-50 MP) and a 61-MP full-frame camera (Sony A7R V: 9504 x 6336);
# 108/200-MP phone modes and medium-format files must be downsized first or the limit raised. The model
# sees 224-256 px, so more pixels add nothing but memory: a 64-MP PNG decodes to 192 MB of RGB (a JPEG
# decodes at 1/8 scale, ~1 MP, see engine.data.imageio.reduce_for).
SERVE_MAX_PIXELS = 64_000_000
MIN_TOKEN_CHARS = 16
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
    max_pixels: int = SERVE_MAX_PIXELS  # width x height of an upload, from its header (decompression bombs stop here)
    # Pixels decoded at once, all requests together; None: max_pixels. One image at the limit then decodes at a
    # time, so it can take one inference worker, never all of them: in the soak (bench_serve_soak.py) two at once
    # held both workers of a 2-core machine for seconds, and the good clients' p95 more than doubled.
    pixels_in_flight: int | None = None
    body_timeout_s: float = 60.0  # a request body must arrive whole within this (then 408; 50 MB at 7 Mbit/s)
    keepalive_timeout_s: float = 5.0  # an idle keep-alive connection is closed after this
    max_requests: int = 64  # requests handled at once; more are answered 429 at once
    workers: int | None = None  # inference threads; None: the cores this process may use
    log_level: str = "info"

    def validate(self) -> "ServeConfig":
        checks = [
            (1 <= self.port <= 65535, f"--port {self.port} is not a TCP port; pass 1..65535 (default 8000)"),
            (self.max_upload_mb > 0, f"--max-upload-mb {self.max_upload_mb} must be positive (default 50)"),
            (self.max_pixels >= 1, f"--max-pixels {self.max_pixels} must be positive (default {SERVE_MAX_PIXELS})"),
            (self.in_flight >= self.max_pixels, f"--pixels-in-flight {self.pixels_in_flight} is below --max-pixels "
             f"{self.max_pixels}: an image at the limit could never be decoded; pass at least --max-pixels"),
            (self.body_timeout_s > 0, f"--body-timeout {self.body_timeout_s} must be positive (default 60 s)"),
            (self.keepalive_timeout_s > 0, f"--keepalive-timeout {self.keepalive_timeout_s} must be positive (default 5 s)"),
            (self.max_requests >= 1, f"--max-requests {self.max_requests} must be >= 1 (default 64)"),
            (self.workers is None or self.workers >= 1, f"workers {self.workers} must be >= 1"),
            (self.token is None or len(self.token.strip()) >= MIN_TOKEN_CHARS,
             f"the token has {len((self.token or '').strip())} characters; use at least {MIN_TOKEN_CHARS} random ones "
             "(e.g. `python -c 'import secrets; print(secrets.token_urlsafe(24))' > token.txt`)"),
            (not (self.token and self.no_auth), "a token and --no-auth contradict each other; pass one of them"),
            (self.auth_decided(), f"binding {self.host} exposes the collection beyond this machine; pass --token-file FILE "
             "(or set $ENGINE_SERVE_TOKEN; clients send 'Authorization: Bearer TOKEN') or --no-auth"),
        ]
        for ok, message in checks:
            if not ok:
                raise EngineError(message)
        return self

    def auth_decided(self) -> bool:
        return is_loopback(self.host) or bool(self.token) or self.no_auth

    @property
    def in_flight(self) -> int:
        """The pixel budget of concurrent decodes."""
        return self.pixels_in_flight if self.pixels_in_flight is not None else self.max_pixels

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
