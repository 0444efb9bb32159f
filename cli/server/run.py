"""`serve`: check the bind address and auth, load once, then run uvicorn until interrupted."""

from __future__ import annotations

import logging

from cli.server.app import build_app
from cli.server.config import ServeConfig
from engine.base.errors import EngineError

logger = logging.getLogger(__name__)


def serve(config: ServeConfig) -> None:
    import uvicorn

    config = config.validate()  # before loading anything: a refused address costs no model load
    app = build_app(config)
    logger.info("engine serve: http://%s:%d/ (API docs at /docs)%s", _shown(config.host), config.port,
                "; /api needs the bearer token" if config.token else "")
    try:
        uvicorn.run(app, host=config.host, port=config.port, log_level=config.log_level, access_log=False)
    except SystemExit as exc:  # uvicorn exits 1 when it cannot bind (it logged why)
        if exc.code:
            raise EngineError(f"cannot listen on {config.host}:{config.port} (in use or not an address of this machine); pass another --port or --host") from None


def _shown(host: str) -> str:
    return f"[{host}]" if ":" in host else host
