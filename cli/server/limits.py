"""Request limits: a body over the size limit is refused before it is parsed or spooled, a body that does
not arrive in time is answered 408 (a slow or lying client holds no worker), and requests over the cap
of concurrent ones are answered 429 at once."""

from __future__ import annotations

import asyncio
import time

from fastapi import UploadFile

from cli.server.errors import ApiError, error_response

FORM_OVERHEAD = 1 << 20  # multipart boundaries and headers around the files


class BodyLimit:
    """ASGI middleware: 413 for a body larger than `max_bytes`, from Content-Length or while it streams in;
    408 (and the connection closed) for a body not complete `timeout_s` after the request began, e.g. a
    Content-Length larger than what is sent."""

    def __init__(self, app, *, max_bytes: int, max_upload_mb: float, timeout_s: float) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.max_upload_mb = max_upload_mb
        self.timeout_s = timeout_s

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            return await error_response(413, self._too_large())(scope, receive, send)
        deadline = time.monotonic() + self.timeout_s
        seen, refusal, complete, answered = 0, None, False, False

        async def counted():  # a body without Content-Length (chunked) is cut off at the limit
            nonlocal seen, refusal, complete
            if complete or refusal:  # after the body: waits for a disconnect, no deadline
                return await receive()
            try:
                message = await asyncio.wait_for(receive(), max(0.0, deadline - time.monotonic()))
            except asyncio.TimeoutError:
                refusal = error_response(408, self._too_slow(), {"Connection": "close"})
                return {"type": "http.disconnect"}
            seen += len(message.get("body", b""))
            if seen > self.max_bytes:
                refusal = error_response(413, self._too_large(), {"Connection": "close"})
                return {"type": "http.disconnect"}
            complete = message["type"] != "http.request" or not message.get("more_body", False)
            return message

        async def answer(message) -> None:  # once cut off, whatever the app answers becomes the refusal
            nonlocal answered
            if refusal is None:
                return await send(message)
            if message["type"] == "http.response.start" and not answered:
                answered = True
                await refusal(scope, receive, send)

        await self.app(scope, counted, answer)

    def _too_large(self) -> str:
        return f"the upload is over the server's limit of {self.max_upload_mb:g} MB per image; send a smaller image or restart with --max-upload-mb"

    def _too_slow(self) -> str:
        return (f"the request body did not arrive within {self.timeout_s:g} s (or was shorter than its Content-Length); "
                "send it at once, or restart the server with a longer --body-timeout")


class RequestCap:
    """ASGI middleware: at most `limit` HTTP requests in the app at once; the next ones get 429 at once."""

    def __init__(self, app, *, limit: int) -> None:
        self.app = app
        self.limit = limit
        self.active = 0

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        if self.active >= self.limit:
            busy = f"the server is handling its limit of {self.limit} requests at once; retry in a moment (or restart it with a higher --max-requests)"
            return await error_response(429, busy, {"Retry-After": "1"})(scope, receive, send)
        self.active += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.active -= 1


async def read_upload(upload: UploadFile, field: str, *, max_bytes: int, max_upload_mb: float) -> bytes:
    """The bytes of one uploaded file; 413 when it is over `max_bytes`."""
    data = await upload.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise ApiError(413, f"the upload {field!r} is over the server's limit of {max_upload_mb:g} MB; send a smaller image or restart with --max-upload-mb")
    return data
