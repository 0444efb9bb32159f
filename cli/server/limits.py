"""Upload size limits: a request body over the limit is refused before it is parsed or spooled."""

from __future__ import annotations

from fastapi import UploadFile

from cli.server.errors import ApiError, error_response

FORM_OVERHEAD = 1 << 20  # multipart boundaries and headers around the files


class BodyLimit:
    """ASGI middleware: 413 for a body larger than `max_bytes`, from Content-Length or while it streams in."""

    def __init__(self, app, *, max_bytes: int, max_upload_mb: float) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.max_upload_mb = max_upload_mb

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            return await error_response(413, self._message())(scope, receive, send)
        seen, over, answered = 0, False, False

        async def counted():  # a body without Content-Length (chunked) is cut off at the limit
            nonlocal seen, over
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.max_bytes:
                over = True
                return {"type": "http.disconnect"}
            return message

        async def answer(message) -> None:  # once cut off, whatever the app answers becomes the 413
            nonlocal answered
            if not over:
                return await send(message)
            if message["type"] == "http.response.start" and not answered:
                answered = True
                await error_response(413, self._message())(scope, receive, send)

        await self.app(scope, counted, answer)

    def _message(self) -> str:
        return f"the upload is over the server's limit of {self.max_upload_mb:g} MB per image; send a smaller image or restart with --max-upload-mb"


async def read_upload(upload: UploadFile, field: str, *, max_bytes: int, max_upload_mb: float) -> bytes:
    """The bytes of one uploaded file; 413 when it is over `max_bytes`."""
    data = await upload.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise ApiError(413, f"the upload {field!r} is over the server's limit of {max_upload_mb:g} MB; send a smaller image or restart with --max-upload-mb")
    return data
