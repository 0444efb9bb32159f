"""The page's own endpoints (cli.server.page_routes) through FastAPI's TestClient."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from require_kit import require_module

MAP_EXTRA = "pip install -e '.[map]'"

require_module("fastapi")
from fastapi.testclient import TestClient  # noqa: E402

from cli.server import ServeConfig, create_app  # noqa: E402
from db.artist_info import ArtistInfo  # noqa: E402
from db.store import CatalogStore  # noqa: E402
from engine.base.home import Home  # noqa: E402


@pytest.fixture(scope="module")
def client(indexed, state):
    with TestClient(create_app(ServeConfig(home=indexed.home, model=indexed.model), state)) as c:
        yield c


def _upload(path, field="image"):
    return {field: (path.name, path.read_bytes(), "image/jpeg")}


def _ok(response) -> dict:
    assert response.status_code == 200, response.text
    return response.json()


def test_collection_names_the_model_not_a_hash(client, state):
    body = _ok(client.get("/api/collection"))
    assert body["paintings"] == 12 and body["artists"] == 3
    assert state.current().lm.fingerprint[:12] not in body["model"] and "efficientnet lite0" in body["model"]


def test_rendition_is_larger_than_a_thumbnail_and_original_only_when_asked(client, indexed, state):
    big = Image.open(io.BytesIO(_ok_bytes(client.get("/api/paintings/1/image"))))
    assert big.format == "JPEG" and max(big.size) == 48  # never upscaled past the file (48 px)
    original = client.get("/api/paintings/1/image", params={"original": "true"})
    assert original.status_code == 200
    path = state.store.views([1])[1].path
    assert original.content == open(path, "rb").read()  # the untouched file, byte for byte
    assert client.get("/api/paintings/999/image").status_code == 404


def _ok_bytes(response) -> bytes:
    assert response.status_code == 200, response.text
    return response.content


def test_an_upload_gets_a_result_id_that_shows_the_same_answer(client, indexed):
    body = _ok(client.post("/api/results", files=_upload(indexed.paths["Bob Green"][0]), params={"k": 5}))
    again = _ok(client.get(f"/api/results/{body['result_id']}"))
    assert again == body and len(body["results"][0]["matches"]) == 5
    preview = Image.open(io.BytesIO(_ok_bytes(client.get(body["images"]["query"]))))
    assert preview.size == (48, 48)
    gone = client.get("/api/results/AAAAAAAAAAAAAAAAAAAAAA")
    assert gone.status_code == 404 and "search again" in gone.json()["error"]


def test_k_beyond_the_collection_is_the_whole_collection(client, indexed):
    query = indexed.paths["Ann Red"][0]
    (result,) = _ok(client.post("/api/query", files=_upload(query), params={"k": 10000}))["results"]
    assert result["in_collection"]["artist"] == "Ann Red"  # the query is a catalogued painting: not its own match
    assert len(result["matches"]) == 11  # so the whole collection is the other 11
    assert len({m["id"] for m in result["matches"]} | {result["in_collection"]["id"]}) == 12


def test_verify_upload_and_pair_of_indexed_paintings_agree(client, indexed, state):
    a, b = indexed.paths["Ann Red"][0], indexed.paths["Ann Red"][1]
    upload = _ok(client.post("/api/results/verify", files={**_upload(a, "a"), **_upload(b, "b")}))
    ids = {v.path: v.id for v in state.store.views(state.store.ids().tolist()).values()}
    pair = _ok(client.get(f"/api/pairs/{ids[str(a)]}/{ids[str(b)]}"))
    assert pair["probability"] == pytest.approx(upload["probability"], abs=1e-4)  # stored vectors = embedding the files
    assert [p["id"] for p in pair["paintings"]] == [ids[str(a)], ids[str(b)]]
    assert _ok(client.get(f"/api/results/{upload['result_id']}"))["probability"] == upload["probability"]


def test_artist_page_with_metadata_works_by_date_and_centroid_neighbours(client, make_indexed, indexed, tmp_path):
    from indexer.collection_map import all_vectors

    copy = make_indexed(tmp_path, indexed.model, per_artist=3)
    store = CatalogStore(Home.resolve(copy.home).catalog_url, exclusive=True)
    try:
        store.save_artist_info([ArtistInfo("Ann Red", years="1800 - 1870", bio="A painter of red.", extra={"id": "7"})])
        ids = [pid for pid, l in store.labels_of().items() if l.artist == "Ann Red"]
        from db.records import Labels
        store.relabel([(ids[0], Labels("Ann Red", "late", None, None, "1850")), (ids[1], Labels("Ann Red", "early", None, None, "c. 1820"))])
        all_ids, vectors = all_vectors(store)
        labels = store.labels_of()
    finally:
        store.close()
    with TestClient(create_app(ServeConfig(home=copy.home, model=copy.model))) as c:
        page = _ok(c.get("/api/artist", params={"name": "ann red"}))
        listing = _ok(c.get("/api/artist-list"))
        assert c.get("/api/artist", params={"name": "Nobody"}).status_code == 404
    assert page["info"]["bio"] == "A painter of red." and page["info"]["extra"] == {"id": "7"}
    assert [w["title"] for w in page["works"]][:2] == ["early", "late"] and page["works"][2]["date"] is None
    assert page["works"][0]["width"] == 48
    by_artist = {a: vectors[[labels[i].artist == a for i in all_ids]].mean(axis=0) for a in ("Ann Red", "Bob Green", "Cid Blue")}
    unit = {a: v / np.linalg.norm(v) for a, v in by_artist.items()}
    want = sorted(("Bob Green", "Cid Blue"), key=lambda a: -float(unit[a] @ unit["Ann Red"]))
    assert [s["artist"] for s in page["similar"]] == want  # brute force over the stored vectors
    assert page["similar"][0]["similarity"] == pytest.approx(float(unit[want[0]] @ unit["Ann Red"]), abs=1e-4)
    row = next(r for r in listing["artists"] if r["artist"] == "Ann Red")
    assert row["years"] == "1800 - 1870" and row["paintings"] == 3 and listing["described"] == 1


def test_map_has_one_point_per_painting_and_is_cached(make_indexed, indexed, tmp_path):
    require_module("umap", MAP_EXTRA)
    copy = make_indexed(tmp_path, indexed.model, per_artist=3)
    with TestClient(create_app(ServeConfig(home=copy.home, model=copy.model))) as c:
        body = _ok(c.get("/api/map"))
    assert body["count"] == 9 and len({p["id"] for p in body["points"]}) == 9
    assert all(0 <= p["x"] <= 1 and 0 <= p["y"] <= 1 and p["artist"] for p in body["points"])
    assert list((copy.home / "cache" / "map").glob("*.json"))
