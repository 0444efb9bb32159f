"""`engine serve`: the HTTP API and web page over the collection (cli.server)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from cli.options import DbOpt, HomeOpt, ModelOpt


def register(app: typer.Typer) -> None:
    app.command("serve", help=serve.__doc__)(serve)


def serve(
    home: HomeOpt = None,
    db: DbOpt = None,
    model: ModelOpt = None,
    host: Annotated[Optional[str], typer.Option("--host", help="Address to listen on (default 127.0.0.1); any other needs a token or --no-auth.", show_default=False)] = None,
    port: Annotated[Optional[int], typer.Option("--port", help="TCP port (default 8000).", show_default=False)] = None,
    token_file: Annotated[Optional[Path], typer.Option("--token-file", help="Require 'Authorization: Bearer TOKEN' on every /api call, TOKEN being the first line of this file (at least 16 characters; else $ENGINE_SERVE_TOKEN; the page asks for it once).")] = None,
    no_auth: Annotated[bool, typer.Option("--no-auth", help="Serve another address without a token (anyone who can reach it can query).")] = False,
    max_upload_mb: Annotated[Optional[float], typer.Option("--max-upload-mb", help="Largest accepted upload per image, in MB (default 50).", show_default=False)] = None,
    max_pixels: Annotated[Optional[int], typer.Option("--max-pixels", help="Largest accepted image, width x height (default 64000000: phone and camera photos; 413 above).", show_default=False)] = None,
    pixels_in_flight: Annotated[Optional[int], typer.Option("--pixels-in-flight", help="Pixels decoded at once over all requests; more wait (default --max-pixels: one image at the limit at a time).", show_default=False)] = None,
    body_timeout: Annotated[Optional[float], typer.Option("--body-timeout", help="Seconds a request body may take to arrive whole (default 60; then 408).", show_default=False)] = None,
    keepalive_timeout: Annotated[Optional[float], typer.Option("--keepalive-timeout", help="Seconds an idle keep-alive connection stays open (default 5).", show_default=False)] = None,
    max_requests: Annotated[Optional[int], typer.Option("--max-requests", help="Requests handled at once; more get 429 (default 64).", show_default=False)] = None,
) -> None:
    """Serve the web page at / and the HTTP API at /api (docs at /docs); the model, catalog and index are loaded once."""
    from cli.server import run_server

    run_server(home=home, db=db, model=model, host=host, port=port, token_file=token_file, no_auth=no_auth,
               max_upload_mb=max_upload_mb, max_pixels=max_pixels, pixels_in_flight=pixels_in_flight,
               body_timeout_s=body_timeout, keepalive_timeout_s=keepalive_timeout, max_requests=max_requests)
