"""Every failure answers a 4xx status with `{"error": "one line: what, and what to do"}`.

Never a traceback: a bug answers 500 with one line and is logged with its traceback on the server.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from db.store import NothingIndexed
from engine.base.errors import EngineError, ImageLoadError

logger = logging.getLogger(__name__)

IMAGE_REASONS = {  # ImageLoadError.reason -> (status, what is wrong)
    "too_large": (413, "has too many pixels to decode safely (a decompression bomb?)"),
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


def image_error(field: str, exc: ImageLoadError) -> ApiError:
    status, what = IMAGE_REASONS.get(exc.reason, (400, f"cannot be decoded ({exc.reason})"))
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
    return error_response(500, f"internal error: {type(exc).__name__}; the server log has the details, please report it")
