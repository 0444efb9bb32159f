"""Every failure answers a 4xx status with `{"error": "one line: what, and what to do"}`.

Never a traceback: a bug answers a JSON 500 that names nothing of the internals, is logged with its
traceback on the server, and leaves the keep-alive connection usable (`InternalErrors`).
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect

from db.store import NothingIndexed
from engine.base.errors import EngineError, ImageLoadError

logger = logging.getLogger(__name__)

IMAGE_REASONS = {  # ImageLoadError.reason -> (status, what is wrong)
    "too_large": (413, "has more pixels than this server decodes (its --max-pixels)"),
    "empty": (400, "is empty"),
    "not_an_image": (415, "is not an image Pillow can read"),
    "truncated": (400, "is truncated (an incomplete upload or file)"),
    "corrupt": (400, "is corrupt"),
}


class ApiError(Exception):
    """A request the server refuses: `status` and a one-line message."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


INTERNAL = "internal error; the server log has the details, please report it"


def image_error(field: str, exc: ImageLoadError) -> ApiError:
    status, what = IMAGE_REASONS.get(exc.reason, (400, f"cannot be decoded ({exc.reason})"))
    if exc.reason == "too_large":
        return ApiError(status, f"the upload {field!r} {what}: {exc.detail}; send a smaller image (a photo of a few MP is plenty)")
    return ApiError(status, f"the upload {field!r} {what}; send a readable JPEG, PNG, TIFF or WebP image")


def error_response(status: int, message: str, headers: dict | None = None) -> JSONResponse:
    first = message.strip().splitlines()[0] if message.strip() else "request failed"
    return JSONResponse({"error": first}, status_code=status, headers=headers)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(ImageLoadError, _image_load_error)
    app.add_exception_handler(EngineError, _engine_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _internal_error)


async def _api_error(request: Request, exc: ApiError) -> JSONResponse:
    headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
    return error_response(exc.status, exc.message, headers)


async def _image_load_error(request: Request, exc: ImageLoadError) -> JSONResponse:
    return error_response(400, f"cannot read an indexed image ({exc.reason}); re-run `engine index` on its folder")


async def _engine_error(request: Request, exc: EngineError) -> JSONResponse:
    return error_response(503 if isinstance(exc, NothingIndexed) else 400, str(exc))


async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
    return error_response(422, "; ".join(_describe(e) for e in exc.errors()) or "invalid request")


def _describe(error: dict) -> str:
    where = [str(p) for p in error.get("loc", ()) if p not in ("body", "query", "path")]
    name = ".".join(where) or "request"
    if error.get("type") == "missing":
        return f"missing field {name!r}; send it (see /docs)"
    if "UploadFile" in str(error.get("msg", "")):
        return f"field {name!r} must be a file upload (multipart/form-data, e.g. curl -F {name}=@painting.jpg)"
    return f"bad {name!r}: {error.get('msg', 'invalid')} (see /docs)"


async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    message = exc.detail if isinstance(exc.detail, str) else "request failed"
    if exc.status_code == 404 and message == "Not Found":
        message = f"no such endpoint {request.url.path}; see /docs for the API"
    elif exc.status_code == 405:
        message = f"{request.method} is not allowed on {request.url.path}; see /docs for the API"
    return error_response(exc.status_code, message, getattr(exc, "headers", None))


async def _internal_error(request: Request, exc: Exception) -> JSONResponse:
    logger.error("internal error on %s %s", request.method, request.url.path, exc_info=exc)
    return error_response(500, INTERNAL)


class InternalErrors:
    """ASGI middleware: an exception no handler foresaw answers a JSON 500 (when no response has started)
    and goes no further. Starlette's own last resort answers too but then re-raises, and uvicorn closes
    the connection, so a keep-alive client's next request met "connection reset"."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        started = False

        async def tracked(message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, tracked)
        except ClientDisconnect:  # the client left (or a body limit cut it off): nobody to answer, nothing broken
            if not started:
                await error_response(400, "the client disconnected before the request was read")(scope, receive, send)
        except Exception as exc:
            logger.error("internal error on %s %s", scope.get("method"), scope.get("path"), exc_info=exc)
            if started:
                raise  # half an answer is out: only closing the connection ends it cleanly
            await error_response(500, INTERNAL)(scope, receive, send)
