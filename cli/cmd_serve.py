"""`engine serve`: the HTTP API and web page over the collection (cli.server)."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from cli.options import DbOpt, HomeOpt, ModelOpt


def register(app: typer.Typer) -> None:
    app.command("serve", help=serve.__doc__)(serve)


def serve(
    home: HomeOpt = None,
    db: DbOpt = None,
    model: ModelOpt = None,
    host: Annotated[Optional[str], typer.Option("--host", help="Address to listen on (default 127.0.0.1); any other needs --token or --no-auth.", show_default=False)] = None,
    port: Annotated[Optional[int], typer.Option("--port", help="TCP port (default 8000).", show_default=False)] = None,
    token: Annotated[Optional[str], typer.Option("--token", help="Require 'Authorization: Bearer TOKEN' on every /api call (the page asks for it once).")] = None,
    no_auth: Annotated[bool, typer.Option("--no-auth", help="Serve another address without a token (anyone who can reach it can query).")] = False,
    max_upload_mb: Annotated[Optional[float], typer.Option("--max-upload-mb", help="Largest accepted upload per image, in MB (default 50).", show_default=False)] = None,
) -> None:
    """Serve the web page at / and the HTTP API at /api (docs at /docs); the model, catalog and index are loaded once."""
    from cli.server import run_server

    run_server(home=home, db=db, model=model, host=host, port=port, token=token, no_auth=no_auth, max_upload_mb=max_upload_mb)
