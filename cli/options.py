"""Options shared by every command (CLI.md: home, db, json, model); also accepted before the verb."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Optional

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
    typer.Option("--model", help="A model.pt (or its folder); default: the model that built the home's index, else the home's most recently trained model, else the model shipped with the engine."),
]


@dataclass(frozen=True)
class GlobalOptions:
    """The options given before the verb (`engine --home DIR VERB`); `ctx.obj` of every command."""

    home: Path | None = None
    db: str | None = None
    as_json: bool = False
    model: Path | None = None

    def given(self) -> dict[str, Any]:
        """{parameter name: value} of the options actually given."""
        values = {"home": self.home, "db": self.db, "as_json": self.as_json or None, "model": self.model}
        return {name: value for name, value in values.items() if value is not None}


def global_defaults(options: GlobalOptions, group: Any) -> dict[str, dict[str, Any]]:
    """A click `default_map` for `group`'s commands: each command that has one of the global options
    gets its value as the default (an option given after the verb still takes precedence)."""
    given = options.given()
    defaults = {}
    for name, command in getattr(group, "commands", {}).items():
        params = {p.name for p in command.params}
        defaults[name] = {key: value for key, value in given.items() if key in params}
    return defaults
