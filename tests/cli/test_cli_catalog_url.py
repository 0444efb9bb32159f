"""Every command that takes --db, against a SQLite file and a PostgreSQL database (`catalog_url`), through cli.app.main."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "kits"))
from indexer_kit import catalog_state, gallery, painting, session_model  # noqa: E402

from cli.app import main  # noqa: E402


@pytest.fixture(scope="module")
def model(tmp_path_factory) -> Path:
    return session_model(tmp_path_factory)


@pytest.fixture(scope="module")
def other_model(tmp_path_factory) -> Path:
    return session_model(tmp_path_factory, "other-model", seed=1)


def _run(capsys, *args) -> dict:
    code = main([*args, "--json"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    return json.loads(captured.out)


def test_index_prune_check_reindex_and_query_with_db(tmp_path, model, other_model, catalog_url, capsys, monkeypatch):
    art, home = tmp_path / "art", str(tmp_path / "home")
    gallery(art, per_artist=2)
    index = ["index", str(art), "--home", home, "--db", catalog_url, "--threads", "1"]
    assert _run(capsys, *index, "--model", str(model))["added"] == 6
    (art / "Ann Red" / "0.jpg").unlink()
    painting(art / "Ann Red" / "9.jpg", colour=(200, 40, 40), seed=9)
    pruned = _run(capsys, *index, "--model", str(model), "--prune")
    assert (pruned["added"], pruned["removed"], pruned["total"]) == (1, 1, 6)
    check = _run(capsys, *index, "--check")["check"]
    assert check["consistent"] and check["after"]["catalog_rows"] == 6
    image = str(art / "Ann Red" / "9.jpg")
    monkeypatch.setenv("ENGINE_DB_URL", catalog_url)  # the environment's URL, as --db's default
    found = _run(capsys, "query", image, "--home", home, "--model", str(model), "-k", "3")["results"][0]
    assert found["in_collection"]["path"] == str(Path(image).resolve()) and len(found["matches"]) == 3
    reindexed = _run(capsys, *index, "--model", str(other_model), "--reindex")
    assert (reindexed["embedded"], reindexed["total"]) == (6, 6)
    assert len(catalog_state(Path(home), catalog_url)) == 6


@pytest.mark.postgres
def test_a_server_gone_mid_index_is_one_line_exit_1_and_a_rerun_completes(tmp_path, model, capsys, monkeypatch):
    """The server stops accepting this database after the first commit: exit 1, one line; back up, a re-run finishes."""
    from catalog_kit import create_database, drop_database, pg_server_url
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    import db.store

    url = create_database(pg_server_url())
    name, admin = make_url(url).database, create_engine(pg_server_url(), isolation_level="AUTOCOMMIT")
    real_add = db.store.CatalogStore.add_paintings

    def add_then_lose_the_server(self, *args, **kwargs):
        ids = real_add(self, *args, **kwargs)
        with admin.connect() as conn:
            conn.execute(text(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS false'))
            conn.execute(text("SELECT pg_terminate_backend(pid, 10000) FROM pg_stat_activity WHERE datname = :d"), {"d": name})
        return ids

    art, home = tmp_path / "art", str(tmp_path / "home")
    gallery(art, per_artist=2)
    args = ["index", str(art), "--home", home, "--db", url, "--model", str(model), "--commit-every", "2", "--batch-size", "2"]
    monkeypatch.setattr(db.store.CatalogStore, "add_paintings", add_then_lose_the_server)
    try:
        assert main(args) == 1
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and err.startswith("engine: error: lost the connection to the catalog postgresql+psycopg://")
        monkeypatch.undo()
        with admin.connect() as conn:
            conn.execute(text(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS true'))
        again = _run(capsys, *args)
        assert (again["added"], again["total"]) == (4, 6)  # the 2 committed before the loss were kept
        assert len(catalog_state(Path(home), url)) == 6
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS true'))
        admin.dispose()
        drop_database(url)


@pytest.mark.postgres
def test_an_unreachable_server_is_one_line_exit_1(tmp_path, model, capsys):
    from catalog_kit import pg_server_url
    from sqlalchemy.engine import make_url

    url = make_url(pg_server_url()).set(password="hunter2", port=1).render_as_string(hide_password=False)
    (tmp_path / "art").mkdir()
    for command in (["index", str(tmp_path / "art"), "--model", str(model)], ["query", str(tmp_path / "q.jpg")]):
        assert main([*command, "--home", str(tmp_path / "home"), "--db", url]) == 1
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "cannot reach the catalog server of postgresql+psycopg://postgres:***@" in err
        assert "hunter2" not in err
