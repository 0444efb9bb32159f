"""`serve`: check the bind address, auth and port, load once, then run uvicorn until interrupted."""

from __future__ import annotations

import logging
import socket

from cli.server.app import build_app
from cli.server.config import ServeConfig
from engine.base.errors import EngineError

logger = logging.getLogger(__name__)


def serve(config: ServeConfig) -> None:
    import uvicorn

    config = config.validate()  # before loading anything: a refused address costs no model load
    check_port_free(config.host, config.port)
    app = build_app(config)
    logger.info("engine serve: http://%s:%d/ (API docs at /docs)%s", _shown(config.host), config.port,
                "; /api needs the bearer token" if config.token else "")
    try:
        uvicorn.run(app, host=config.host, port=config.port, **uvicorn_options(config))
    except SystemExit as exc:  # uvicorn exits 1 when it cannot bind after all (it logged why)
        if exc.code:
            raise EngineError(_cannot_listen(config.host, config.port, "see the log above")) from None


def uvicorn_options(config: ServeConfig) -> dict:
    """uvicorn's settings for `config` (besides the address): idle keep-alive connections close after
    keepalive_timeout_s; connections (idle ones included) are capped at 4 x max_requests, a backstop
    beyond which uvicorn answers 503 (requests over max_requests get 429 from cli.server.limits.RequestCap)."""
    return {"log_level": config.log_level, "access_log": False, "timeout_keep_alive": config.keepalive_timeout_s,
            "limit_concurrency": 4 * config.max_requests}


def check_port_free(host: str, port: int) -> None:
    """EngineError when `host:port` cannot be bound now (in use, or not an address of this machine)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise EngineError(f"--host {host} is not a known address ({exc.strerror}); pass an IP address or name of this machine") from None
    family, _, _, _, address = infos[0]
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds: a closing socket does not count
        try:
            probe.bind(address)
        except OSError as exc:
            raise EngineError(_cannot_listen(host, port, exc.strerror or str(exc))) from None


def _cannot_listen(host: str, port: int, why: str) -> str:
    return f"cannot listen on {host}:{port} ({why}); pass another --port, or stop the program using it"


def _shown(host: str) -> str:
    return f"[{host}]" if ":" in host else host
