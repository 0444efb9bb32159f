"""Options shared by every command (CLI.md: home, db, json, model)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

HomeOpt = Annotated[
    Optional[Path],
    typer.Option("--home", help="Home folder for catalog, index and models (else $ENGINE_HOME, else the user data folder)."),
]
DbOpt = Annotated[
    Optional[str],
    typer.Option("--db", help="SQLAlchemy URL of the catalog (else $ENGINE_DB_URL, else HOME/catalog.sqlite)."),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print the result as one JSON document on stdout.")]
ModelOpt = Annotated[
    Optional[Path],
    typer.Option("--model", help="A model.pt (or its folder); default: the home's most recently trained model."),
]
