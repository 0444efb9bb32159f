"""`build_app`: the FastAPI application (API under /api, the page at /, OpenAPI docs at /docs)."""

from __future__ import annotations

import contextlib
import logging
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from fastapi import Depends, FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

import engine
from cli.server.auth import bearer_guard
from cli.server.budget import PixelBudget
from cli.server.config import ServeConfig
from cli.server.docs import install_docs
from cli.server.errors import InternalErrors, install_error_handlers
from cli.server.headers import SecurityHeaders
from cli.server.limits import FORM_OVERHEAD, BodyLimit, RequestCap
from cli.server.page_routes import install_page
from cli.server.routes import api_router
from cli.server.state import ServerState
from engine.base.runtime import cpu_cores
from engine.inference.embedding import decode_side

logger = logging.getLogger(__name__)

STATIC = Path(__file__).resolve().parent / "static"


def build_app(config: ServeConfig, state: ServerState | None = None) -> FastAPI:
    """The app over `state` (made from `config` when None: model, catalog and index loaded once, here)."""
    config = config.validate()
    owned = state is None  # a state given by the caller is the caller's to close
    state = state or ServerState(home=config.home, db=config.db, model=config.model)
    pool = inference_pool(config.workers)
    app = FastAPI(title="artwork engine", version=engine.__version__, docs_url=None, redoc_url=None, lifespan=_lifespan(state if owned else None, pool),
                  description="Who painted this, and are these two by the same hand? Errors: 4xx with {\"error\": ...}.")
    app.state.config, app.state.engine, app.state.pool = config, state, pool
    app.state.pixel_budget, app.state.decode_side = PixelBudget(config.in_flight), decode_side(state.current().lm)
    install_error_handlers(app)
    # Middleware, innermost first: unforeseen exceptions, body size and time, the request cap, the headers.
    app.add_middleware(InternalErrors)
    app.add_middleware(BodyLimit, max_bytes=2 * config.max_upload_bytes + FORM_OVERHEAD, max_upload_mb=config.max_upload_mb,
                       timeout_s=config.body_timeout_s)
    app.add_middleware(RequestCap, limit=config.max_requests)
    app.add_middleware(SecurityHeaders)
    app.include_router(api_router(), prefix="/api", dependencies=[Depends(bearer_guard(config.token))])
    install_page(app, [Depends(bearer_guard(config.token))])
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    install_docs(app)  # offline Swagger UI at /docs
    app.add_api_route("/", _page, include_in_schema=False, methods=["GET"])
    return app


def inference_pool(workers: int | None = None) -> ThreadPoolExecutor:
    """`workers` threads (default: the cores this process may use), each running its forward passes with
    cores // workers torch threads: one single-thread forward per core, the CPU plan engine.inference.forward_plan
    measured fastest for the EfficientNet-Lite trunks, and one that does not collapse on a busy machine
    the way threads of one forward waiting on each other do. (torch's thread count is per thread.)"""
    cores = cpu_cores()
    workers = workers or cores
    return ThreadPoolExecutor(workers, thread_name_prefix="inference", initializer=_set_torch_threads,
                              initargs=(max(1, cores // workers),))


def _set_torch_threads(n: int) -> None:
    import torch

    torch.set_num_threads(n)


async def _page() -> FileResponse:
    return FileResponse(STATIC / "index.html", media_type="text/html")


def _lifespan(state: ServerState | None, pool: ThreadPoolExecutor):
    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI):
        try:
            yield
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
            if state is not None:
                state.close()

    return lifespan
