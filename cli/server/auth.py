"""The bearer token: where it comes from (a file or $ENGINE_SERVE_TOKEN, never the command line, where
`ps` shows it to every user of the machine) and the check on /api (only when the server has a token)."""

from __future__ import annotations

import hashlib
import hmac
import os
from collections.abc import Mapping
from pathlib import Path

from fastapi import Request

from cli.server.errors import ApiError
from engine.base.errors import EngineError

TOKEN_ENV = "ENGINE_SERVE_TOKEN"


def load_token(token_file: str | os.PathLike[str] | None = None, *, environ: Mapping[str, str] = os.environ) -> str | None:
    """The token: the first line of `token_file` when given, else $ENGINE_SERVE_TOKEN, else None (no token).
    Its length is checked by `ServeConfig.validate` (at least MIN_TOKEN_CHARS)."""
    if token_file is not None:
        try:
            lines = Path(token_file).read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as exc:
            raise EngineError(f"cannot read --token-file {token_file} ({getattr(exc, 'strerror', None) or exc}); "
                              "pass a readable text file whose first line is the token") from None
        token = lines[0].strip() if lines else ""
        if not token:
            raise EngineError(f"--token-file {token_file} is empty; write the token on its first line")
        return token
    token = environ.get(TOKEN_ENV, "").strip()
    return token or None


def same_token(given: str, expected: str) -> bool:
    """Constant time in the content and the length of both (compares fixed-size digests)."""
    return hmac.compare_digest(hashlib.sha256(given.encode()).digest(), hashlib.sha256(expected.encode()).digest())


def bearer_guard(token: str | None):
    """A FastAPI dependency: `Authorization: Bearer <token>` required when `token` is set, else a no-op."""

    def check(request: Request) -> None:
        if token is None:
            return
        scheme, _, given = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not same_token(given.strip(), token):
            raise ApiError(401, "missing or wrong token; send the header 'Authorization: Bearer TOKEN' "
                                "with the token `engine serve` was given (--token-file or $ENGINE_SERVE_TOKEN)")

    return check
