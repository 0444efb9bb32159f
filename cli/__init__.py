"""The `engine` command line: a thin typer adapter over the library."""
