"""The `engine` typer app. Commands live in `cli/cmd_*.py`; each calls one library function."""

from __future__ import annotations

import logging
import os
import sys
from typing import Optional, Sequence

import typer

import engine
from cli.options import DbOpt, GlobalOptions, HomeOpt, JsonOpt, ModelOpt, global_defaults
from engine.base.errors import EngineError

app = typer.Typer(
    name="engine",
    help="Artwork similarity search: who painted this, and are these two by the same hand?",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"engine {engine.__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    ctx: typer.Context,
    version: Optional[bool] = typer.Option(
        None, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Log details to stderr."),
    home: HomeOpt = None,
    db: DbOpt = None,
    as_json: JsonOpt = False,
    model: ModelOpt = None,
) -> None:
    # --home/--db/--json/--model before the verb (git/docker style) become the verb's defaults, so the
    # same option given after the verb wins.
    _configure_logging(logging.DEBUG if verbose else logging.INFO)
    ctx.obj = GlobalOptions(home=home, db=db, as_json=as_json, model=model)
    ctx.default_map = global_defaults(ctx.obj, ctx.command)


def _configure_logging(level: int) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in ("PIL", "matplotlib", "urllib3", "faiss", "timm"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def _register_commands() -> None:
    from cli import cmd_prepare, cmd_train, cmd_evaluate, cmd_calibrate, cmd_index, cmd_query, cmd_verify, cmd_demo, cmd_serve, cmd_export, cmd_model

    for module in (cmd_prepare, cmd_train, cmd_evaluate, cmd_calibrate, cmd_index, cmd_query, cmd_verify, cmd_demo, cmd_serve, cmd_export, cmd_model):
        module.register(app)


_register_commands()


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns (and, as a console script, exits with) the exit code.

    0 success, 1 an actionable failure (one line on stderr), 2 wrong usage, 130 interrupted.
    """
    code = _run(list(argv) if argv is not None else None)
    if argv is None:
        _exit(code)
    return code


def _exit(code: int) -> None:
    """Exit the console script without tearing the interpreter down when nothing is left to do.

    Finalising a process that imported torch takes ~0.5 s on 2 cores (a quarter of a cold
    `engine query`; `python -c "import torch"` pays it too). Everything is written by now: writes are
    atomic and committed, catalogs closed, output flushed below. Not when threads are still running or
    Ray is loaded (its atexit hook stops the local cluster): then the normal exit.
    """
    import threading

    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    if threading.active_count() == 1 and "ray" not in sys.modules and not os.environ.get("ENGINE_DEBUG"):
        os._exit(code)
    sys.exit(code)


def _run(argv: list[str] | None) -> int:
    try:
        app(args=argv, prog_name="engine", standalone_mode=True)
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except EngineError as exc:
        _fail(str(exc))
        return 1
    except KeyboardInterrupt:
        _fail("interrupted; re-run the same command to finish the job")
        return 130
    except MemoryError:
        _fail("out of memory; try a smaller --batch-size")
        return 1
    except Exception as exc:  # a bug: still one line, traceback on demand
        if os.environ.get("ENGINE_DEBUG"):
            raise
        _fail(f"internal error: {type(exc).__name__}: {exc} (set ENGINE_DEBUG=1 for the traceback and report it)")
        return 1
    return 0


def _fail(message: str) -> None:
    first_line = message.strip().splitlines()[0] if message.strip() else "failed"
    sys.stderr.write(f"engine: error: {first_line}\n")
    sys.stderr.flush()


if __name__ == "__main__":
    main()
