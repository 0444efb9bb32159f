"""A catalog on a PostgreSQL server that cannot be used: one line naming the URL without its password."""

from __future__ import annotations

import socket

import numpy as np
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from db.records import Labels, ModelInfo, NewPainting
from db.store import CatalogStore
from engine.base.errors import EngineError

pytestmark = pytest.mark.postgres
SECRET = "s3cret-pw"


@pytest.fixture
def server_url() -> str:
    from catalog_kit import pg_server_url

    return pg_server_url()


def _with(url: str, **parts) -> str:
    return make_url(url).set(**parts).render_as_string(hide_password=False)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _error(url: str) -> str:
    with pytest.raises(EngineError) as err:
        CatalogStore(url)
    message = str(err.value)
    assert "\n" not in message and SECRET not in message
    return message


def test_an_unreachable_server(server_url):
    url = _with(server_url, password=SECRET, host="127.0.0.1", port=_free_port())
    message = _error(url)
    assert message.startswith(f"cannot reach the catalog server of {make_url(url).render_as_string()} (")
    assert "start it, or check the host and port" in message


def test_wrong_credentials(server_url):
    message = _error(_with(server_url, username="no_such_user", password=SECRET))
    assert "refused the login" in message and 'role "no_such_user" does not exist' in message
    assert "no_such_user:***@" in message


def test_a_missing_database(server_url):
    message = _error(_with(server_url, password=SECRET, database="no_such_catalog"))
    assert message.startswith("the catalog database 'no_such_catalog' does not exist on the server of ")
    assert "createdb no_such_catalog" in message


def test_a_server_gone_mid_run_fails_in_one_line_and_keeps_what_was_committed(server_url):
    from catalog_kit import create_database, drop_database

    url = create_database(server_url)
    name = make_url(url).database
    store = CatalogStore(_with(url, password=SECRET), exclusive=True)
    vector = np.full(4, 0.5, np.float32)
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    try:
        store.bind_model(ModelInfo("a" * 64, "x", 4), versions={})
        store.add_paintings([NewPainting(f"/p/{i}.jpg", "0" * 64, 1, 1, None, None, Labels(), vector) for i in range(20)])
        with admin.connect() as conn:  # the server goes away for this database: connections cut, none accepted
            conn.execute(text(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS false'))
            conn.execute(text("SELECT pg_terminate_backend(pid, 10000) FROM pg_stat_activity WHERE datname = :d"), {"d": name})
        with pytest.raises(EngineError) as err:
            store.add_paintings([NewPainting("/p/late.jpg", "1" * 64, 1, 1, None, None, Labels(), vector)])
        message = str(err.value)
        assert message.startswith("lost the connection to the catalog postgresql+psycopg://") and SECRET not in message
        assert "nothing committed is lost" in message and "\n" not in message
    finally:
        store.close()
        with admin.connect() as conn:
            conn.execute(text(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS true'))
        admin.dispose()
    reader = CatalogStore(url, create=False)
    assert reader.count() == 20  # the batch committed before the loss, and nothing of the one after
    reader.close()
    drop_database(url)
