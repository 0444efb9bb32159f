"""Bearer-token check for /api (only when the server was started with a token)."""

from __future__ import annotations

import hmac

from fastapi import Request

from cli.server.errors import ApiError


def bearer_guard(token: str | None):
    """A FastAPI dependency: `Authorization: Bearer <token>` required when `token` is set, else a no-op."""

    def check(request: Request) -> None:
        if token is None:
            return
        scheme, _, given = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(), token.encode()):
            raise ApiError(401, "missing or wrong token; send the header 'Authorization: Bearer TOKEN' "
                                "with the token given to `engine serve --token`")

    return check
