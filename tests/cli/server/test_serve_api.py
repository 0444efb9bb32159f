"""The HTTP API through FastAPI's TestClient: every endpoint, the CLI's JSON keys, every bad input."""

from __future__ import annotations

import io
import json
import shutil
import threading

from pathlib import Path

import httpx
import numpy as np
import pytest
from PIL import Image

from indexer_kit import painting
from require_kit import require_module

require_module("fastapi")
from fastapi.testclient import TestClient  # noqa: E402

from cli.server import ServeConfig, create_app  # noqa: E402
from engine.inference.verify import verify_pair  # noqa: E402
from indexer.search import query_images  # noqa: E402


@pytest.fixture(scope="module")
def client(indexed, state):
    with TestClient(create_app(ServeConfig(home=indexed.home, model=indexed.model), state)) as c:
        yield c


def _upload(path, field="image"):
    return {field: (path.name, path.read_bytes(), "image/jpeg")}


def _error(response, status: int) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"} and "\n" not in body["error"] and "Traceback" not in body["error"]
    return body["error"]


def _relative(path: str, indexed) -> str:
    """How the API shows an indexed file: relative to the indexed folder."""
    return Path(path).resolve().relative_to(indexed.art.resolve()).as_posix()


def _home_files(home):
    """{relative path: bytes} of the home, without SQLite's own -wal/-shm runtime files."""
    return {p.relative_to(home).as_posix(): p.read_bytes() for p in sorted(home.rglob("*"))
            if p.is_file() and not p.name.endswith(("-wal", "-shm"))}


def test_health(client, indexed, state):
    body = client.get("/api/health").json()
    assert body == {"status": "ok", "paintings": 12, "model": state.current().lm.fingerprint[:12], "index": "flat"}


def test_query_is_the_cli_json_plus_id_and_thumbnail(client, indexed):
    query = indexed.paths["Cid Blue"][1]
    response = client.post("/api/query", files=_upload(query), params={"k": 4})
    assert response.status_code == 200, response.text
    (got,) = response.json()["results"]
    (want,) = query_images([query], home=indexed.home, model=indexed.model, k=4)["results"]
    assert set(got) == set(want) and got["query"] == query.name
    assert got["artists"] == want["artists"] and got["in_collection"]["artist"] == "Cid Blue"  # never its own vote
    assert got["in_collection"]["path"] == _relative(str(query.resolve()), indexed)
    assert [m["path"] for m in got["matches"]] == [_relative(m["path"], indexed) for m in want["matches"]]
    np.testing.assert_allclose([m["similarity"] for m in got["matches"]], [m["similarity"] for m in want["matches"]], atol=1e-5)
    for match, cli in zip(got["matches"], want["matches"]):
        assert set(match) == set(cli) | {"id", "thumbnail"}
        assert match["thumbnail"] == f"/api/paintings/{match['id']}/thumbnail"
        assert client.get(f"/api/paintings/{match['id']}").json()["artist"] == match["artist"]


def test_query_filters(client, indexed):
    query = indexed.paths["Ann Red"][0]
    (result,) = client.post("/api/query", files=_upload(query), params={"k": 3, "artist": "bob GREEN"}).json()["results"]
    assert [m["artist"] for m in result["matches"]] == ["Bob Green"] * 3
    message = _error(client.post("/api/query", files=_upload(query), params={"style": "Cubism"}), 400)
    assert "no indexed painting matches" in message
    message = _error(client.post("/api/query", files=_upload(query), params={"artist": "Bob Gren"}), 400)
    assert "did you mean 'Bob Green'" in message


def test_query_default_k_is_clamped_to_the_index(client, indexed):
    (result,) = client.post("/api/query", files=_upload(indexed.paths["Bob Green"][0])).json()["results"]
    assert len(result["matches"]) == 10


@pytest.mark.parametrize("k, status, words", [(0, 422, "bad 'k'"), ("abc", 422, "bad 'k'"), (-3, 422, "bad 'k'")])
def test_query_bad_k(client, indexed, k, status, words):
    assert words in _error(client.post("/api/query", files=_upload(indexed.paths["Ann Red"][0]), params={"k": k}), status)


def test_query_k_beyond_the_index_is_clamped(client, indexed):
    response = client.post("/api/query", files=_upload(indexed.paths["Ann Red"][0]), params={"k": 13})
    assert response.status_code == 200, response.text
    (result,) = response.json()["results"]
    assert len(result["matches"]) == 11  # all 12 paintings less the query itself, reported as in_collection
    assert result["in_collection"]["path"].endswith("0.jpg") and result["in_collection"]["artist"] == "Ann Red"


