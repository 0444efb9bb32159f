"""db.artist_info: artist metadata beside the paintings (on SQLite and PostgreSQL)."""

from __future__ import annotations

from sqlalchemy import create_engine, inspect

from db.artist_info import ArtistInfo, TABLE
from db.records import ModelInfo
from db.store import CatalogStore

MODEL = ModelInfo("a" * 64, "efficientnet_lite0", 4, "/models/a/model.pt")


def test_round_trip_replace_by_name_and_extra_columns_kept(catalog_url):
    store = CatalogStore(catalog_url)
    try:
        store.bind_model(MODEL, versions={})
        assert store.artist_info() == {}  # a catalogue without the table reads as no metadata
        first = ArtistInfo("Ann Red", years="1850 - 1920", nationality="Italian", movement="Baroque",
                           bio="Painted red, mostly.", link="http://example.org/ann", extra={"id": "0", "paintings": "4"})
        assert store.save_artist_info([first, ArtistInfo("Bob Green", bio="Green.")]) == 2
        got = store.artist_info()
        assert got["Ann Red"] == first and got["Bob Green"] == ArtistInfo("Bob Green", bio="Green.")
        store.save_artist_info([ArtistInfo("Ann Red", years="1851 - 1921")])  # loaded again: replaced, not added
        got = store.artist_info()
        assert len(got) == 2 and got["Ann Red"] == ArtistInfo("Ann Red", years="1851 - 1921")
    finally:
        store.close()


def test_a_reader_never_creates_the_table(tmp_path):
    url = f"sqlite:///{tmp_path / 'catalog.sqlite'}"
    store = CatalogStore(url)
    store.bind_model(MODEL, versions={})
    store.close()
    reader = CatalogStore(url, create=False)
    try:
        assert reader.artist_info() == {}
    finally:
        reader.close()
    assert TABLE.name not in inspect(create_engine(url)).get_table_names()
