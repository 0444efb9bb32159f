"""The /api endpoints: each is a thin adapter over one `cli.server.service` function."""

from __future__ import annotations

import asyncio
import functools
from typing import Annotated, Optional

from fastapi import APIRouter, File, Path, Query, Request, UploadFile
from fastapi.responses import FileResponse
from pydantic import BaseModel

from cli.server import service
from cli.server.config import thumbnail_size
from cli.server.errors import image_error
from cli.server.limits import read_upload
from engine.base.errors import ImageLoadError
from engine.data.imageio import decoded_pixels

K = Annotated[Optional[int], Query(ge=1, le=10_000, description="Nearest paintings [default: 10, or the index size if smaller].")]
ARTIST = Annotated[Optional[str], Query(description="Only paintings by this artist (case-insensitive).")]
STYLE = Annotated[Optional[str], Query(description="Only paintings of this style (case-insensitive).")]
DATE = Annotated[Optional[str], Query(description="Only paintings whose date starts with this text (e.g. 1889).")]
EXPLAIN = Annotated[bool, Query(description="Also return each painting's map of the regions that carry the similarity (a grid of numbers and a PNG data URL).")]
PAINTING_ID = Annotated[int, Path(ge=0, description="A catalog id (the `id` of a query match).")]


class ErrorBody(BaseModel):
    error: str


ERRORS = {"4XX": {"model": ErrorBody, "description": 'A refused request: {"error": "one line: what, and what to do"}'}}


async def in_pool(request: Request, fn, *args, **kwargs):
    """Run blocking work (decoding, the forward pass, the catalog) on the inference pool, holding the
    pixels this request's uploads will decode from the server's pixel budget meanwhile."""
    loop = asyncio.get_running_loop()
    async with request.app.state.pixel_budget.hold(getattr(request.state, "pixels", 0)):
        return await loop.run_in_executor(request.app.state.pool, functools.partial(fn, request.app.state.engine, *args, **kwargs))


async def upload_bytes(request: Request, upload: UploadFile, field: str) -> bytes:
    """The upload's bytes; its header is read at once (413 over --max-pixels, before any waiting or
    decoding) and the pixels it will decode are added to the request's share of the pixel budget."""
    config = request.app.state.config
    data = await read_upload(upload, field, max_bytes=config.max_upload_bytes, max_upload_mb=config.max_upload_mb)
    try:
        pixels = decoded_pixels(data, max_pixels=config.max_pixels, draft_size=request.app.state.decode_side)
    except ImageLoadError as exc:
        raise image_error(field, exc) from None
    request.state.pixels = getattr(request.state, "pixels", 0) + pixels
    return data


def api_router() -> APIRouter:
    router = APIRouter(responses=ERRORS)

    @router.get("/health", summary='{"status": "ok", "paintings": n, "model": fingerprint, "index": type}')
    async def health(request: Request) -> dict:
        return await in_pool(request, service.health)

    @router.post("/query", summary="The JSON of `engine query --json` for an uploaded image, with an id and thumbnail per match")
    async def query(request: Request, image: Annotated[UploadFile, File(description="The painting to look up.")],
                    k: K = None, artist: ARTIST = None, style: STYLE = None, date: DATE = None, explain: EXPLAIN = False) -> dict:
        data = await upload_bytes(request, image, "image")
        return await in_pool(request, service.query_upload, data, image.filename or "upload",
                             max_pixels=request.app.state.config.max_pixels, k=k, artist=artist, style=style, date=date,
                             explain=explain)

    @router.post("/verify", summary="The JSON of `engine verify --json` for two uploaded images")
    async def verify(request: Request, a: Annotated[UploadFile, File(description="First painting.")],
                     b: Annotated[UploadFile, File(description="Second painting.")], explain: EXPLAIN = False) -> dict:
        first, second = await upload_bytes(request, a, "a"), await upload_bytes(request, b, "b")
        return await in_pool(request, service.verify_uploads, first, second, max_pixels=request.app.state.config.max_pixels,
                             explain=explain)

    @router.get("/paintings/{painting_id}", summary="The catalog row of one painting")
    async def painting(request: Request, painting_id: PAINTING_ID) -> dict:
        return await in_pool(request, service.painting_row, painting_id)

    @router.get("/paintings/{painting_id}/similar", summary="A query from an indexed painting (its stored vector)")
    async def similar(request: Request, painting_id: PAINTING_ID, k: K = None, artist: ARTIST = None,
                      style: STYLE = None, date: DATE = None) -> dict:
        return await in_pool(request, service.query_painting, painting_id, k=k, artist=artist, style=style, date=date)

    @router.get("/paintings/{painting_id}/thumbnail", response_class=FileResponse, summary="A JPEG thumbnail (cached in the home)")
    async def thumbnail(request: Request, painting_id: PAINTING_ID,
                        size: Annotated[int, Query(ge=16, le=4096, description="Longest side in pixels (snapped up to 64/128/256/512/1024).")] = 256):
        path = await in_pool(request, service.thumbnail, painting_id, thumbnail_size(size))
        return FileResponse(path, media_type="image/jpeg", headers={"Cache-Control": "private, max-age=86400"})

    @router.get("/artists", summary="The indexed artists with their painting counts")
    async def artists(request: Request) -> dict:
        return await in_pool(request, service.artists)

    return router
