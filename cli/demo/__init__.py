"""The `engine demo` tour: an application over engine and indexer (no typer code here; cli/cmd_demo.py is its adapter)."""
