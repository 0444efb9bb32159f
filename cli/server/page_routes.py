"""The page's own /api endpoints (each a thin adapter over one `cli.server.page_service` function).

`install_page(app, dependencies)` adds them under /api with the same guard (the bearer token) as the rest.
"""

from __future__ import annotations

from typing import Annotated, Optional

from fastapi import APIRouter, FastAPI, File, Path, Query, Request, UploadFile
from fastapi.responses import FileResponse, Response

from cli.server import page_service
from cli.server.page_service import PageState
from cli.server.routes import ARTIST, DATE, ERRORS, K, PAINTING_ID, STYLE, in_pool, upload_bytes

RESULT_ID = Annotated[str, Path(min_length=8, max_length=64, pattern=r"^[A-Za-z0-9_-]+$", description="The `result_id` of an upload's answer.")]
CACHE = {"Cache-Control": "private, max-age=86400"}


def install_page(app: FastAPI, dependencies: list) -> None:
    app.state.page = PageState()
    app.include_router(page_router(), prefix="/api", dependencies=dependencies)


def _page(request: Request) -> PageState:
    return request.app.state.page


def page_router() -> APIRouter:
    router = APIRouter(tags=["page"], responses=ERRORS)

    @router.get("/collection", summary="The collection in words: paintings, artists, styles, the model's name")
    async def collection(request: Request) -> dict:
        return await in_pool(request, page_service.collection)

    @router.get("/paintings/{painting_id}/image", response_class=FileResponse,
                summary="A large JPEG rendition for the viewer (1024 or 2048 px); original=true: the untouched file")
    async def image(request: Request, painting_id: PAINTING_ID,
                    size: Annotated[int, Query(ge=16, le=4096, description="Longest side in pixels (snapped up to 1024/2048).")] = 2048,
                    original: Annotated[bool, Query(description="The indexed file itself, as it is on disk.")] = False):
        if original:
            path, media_type = await in_pool(request, page_service.original, painting_id)
            return FileResponse(path, media_type=media_type, headers=CACHE)
        path = await in_pool(request, page_service.rendition, painting_id, size)
        return FileResponse(path, media_type="image/jpeg", headers=CACHE)

    @router.post("/results", summary="A query for an uploaded image, kept under a result_id while the server runs")
    async def search(request: Request, image: Annotated[UploadFile, File(description="The painting to look up.")],
                     k: K = None, artist: ARTIST = None, style: STYLE = None, date: DATE = None) -> dict:
        data = await upload_bytes(request, image, "image")
        return await in_pool(request, page_service.search_upload, _page(request).results, data, image.filename or "upload",
                             max_pixels=request.app.state.config.max_pixels, k=k, artist=artist, style=style, date=date)

    @router.post("/results/verify", summary="A verify of two uploaded images, kept under a result_id while the server runs")
    async def verify(request: Request, a: Annotated[UploadFile, File(description="First painting.")],
                     b: Annotated[UploadFile, File(description="Second painting.")]) -> dict:
        first, second = await upload_bytes(request, a, "a"), await upload_bytes(request, b, "b")
        return await in_pool(request, page_service.verify_upload, _page(request).results, first, second,
                             (a.filename or "a", b.filename or "b"), max_pixels=request.app.state.config.max_pixels)

    @router.get("/results/{result_id}", summary="A kept answer to an upload")
    async def result(request: Request, result_id: RESULT_ID) -> dict:
        return _page(request).results.answer(result_id)

    @router.get("/results/{result_id}/images/{name}", summary="A small JPEG copy of a kept upload")
    async def result_image(request: Request, result_id: RESULT_ID, name: Annotated[str, Path(pattern=r"^(query|a|b)$")]):
        return Response(_page(request).results.image(result_id, name), media_type="image/jpeg", headers=CACHE)

    @router.get("/pairs/{a}/{b}", summary="Same hand or not, for two indexed paintings (their stored vectors)")
    async def pair(request: Request, a: PAINTING_ID, b: PAINTING_ID) -> dict:
        return await in_pool(request, page_service.verify_pair, a, b)

    @router.get("/artist-list", summary="Artists with their painting counts and metadata (years, nationality, movement)")
    async def artist_list(request: Request) -> dict:
        return await in_pool(request, page_service.artist_list)

    @router.get("/artist", summary="One artist: metadata, works by date, painters most alike (artist centroids)")
    async def artist(request: Request, name: Annotated[str, Query(min_length=1, max_length=512, description="The artist's name.")]) -> dict:
        return await in_pool(request, page_service.artist_page, _page(request), name)

    @router.get("/map", summary="The map of the collection: {points: [{id, x, y, artist, style}]} in [0, 1]")
    async def collection_map(request: Request) -> dict:
        return await in_pool(request, page_service.collection_map, _page(request))

    return router
