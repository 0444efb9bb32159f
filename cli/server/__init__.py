"""`engine serve`: an HTTP API and a web page over the catalog (an application over engine and indexer,
like cli/demo; no typer code here, cli/cmd_serve.py is its adapter).

FastAPI and uvicorn are optional (`pip install 'artwork-engine[serve]'`): they are imported when a
server is made, with a one-line error when missing.
"""

from __future__ import annotations

from cli.server.config import ServeConfig

__all__ = ["ServeConfig", "create_app", "run_server"]


def create_app(config: ServeConfig, state=None):
    """The FastAPI app for `config` (loads model, catalog and index unless `state` is given)."""
    _require_serve_deps()
    from cli.server.app import build_app

    return build_app(config, state)


def run_server(*, token_file=None, **options) -> None:
    """Serve until interrupted; `options` are `ServeConfig` fields, None meaning the default; the token
    comes from `token_file` or $ENGINE_SERVE_TOKEN (cli.server.auth.load_token).

    The bind address and auth are validated first (EngineError), then model, catalog and index are loaded once.
    """
    from cli.server.auth import load_token

    options = {name: value for name, value in options.items() if value is not None}
    config = ServeConfig(**options, token=load_token(token_file)).validate()
    _require_serve_deps()
    from cli.server.run import serve

    serve(config)


def _require_serve_deps() -> None:
    from engine.base.errors import MissingDependencyError

    try:
        import fastapi  # noqa: F401
        import python_multipart  # noqa: F401  (form uploads)
        import uvicorn  # noqa: F401
    except ImportError as exc:
        raise MissingDependencyError(
            f"engine serve needs fastapi, uvicorn and python-multipart ({exc.name} is missing); "
            "install them with `pip install 'artwork-engine[serve]'`"
        ) from None
