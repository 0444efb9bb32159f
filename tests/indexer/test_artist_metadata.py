"""indexer.artist_metadata: Painter by Numbers' artists.csv into the catalogue, every extra column kept."""

from __future__ import annotations

import pytest

from db.artist_info import ArtistInfo
from db.store import CatalogStore
from engine.base.errors import EngineError
from engine.base.home import Home
from indexer.artist_metadata import load_artist_metadata, read_artists_csv
from indexer.pipeline import index_folder

PBN = ("\ufeffid,name,years,genre,nationality,bio,wikipedia,paintings\n"
       '0,Ann Red,1850 - 1920,Baroque,Italian,"Painted red, mostly;\nand ""well"".",http://en.wikipedia.org/wiki/Red,4\n'
       "1,Bob Green,1860 - 1930,Impressionism,French,A green painter.,http://en.wikipedia.org/wiki/Green,4\n"
       "2,,1700,,,,,0\n"  # no name: skipped
       "3,Zed Nobody,1900,,,,,1\n")


def test_painter_by_numbers_columns_and_extras(tmp_path):
    path = tmp_path / "artists.csv"
    path.write_text(PBN, encoding="utf-8")
    rows = read_artists_csv(path)
    assert [r.name for r in rows] == ["Ann Red", "Bob Green", "Zed Nobody"]
    assert rows[0] == ArtistInfo("Ann Red", years="1850 - 1920", nationality="Italian", movement="Baroque",
                                 bio='Painted red, mostly;\nand "well".', link="http://en.wikipedia.org/wiki/Red",
                                 extra={"id": "0", "paintings": "4"})


def test_other_names_for_the_columns(tmp_path):
    path = tmp_path / "mine.csv"
    path.write_text("artist,movement,biography,link,school\nAnn Red,Baroque,Red.,http://x,Venice\n", encoding="utf-8")
    assert read_artists_csv(path) == [ArtistInfo("Ann Red", movement="Baroque", bio="Red.", link="http://x", extra={"school": "Venice"})]


@pytest.mark.parametrize("text, message", [
    ("title,years\nA,1900\n", "no 'name' column"),
    (b"\xff\xfe\x00n", "not UTF-8"),
])
def test_bad_files_are_one_line_errors(tmp_path, text, message):
    path = tmp_path / "artists.csv"
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    with pytest.raises(EngineError, match=message):
        read_artists_csv(path)
    with pytest.raises(EngineError, match="not found"):
        read_artists_csv(tmp_path / "absent.csv")
    with pytest.raises(EngineError, match="is a folder"):
        read_artists_csv(tmp_path)


def test_load_matches_indexed_artists_by_name(tmp_path, art, tiny_model):
    index_folder(art, home=tmp_path / "home", model=tiny_model)
    path = tmp_path / "artists.csv"
    path.write_text(PBN, encoding="utf-8")
    result = load_artist_metadata(path, home=tmp_path / "home")
    assert result == {"artists_loaded": 3, "artists_with_paintings": 2, "unmatched": ["Zed Nobody"]}
    store = CatalogStore(Home.resolve(tmp_path / "home").catalog_url, create=False)
    try:
        assert store.artist_info()["Bob Green"].nationality == "French"
    finally:
        store.close()