def test_query_missing_or_wrong_field(client, indexed):
    assert "missing field 'image'" in _error(client.post("/api/query"), 422)
    assert "missing field 'image'" in _error(client.post("/api/query", files=_upload(indexed.paths["Ann Red"][0], "picture")), 422)
    assert "must be a file upload" in _error(client.post("/api/query", data={"image": "not a file"}), 422)


def test_query_bad_images(client, tmp_path, indexed):
    assert "is not an image" in _error(client.post("/api/query", files={"image": ("x.jpg", b"plain text, no pixels", "image/jpeg")}), 415)
    assert "is empty" in _error(client.post("/api/query", files={"image": ("x.jpg", b"", "image/jpeg")}), 400)
    whole = painting(tmp_path / "big.jpg", colour=(90, 90, 90), seed=3, size=256).read_bytes()
    assert "truncated" in _error(client.post("/api/query", files={"image": ("cut.jpg", whole[: len(whole) // 2], "image/jpeg")}), 400)


def test_query_decompression_bomb_is_refused_before_decoding(client):
    bomb = io.BytesIO()
    Image.new("1", (16_384, 16_384)).save(bomb, format="PNG")  # 268 MP of zeros, ~30 kB on the wire
    assert len(bomb.getvalue()) < 200_000
    message = _error(client.post("/api/query", files={"image": ("bomb.png", bomb.getvalue(), "image/png")}), 413)
    assert "--max-pixels" in message and "16384x16384" in message


def test_upload_limits(indexed, state, tmp_path):
    config = ServeConfig(home=indexed.home, model=indexed.model, max_upload_mb=0.01)  # 10 kB per image
    small = painting(tmp_path / "small.png", colour=(200, 40, 40), seed=1, size=24, fmt="PNG")
    medium = painting(tmp_path / "medium.png", colour=(200, 40, 40), seed=1, size=160, fmt="PNG")  # ~75 kB: the per-file check
    with TestClient(create_app(config, state)) as c:
        assert c.post("/api/query", files=_upload(small), params={"k": 1}).status_code == 200
        assert "max-upload-mb" in _error(c.post("/api/query", files=_upload(medium)), 413)
        huge = b"\xff" * (3 << 20)  # over the whole-body limit: refused from Content-Length, before parsing
        assert "max-upload-mb" in _error(c.post("/api/query", files={"image": ("huge.jpg", huge, "image/jpeg")}), 413)
        assert "max-upload-mb" in _error(c.post("/api/verify", files={**_upload(small, "a"), **_upload(medium, "b")}), 413)
        chunked = c.post("/api/query", content=_multipart_stream(b"\xff" * (3 << 20)),
                         headers={"content-type": "multipart/form-data; boundary=XyZ"})
        assert chunked.request.headers.get("transfer-encoding") == "chunked"  # no Content-Length: cut off while streaming
        assert "max-upload-mb" in _error(chunked, 413)
        assert c.post("/api/query", content=_multipart_stream(small.read_bytes()), params={"k": 1},
                      headers={"content-type": "multipart/form-data; boundary=XyZ"}).status_code == 200


def _multipart_stream(payload: bytes):
    yield b'--XyZ\r\nContent-Disposition: form-data; name="image"; filename="x.png"\r\nContent-Type: image/png\r\n\r\n'
    for start in range(0, len(payload), 65536):
        yield payload[start : start + 65536]
    yield b"\r\n--XyZ--\r\n"


def test_verify_is_the_cli_json(client, indexed):
    a, b = indexed.paths["Ann Red"][0], indexed.paths["Ann Red"][2]
    response = client.post("/api/verify", files={**_upload(a, "a"), **_upload(b, "b")})
    assert response.status_code == 200, response.text
    cli = verify_pair(a, b, home=indexed.home, model=indexed.model)
    cli_model = cli.pop("model_used")  # names a file on the server's machine: the API leaves the path out
    got = response.json()
    assert got.pop("model_used") == {k: v for k, v in cli_model.items() if k != "path"} and got == cli
    other = client.post("/api/verify", files={**_upload(a, "a"), **_upload(indexed.paths["Cid Blue"][0], "b")}).json()
    assert other["similarity"] < response.json()["similarity"]


def test_verify_and_query_explained(client, indexed):
    """?explain=1: each painting's map as a grid of numbers and the drawing as a PNG data URL."""
    import base64

    from engine.inference.explain import EXACT, GRADIENT

    a, b = indexed.paths["Ann Red"][0], indexed.paths["Bob Green"][1]
    answer = client.post("/api/verify", files={**_upload(a, "a"), **_upload(b, "b")}, params={"explain": 1}).json()
    explanation = answer["explanation"]
    assert explanation["method"] in (EXACT, GRADIENT) and len(explanation["maps"]) == 2
    assert all(len(row) == len(explanation["maps"][0][0]) for grid in explanation["maps"] for row in grid)
    prefix = "data:image/png;base64,"
    assert explanation["png"].startswith(prefix)
    assert Image.open(io.BytesIO(base64.b64decode(explanation["png"][len(prefix):]))).format == "PNG"
    (result,) = client.post("/api/query", files=_upload(a), params={"k": 3, "explain": 1}).json()["results"]
    assert [e["id"] for e in result["explained"]] == [m["id"] for m in result["matches"]]
    assert "explained" not in client.post("/api/query", files=_upload(a), params={"k": 3}).json()["results"][0]


def test_verify_bad_input(client, indexed):
    a = indexed.paths["Ann Red"][0]
    assert "missing field 'b'" in _error(client.post("/api/verify", files=_upload(a, "a")), 422)
    message = _error(client.post("/api/verify", files={**_upload(a, "a"), "b": ("b.jpg", b"nope", "image/jpeg")}), 415)
    assert "'b'" in message


def test_verify_needs_a_calibrated_model(make_indexed, tmp_path_factory):
    from indexer_kit import session_model

    from cli.server.state import ServerState

    raw = session_model(tmp_path_factory, "uncalibrated", calibrated=False)
    other = make_indexed(tmp_path_factory.mktemp("raw"), raw, per_artist=2, artists=("Ann Red", "Bob Green"))
    state = ServerState(home=other.home, model=raw)
    try:
        with TestClient(create_app(ServeConfig(home=other.home), state)) as c:
            a = other.paths["Ann Red"][0]
            assert "engine calibrate" in _error(c.post("/api/verify", files={**_upload(a, "a"), **_upload(a, "b")}), 400)
            assert c.post("/api/query", files=_upload(a), params={"k": 1}).status_code == 200  # queries need no calibration
    finally:
        state.close()


def test_painting_row(client, indexed):
    query = indexed.paths["Bob Green"][2]
    (result,) = client.post("/api/query", files=_upload(query), params={"k": 1}).json()["results"]
    row = client.get(f"/api/paintings/{result['in_collection']['id']}").json()
    assert row["artist"] == "Bob Green" and row["path"] == "Bob Green/2.jpg"
    assert (row["width"], row["height"], row["bytes"]) == (48, 48, query.stat().st_size)
    assert set(row) >= {"id", "artist", "title", "style", "date", "width", "height", "path", "thumbnail"}


@pytest.mark.parametrize("path, status", [("/api/paintings/999999", 404), ("/api/paintings/abc", 422),
                                          ("/api/paintings/-1", 422), ("/api/paintings/999999/thumbnail", 404),
                                          ("/api/paintings/999999/similar", 404),
                                          ("/api/paintings/..%2F..%2Fetc%2Fpasswd/thumbnail", 404)])
def test_unknown_or_malformed_ids(client, path, status):
    _error(client.get(path), status)


def test_thumbnail_is_a_cached_jpeg(client, indexed):
    pid = client.post("/api/query", files=_upload(indexed.paths["Cid Blue"][3]), params={"k": 1}).json()["results"][0]["in_collection"]["id"]
    response = client.get(f"/api/paintings/{pid}/thumbnail", params={"size": 100})
    assert response.status_code == 200 and response.headers["content-type"] == "image/jpeg"
    image = Image.open(io.BytesIO(response.content))
    assert image.format == "JPEG" and image.size == (48, 48)  # never enlarged
    cached = list((indexed.home / "cache" / "thumbnails").rglob(f"{pid}-128.jpg"))  # 100 snaps up to 128
    assert len(cached) == 1 and cached[0].read_bytes() == response.content
    stamp = cached[0].stat().st_mtime_ns
    assert client.get(f"/api/paintings/{pid}/thumbnail", params={"size": 128}).content == response.content
    assert cached[0].stat().st_mtime_ns == stamp
    assert "bad 'size'" in _error(client.get(f"/api/paintings/{pid}/thumbnail", params={"size": 8}), 422)


def test_thumbnail_of_a_file_gone_from_disk(indexed, make_indexed, tmp_path_factory):
    """A deleted file answers 404 naming the fix (a fresh home so the shared one stays intact)."""
    from cli.server.state import ServerState

    other = make_indexed(tmp_path_factory.mktemp("gone"), indexed.model, per_artist=2, artists=("Ann Red", "Bob Green"))
    state = ServerState(home=other.home, model=other.model)
    try:
        with TestClient(create_app(ServeConfig(home=other.home), state)) as c:
            pid = c.post("/api/query", files=_upload(other.paths["Ann Red"][0]), params={"k": 1}).json()["results"][0]["in_collection"]["id"]
            other.paths["Ann Red"][0].unlink()
            assert "re-run `engine index`" in _error(c.get(f"/api/paintings/{pid}/thumbnail"), 404)
    finally:
        state.close()


def test_similar_searches_from_the_stored_vector(client, indexed):
    pid = client.post("/api/query", files=_upload(indexed.paths["Ann Red"][1]), params={"k": 1}).json()["results"][0]["in_collection"]["id"]
    (result,) = client.get(f"/api/paintings/{pid}/similar", params={"k": 3}).json()["results"]
    assert result["in_collection"]["id"] == pid and result["in_collection"]["artist"] == "Ann Red"
    assert pid not in [m["id"] for m in result["matches"]] and len(result["matches"]) == 3  # it never votes for itself


def test_artists_with_counts(client):
    assert client.get("/api/artists").json() == {"artists": [{"artist": a, "paintings": 4} for a in ("Ann Red", "Bob Green", "Cid Blue")]}


def test_docs_page_and_unknown_routes(client):
    docs = client.get("/docs")
    assert docs.status_code == 200 and "swagger-ui" in docs.text
    assert "cdn" not in docs.text.lower() and "https://" not in docs.text  # Swagger UI served offline, by the package
    assert client.get("/docs-assets/swagger-ui-bundle.js").status_code == 200
    paths = set(client.get("/openapi.json").json()["paths"])
    assert {"/api/health", "/api/query", "/api/verify", "/api/artists", "/api/paintings/{painting_id}",
            "/api/paintings/{painting_id}/thumbnail"} <= paths
    page = client.get("/")
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    assert "http://" not in page.text and "https://" not in page.text  # nothing from a CDN
    for asset in ("/static/app.js", "/static/style.css"):
        text = client.get(asset).text
        assert "http://" not in text and "https://" not in text and "@import" not in text
    assert "no such endpoint" in _error(client.get("/api/nothing"), 404)
    assert "not allowed" in _error(client.get("/api/query"), 405)


def test_cors_is_off(client):
    response = client.get("/api/health", headers={"Origin": "http://elsewhere.example"})
    assert "access-control-allow-origin" not in response.headers


def test_token_guards_every_api_call(indexed, state):
    config = ServeConfig(home=indexed.home, host="0.0.0.0", token="s3cret-s3cret-s3cret")
    with TestClient(create_app(config, state)) as c:
        for call in (lambda h: c.get("/api/health", headers=h), lambda h: c.get("/api/artists", headers=h),
                     lambda h: c.post("/api/query", files=_upload(indexed.paths["Ann Red"][0]), headers=h),
                     lambda h: c.get("/api/paintings/1", headers=h), lambda h: c.get("/api/paintings/1/thumbnail", headers=h)):
            assert "Bearer" in _error(call({}), 401)
            _error(call({"Authorization": "Bearer wrong"}), 401)
            _error(call({"Authorization": "Bearer s3cret"}), 401)  # a prefix of the token is no token
            assert call({"Authorization": "Bearer s3cret-s3cret-s3cret"}).status_code in (200, 404)
        assert c.get("/").status_code == 200  # the page itself asks for the token


def test_requests_write_nothing_but_thumbnails(client, indexed):
    shutil.rmtree(indexed.home / "cache" / "thumbnails", ignore_errors=True)  # made by earlier tests of the session
    before = _home_files(indexed.home)
    query = indexed.paths["Ann Red"][3]
    (result,) = client.post("/api/query", files=_upload(query), params={"k": 5}).json()["results"]
    client.post("/api/verify", files={**_upload(query, "a"), **_upload(query, "b")})
    client.post("/api/query", files={"image": ("x.jpg", b"bad", "image/jpeg")})
    client.get("/api/artists"), client.get("/api/health"), client.get(f"/api/paintings/{result['matches'][0]['id']}")
    for match in result["matches"]:
        assert client.get(match["thumbnail"]).status_code == 200
    after = _home_files(indexed.home)
    changed = {p for p in set(before) | set(after) if before.get(p) != after.get(p)}
    assert changed and all(p.startswith("cache/thumbnails/") for p in changed), changed


def test_pool_is_sized_to_the_cores(client):
    import torch

    from engine.base.runtime import cpu_cores

    pool = client.app.state.pool
    assert pool._max_workers == cpu_cores()
    threads = {pool.submit(torch.get_num_threads).result() for _ in range(4)}
    assert threads == {max(1, cpu_cores() // pool._max_workers)}  # one single-thread forward per core


def test_concurrent_queries_over_http(indexed, state, live_server):
    """8 threads query a real uvicorn server at once: every answer is right and identical per image."""
    app = create_app(ServeConfig(home=indexed.home, model=indexed.model), state)
    images = [indexed.paths[a][i] for a in ("Ann Red", "Cid Blue") for i in (0, 1)]
    answers, failures = {}, []

    def client_thread(n: int) -> None:
        try:
            with httpx.Client(base_url=url, timeout=60) as http:
                for image in images:
                    r = http.post("/api/query", files=_upload(image), params={"k": 3})
                    r.raise_for_status()
                    answers.setdefault(image, []).append(json.dumps(r.json(), sort_keys=True))
        except Exception as exc:  # reported in the main thread
            failures.append(exc)

    with live_server(app) as url:
        threads = [threading.Thread(target=client_thread, args=(n,)) for n in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert not failures, failures
    for image, texts in answers.items():
        assert len(texts) == 8 and len(set(texts)) == 1
        assert json.loads(texts[0])["results"][0]["in_collection"]["path"] == _relative(str(image), indexed)


def test_index_run_while_serving(indexed, make_indexed, tmp_path_factory):
    """`engine index` adds paintings while queries run: none fails, and the next query sees them (no restart)."""
    from cli.server.state import ServerState
    from indexer.config import IndexConfig
    from indexer.pipeline import index_folder
    from indexer_kit import gallery

    served = make_indexed(tmp_path_factory.mktemp("grow"), indexed.model, per_artist=2, artists=("Ann Red", "Bob Green"))
    state = ServerState(home=served.home, model=served.model)
    new = gallery(served.art, per_artist=3, artists=("Ann Red", "Bob Green", "Cid Blue"), seed=50)
    statuses, done = [], threading.Event()

    def index_more() -> None:
        try:
            index_folder(served.art, home=served.home, model=served.model, config=IndexConfig(commit_every=2))
        finally:
            done.set()

    try:
        with TestClient(create_app(ServeConfig(home=served.home), state)) as c:
            assert c.get("/api/health").json()["paintings"] == 4
            indexer = threading.Thread(target=index_more)
            indexer.start()
            while not done.is_set() or not statuses:
                r = c.post("/api/query", files=_upload(served.paths["Ann Red"][0]), params={"k": 2})
                statuses.append((r.status_code, r.text[:200]))
            indexer.join()
            assert len(statuses) >= 2 and all(code == 200 for code, _ in statuses), statuses
            assert c.get("/api/health").json()["paintings"] == 9  # 3 x 3 files: four of them re-painted, five new
            added = new["Cid Blue"][2]
            (result,) = c.post("/api/query", files=_upload(added), params={"k": 1}).json()["results"]
            assert result["in_collection"]["path"] == _relative(str(added), served)
            assert {a["artist"] for a in c.get("/api/artists").json()["artists"]} == {"Ann Red", "Bob Green", "Cid Blue"}
    finally:
        state.close()



@pytest.mark.slow
def test_engine_serve_process(indexed):
    """`engine serve` as users start it: a real process that answers over HTTP, then stops cleanly on SIGINT."""
    import os
    import signal
    import socket
    import subprocess
    import sys
    import time
    from pathlib import Path

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    repo = Path(__file__).resolve().parents[3]
    argv = [sys.executable, "-m", "cli", "serve", "--home", str(indexed.home), "--model", str(indexed.model), "--port", str(port)]
    proc = subprocess.Popen(argv, cwd=repo, env={**os.environ, "PYTHONPATH": str(repo)}, stderr=subprocess.PIPE, text=True)
    try:
        deadline, health = time.monotonic() + 120, None
        while health is None and proc.poll() is None and time.monotonic() < deadline:
            try:
                health = httpx.get(f"http://127.0.0.1:{port}/api/health", timeout=5).json()
            except httpx.TransportError:
                time.sleep(0.2)
        assert health is not None and health["paintings"] == 12, proc.stderr.read() if proc.poll() is not None else "no answer"
        answer = httpx.post(f"http://127.0.0.1:{port}/api/query", files=_upload(indexed.paths["Bob Green"][1]), params={"k": 2}, timeout=60)
        assert answer.json()["results"][0]["in_collection"]["artist"] == "Bob Green"
    finally:
        proc.send_signal(signal.SIGINT)
        code = proc.wait(60)
    assert code == 0
