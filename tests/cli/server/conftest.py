"""Server fixtures: one tiny indexed home per session (kit model + gallery), live servers on 127.0.0.1."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from indexer_kit import gallery, session_model
from require_kit import missing


@dataclass(frozen=True)
class Indexed:
    home: Path
    model: Path
    art: Path
    paths: dict[str, list[Path]]


@pytest.fixture(autouse=True)
def _one_torch_thread():
    """Single-image forwards gain nothing from 2 threads on a shared 2-core machine."""
    from engine.base.runtime import torch_threads

    with torch_threads(1):
        yield


@pytest.fixture(autouse=True)
def _no_internal_errors(caplog):
    """An unforeseen exception in the server answers a JSON 500 (cli.server.errors) and logs it: here it
    fails the test that caused it, whatever that test asserts of the answer."""
    yield
    internal = [r for r in caplog.get_records("call") if r.name == "cli.server.errors" and r.levelname == "ERROR"]
    assert not internal, f"the server hit an internal error: {internal[0].getMessage()}"


def index_gallery(root: Path, model: Path, **gallery_kw) -> Indexed:
    from indexer.pipeline import index_folder

    paths = gallery(root / "art", **gallery_kw)
    index_folder(root / "art", home=root / "home", model=model)
    return Indexed(root / "home", model, root / "art", paths)


@pytest.fixture(scope="session")
def make_indexed():
    """`make_indexed(root, model, **gallery_kw)`: another small indexed home (for tests that change theirs)."""
    return index_gallery


@pytest.fixture(scope="session")
def indexed(tmp_path_factory) -> Indexed:
    """3 artists x 4 paintings (48 px) indexed with the kit's calibrated 32-d model."""
    model = session_model(tmp_path_factory)
    return index_gallery(tmp_path_factory.mktemp("serve"), model, per_artist=4)


@pytest.fixture(scope="session")
def state(indexed):
    from cli.server.state import ServerState

    shared = ServerState(home=indexed.home, model=indexed.model)
    yield shared
    shared.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def live_server():
    """`with live_server(app) as url:` runs `app` with uvicorn on 127.0.0.1 in a thread."""
    return _live_server


@contextlib.contextmanager
def _live_server(app, *, timeout: float = 30.0):
    """Run `app` with uvicorn on a free 127.0.0.1 port in a thread, with the settings `engine serve` gives
    uvicorn for the app's config (timeouts, connection cap); yields the base URL."""
    import uvicorn

    from cli.server.run import uvicorn_options

    port = free_port()
    options = {**uvicorn_options(app.state.config), "log_level": "warning"}
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, **options))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the test server did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout)


CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]


@pytest.fixture(scope="module")
def browser():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        missing("playwright is not installed (pip install 'artwork-engine[test]')")
    if not CHROMIUM.is_file():
        missing(f"{CHROMIUM} is missing (apt-get install -y chromium)")
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()
