"""The page as an art historian uses it, in Debian's Chromium (Playwright), one test per item of issue 26.

The collection: 3 artists x 4 paintings of different shapes (landscape, portrait, square, wide; larger
than a thumbnail), labelled with styles and dates, with artists.csv metadata. The page runs under a
strict Content-Security-Policy (nothing inline, nothing but this server) and may fetch nothing else.
ENGINE_PAGE_SCREENSHOTS=DIR with ENGINE_PAGE_SCREENSHOT_HOME=HOME saves the README's screenshots.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import numpy as np
import pytest
from PIL import Image

from cli.server import ServeConfig, create_app
from indexer_kit import COLOURS
from require_kit import require_module

pytestmark = pytest.mark.browser

SHAPES = [(600, 400), (300, 450), (420, 420), (640, 300)]  # (width, height): every tile keeps its file's ratio
STYLES = {"Ann Red": "Baroque", "Bob Green": "Impressionism", "Cid Blue": "Cubism"}
MAP_EXTRA = "pip install -e '.[map]'"  # the map lays 12 paintings out with UMAP
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' blob:; connect-src 'self'; "
       "object-src 'none'; base-uri 'none'; frame-ancestors 'none'")


def _painting(path: Path, colour, seed: int, size: tuple[int, int]) -> Path:
    rng = np.random.default_rng(seed)
    w, h = size
    arr = np.array(colour, np.float64) + rng.normal(0, 30, (h, w, 3))
    arr = arr + (np.sin(np.arange(w) / (2 + seed % 5)) * 40)[None, :, None]
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8), "RGB").save(path, quality=90)
    return path


@pytest.fixture(scope="module")
def collection(tmp_path_factory, indexed):
    """An indexed home of shaped, labelled paintings with artists.csv loaded; {"home", "model", "files": {name: (w, h)}}."""
    from indexer.artist_metadata import load_artist_metadata
    from indexer.pipeline import index_folder

    root = tmp_path_factory.mktemp("page")
    files, rows = {}, []
    for a, (artist, colour) in enumerate(COLOURS.items()):
        for i, size in enumerate(SHAPES):
            path = _painting(root / "art" / f"{artist.split()[0].lower()}_{i}.jpg", colour, 100 * a + i, size)
            files[path.name] = size
            rows.append({"filename": path.name, "artist": artist, "title": f"{artist} no. {i}", "style": STYLES[artist],
                         "genre": "", "date": "" if i == 3 else str(1880 + (7 * i) % 5 + a)})
    with open(root / "train_info.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    with open(root / "artists.csv", "w", newline="") as f:
        f.write("id,name,years,genre,nationality,bio,wikipedia,paintings\n")
        f.write('0,Ann Red,1850 - 1920,Baroque,Italian,"Ann Red painted red, mostly.",http://en.wikipedia.org/wiki/Red,4\n')
        f.write("1,Bob Green,1860 - 1930,Impressionism,French,A green painter.,http://en.wikipedia.org/wiki/Green,4\n")
    index_folder(root / "art", home=root / "home", model=indexed.model, labels=root / "train_info.csv")
    load_artist_metadata(root / "artists.csv", home=root / "home")
    return {"home": root / "home", "model": indexed.model, "files": files, "root": root}


@pytest.fixture(scope="module")
def url(collection, live_server):
    app = create_app(ServeConfig(home=collection["home"], model=collection["model"]))

    @app.middleware("http")
    async def strict_csp(request, call_next):  # what the [hardening] issue sends: the page must work under it
        response = await call_next(request)
        response.headers["Content-Security-Policy"] = CSP
        return response

    with live_server(app) as base:
        yield base


@pytest.fixture
def page(browser, url):
    """A fresh tab; afterwards: no CSP violation, no page error, no request beyond this server."""
    context = browser.new_context(viewport={"width": 1200, "height": 900}, accept_downloads=True)
    tab = context.new_page()
    problems: list[str] = []
    tab.on("console", lambda m: problems.append(m.text) if m.type == "error" and "Content Security Policy" in m.text else None)
    tab.on("pageerror", lambda e: problems.append(str(e)))
    tab.on("request", lambda r: problems.append(r.url) if not r.url.startswith((url, "blob:", "data:")) else None)
    yield tab
    context.close()
    assert not problems, problems


def _until(page, js: str, timeout: float = 60.0) -> None:
    """Poll `js` (an expression) until truthy; wait_for_function would compile it with eval, which the CSP forbids."""
    import time

    deadline = time.monotonic() + timeout
    while not page.evaluate(f"() => Boolean({js})"):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {js}")
        page.wait_for_timeout(50)


def _query(page) -> dict:
    parsed = urlparse(page.url)
    return {k: v[0] for k, v in parse_qs(parsed.query).items()}


def _searches(page) -> int:
    return int(page.get_attribute("#results", "data-searches") or 0)


def _wait_search(page, before: int) -> None:
    _until(page, f"Number(document.querySelector('#results').dataset.searches || 0) > {before}")


def _upload(page, path: Path) -> None:
    before = _searches(page)
    page.set_input_files("#query-file", str(path))
    _wait_search(page, before)


def _ratios(page, selector: str) -> list[dict]:
    return page.eval_on_selector_all(selector, """imgs => imgs.map(i => ({w: i.naturalWidth, h: i.naturalHeight,
        shown: i.getBoundingClientRect().width / i.getBoundingClientRect().height, alt: i.closest('[data-id]')?.dataset.id}))""")


def _open(page, url: str, wait: str = "#health:not(:empty)") -> None:
    page.goto(url)
    page.wait_for_selector(wait)


def _ids(collection) -> dict[str, int]:
    from db.store import CatalogStore
    from engine.base.home import Home

    store = CatalogStore(Home.resolve(collection["home"]).catalog_url, create=False)
    try:
        return {Path(v.path).name: v.id for v in store.views(store.ids().tolist()).values()}
    finally:
        store.close()


def _expected_thumb(size: tuple[int, int], box: int) -> tuple[int, int]:
    w, h = size
    if max(w, h) <= box:
        return w, h
    scale = box / max(w, h)
    return max(1, round(w * scale)), max(1, round(h * scale))


def test_paintings_first_grid_keeps_shapes_and_viewer_zooms(page, url, collection):
    art = collection["root"] / "art"
    ids = {v: k for k, v in _ids(collection).items()}
    _open(page, url)
    _upload(page, art / "ann_0.jpg")
    tiles = _ratios(page, "#results-grid img")
    assert len(tiles) == 11  # the 12 paintings less the query itself (in_collection, not its own match)
    assert "ann_0.jpg" not in {ids[int(tile["alt"])] for tile in tiles}
    for tile in tiles:
        w, h = collection["files"][ids[int(tile["alt"])]]
        assert abs(tile["shown"] - w / h) / (w / h) < 0.02, tile  # the painting's shape, not a square crop
        assert abs(tile["w"] / tile["h"] - w / h) / (w / h) < 0.02
        assert (tile["w"], tile["h"]) == pytest.approx(_expected_thumb((w, h), 256), abs=1)

    page.click("#results-grid li:nth-child(2) button")
    page.wait_for_selector("#viewer[data-loaded]")
    opened = int(_query(page)["open"])
    w, h = collection["files"][ids[opened]]
    big = page.eval_on_selector("#viewer-image", "i => [i.naturalWidth, i.naturalHeight]")
    assert big == [w, h]  # the large rendition: the file's own size here (<= 2048 px), larger than the 256 px thumbnail
    assert page.get_attribute("#viewer-image", "src").endswith("/image?size=2048")  # a rendition, not ?original
    assert f"{w} × {h} px" in page.inner_text("#viewer-row") and page.inner_text("#viewer-artists li:first-child .name")

    page.keyboard.press("+")
    page.keyboard.press("+")
    assert float(page.get_attribute("#viewer-stage", "data-scale")) > 1.5
    before = page.eval_on_selector("#viewer-image", "i => i.style.transform")
    page.keyboard.press("ArrowLeft")
    assert page.eval_on_selector("#viewer-image", "i => i.style.transform") != before
    page.keyboard.press("0")
    assert page.get_attribute("#viewer-stage", "data-scale") == "1.000"
    box = page.locator("#viewer-stage").bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.wheel(0, -300)  # the mouse wheel zooms
    _until(page, "Number(document.querySelector('#viewer-stage').dataset.scale) > 1")
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] / 2 + 80, box["y"] + box["height"] / 2 + 40, steps=4)
    page.mouse.up()  # dragging pans
    assert "translate(0px, 0px)" not in page.eval_on_selector("#viewer-image", "i => i.style.transform")

    before = _searches(page)
    page.click("#viewer-similar")
    _wait_search(page, before)
    assert _query(page)["painting"] == str(opened) and not {"open", "result"} & set(_query(page))
    # the opened painting is in the collection, so it is not its own match: the first is the nearest other one
    assert str(opened) not in {tile["alt"] for tile in _ratios(page, "#results-grid img")}
    assert page.inner_text("#results-grid li:first-child .sim") != "similarity 1.000"
    assert not page.evaluate("document.querySelector('#viewer').open")

    page.set_viewport_size({"width": 390, "height": 844})  # a phone: pinch with two fingers
    page.click("#results-grid li:nth-child(3) button")
    page.wait_for_selector("#viewer[data-loaded]")
    page.evaluate(PINCH_JS)
    assert float(page.get_attribute("#viewer-stage", "data-scale")) > 1.5
    stage = page.locator("#viewer-stage").bounding_box()
    assert stage["width"] <= 390 and page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    page.keyboard.press("Escape")
    _until(page, "!document.querySelector('#viewer').open")
    assert "open" not in _query(page)


PINCH_JS = """() => {
  const stage = document.querySelector('#viewer-stage');
  const r = stage.getBoundingClientRect(), cx = r.left + r.width / 2, cy = r.top + r.height / 2;
  const fire = (type, id, x) => stage.dispatchEvent(new PointerEvent(type, {pointerId: id, pointerType: 'touch', clientX: x, clientY: cy, bubbles: true, isPrimary: id === 1}));
  fire('pointerdown', 1, cx - 20); fire('pointerdown', 2, cx + 20);
  for (let d = 20; d <= 80; d += 10) { fire('pointermove', 1, cx - d); fire('pointermove', 2, cx + d); }
  fire('pointerup', 1, cx - 80); fire('pointerup', 2, cx + 80);
}"""


def test_verify_shows_both_paintings_the_probability_and_a_decision(page, url, collection):
    import httpx

    ids = _ids(collection)
    a, b = ids["ann_0.jpg"], ids["bob_1.jpg"]
    _open(page, url)
    page.click("#tab-verify")
    page.fill("#pair-a", str(a))
    page.fill("#pair-b", str(b))
    page.click("#pair-form button")
    page.wait_for_selector("#verify-result[data-drawn]")
    assert _query(page) == {"view": "verify", "pair": f"{a},{b}"}
    api = httpx.get(f"{url}/api/pairs/{a}/{b}").json()
    shown = page.eval_on_selector_all(".side-by-side img:not(.explain)", "imgs => imgs.map(i => [i.naturalWidth, i.naturalHeight])")
    for got, name in zip(shown, ("ann_0.jpg", "bob_1.jpg")):
        assert got == pytest.approx(list(_expected_thumb(collection["files"][name], 512)), abs=1)
    p = api["probability"]
    want = "same" if p >= 2 / 3 else "different" if p <= 1 / 3 else "uncertain"
    assert page.get_attribute("#verdict", "data-decision") == want
    assert page.inner_text("#verify-bars .value") == f"{int(np.floor(100 * p + 0.5))}%"
    assert page.is_hidden("#overlay-toggle")  # no explanation maps from this server: no toggle

    # The [answers] fields, when the server sends them: its decision wins, no bold verdict when uncertain, maps on demand.
    def with_answers(route):
        body = route.fetch().json()
        body.update(decision="uncertain", probability=0.81, explain={"a": f"/api/paintings/{a}/thumbnail", "b": f"/api/paintings/{b}/thumbnail"})
        route.fulfill(json=body)

    page.route(re.compile(r".*/api/pairs/\d+/\d+$"), with_answers)
    page.goto(f"{url}/?view=verify&pair={b},{a}")
    page.wait_for_selector("#verify-result[data-drawn]")
    assert page.inner_text("#verdict").startswith("Uncertain")
    assert int(page.eval_on_selector("#verdict", "v => getComputedStyle(v).fontWeight")) < 600
    page.click("#overlay-toggle")
    assert page.is_visible("#explain-a") and page.is_visible("#explain-b")
    assert page.get_attribute("#overlay-toggle", "aria-pressed") == "true"
    page.unroute(re.compile(r".*/api/pairs/\d+/\d+$"))

    page.goto(f"{url}/?view=verify")  # two uploads: the URL gets the kept result's id, never the pictures
    page.set_input_files("#verify-a", str(collection["root"] / "art" / "cid_0.jpg"))
    page.set_input_files("#verify-b", str(collection["root"] / "art" / "cid_2.jpg"))
    page.click("#verify-form button[type=submit]")
    _until(page, "new URLSearchParams(location.search).has('result')")
    page.wait_for_selector("#verify-result[data-drawn]")
    assert set(_query(page)) == {"view", "result"} and len(page.url) < 120
    assert page.inner_text("#verify-name-a") == "cid_0.jpg"


def test_state_in_the_url_back_forward_and_new_tab(page, browser, url, collection):
    ids = _ids(collection)
    art = collection["root"] / "art"
    _open(page, url)
    page.fill("#catalogue-id", str(ids["bob_2.jpg"]))  # a search by catalogue number
    before = _searches(page)
    page.press("#catalogue-id", "Enter")
    _wait_search(page, before)
    assert _query(page)["painting"] == str(ids["bob_2.jpg"])
    by_number = page.url

    _upload(page, art / "cid_1.jpg")  # a search by upload
    query = _query(page)
    assert set(query) >= {"result"} and "painting" not in query and "cid_1" not in page.url
    by_upload = page.url
    first_match = page.inner_text("#results-grid li:first-child .caption")

    page.click("#tab-artists")
    page.wait_for_selector("#artist-table tbody tr")
    page.click("#artist-table a:text('Bob Green')")
    page.wait_for_selector("#artist-page[data-drawn='Bob Green']")
    assert _query(page) == {"view": "artists", "artist": "Bob Green"}

    page.go_back()
    _until(page, "new URLSearchParams(location.search).get('view') === 'artists' && !location.search.includes('artist=')")
    page.go_back()  # the upload's answer, drawn again from its result id
    _until(page, f"location.href === {json.dumps(by_upload)}")
    page.wait_for_selector("#view-search:not([hidden]) #results:not([hidden])")
    page.go_back()
    _until(page, f"location.href === {json.dumps(by_number)}")
    _until(page, "document.querySelector('#query-name').textContent.startsWith('catalogue number')")
    page.go_forward()
    _until(page, f"location.href === {json.dumps(by_upload)}")

    other = browser.new_page()  # the links, opened in new tabs, show the same views
    try:
        other.goto(by_upload)
        _until(other, "Number(document.querySelector('#results').dataset.searches || 0) > 0")
        assert other.inner_text("#results-grid li:first-child .caption") == first_match
        other.goto(f"{url}/?view=verify&pair={ids['ann_0.jpg']},{ids['ann_1.jpg']}")
        other.wait_for_selector("#verify-result[data-drawn]")
        other.goto(f"{url}/?view=artists&artist=Ann%20Red&open={ids['ann_1.jpg']}")
        other.wait_for_selector("#viewer[data-loaded]")
        assert other.inner_text("#artist-name") == "Ann Red"
    finally:
        other.close()


def test_words_for_people(page, browser, url, collection, live_server, tmp_path):
    from cli.server.state import ServerState

    _open(page, url, "#health:has-text('paintings')")
    health = page.inner_text("#health")
    assert health.startswith("12 paintings · 3 artists · model: efficientnet lite0")
    state = ServerState(home=collection["home"], model=collection["model"])
    try:
        assert state.current().lm.fingerprint[:12] not in health
    finally:
        state.close()

    _upload(page, collection["root"] / "art" / "ann_1.jpg")
    readme = tmp_path / "README.md"
    readme.write_text("# not a painting\n")
    page.set_input_files("#query-file", str(readme))
    page.wait_for_selector("#message:not([hidden])")
    message = page.inner_text("#message")
    assert message.startswith("This file is not a picture") and "Pillow" not in message and "--" not in message
    assert page.is_hidden("#results") and page.eval_on_selector_all("#results-grid li", "l => l.length") == 0  # no stale results

    _open(page, f"{url}/?painting=1&k=10000", "#results:not([hidden])")  # more than the collection: all of it
    _until(page, "Number(document.querySelector('#results').dataset.searches || 0) > 0")
    assert page.eval_on_selector_all("#results-grid li", "l => l.length") == 11  # all of it but painting 1 itself
    assert "1" not in {tile["alt"] for tile in _ratios(page, "#results-grid img")}
    _open(page, f"{url}/?painting=99999")
    page.wait_for_selector("#message:not([hidden])")
    assert page.inner_text("#message") == "There is no painting with that catalogue number in this collection."

    app = create_app(ServeConfig(home=collection["home"], model=collection["model"], host="0.0.0.0", token="tok-123-tok-123-tok"))
    with live_server(app) as private:
        tab = browser.new_page()
        try:
            tab.goto(private)
            tab.wait_for_selector("#token-dialog[open]")
            tab.fill("#token-input", "wrong")
            tab.keyboard.press("Enter")
            tab.wait_for_selector("#token-dialog[open] #token-error:not([hidden])")  # asked again, saying why
            tab.fill("#token-input", "tok-123-tok-123-tok")
            tab.keyboard.press("Enter")
            _until(tab, "document.querySelector('#health').textContent.startsWith('12 paintings')")
            _until(tab, "document.querySelector('#artist-list').options.length === 3")
            assert tab.is_hidden("#message") and not tab.is_visible("#token-dialog")
        finally:
            tab.close()


def test_a_refusal_for_an_older_code_never_asks_over_the_accepted_one(browser, collection, live_server):
    """A request sent with a wrong code whose 401 arrives after the right code was accepted retries with the
    right one: it must not reopen the dialog (seen under load, where the artists list then never came)."""
    from urllib.parse import urlparse

    app = create_app(ServeConfig(home=collection["home"], model=collection["model"], host="0.0.0.0", token="tok-123-tok-123-tok"))
    with live_server(app) as private:
        context = browser.new_context()
        tab = context.new_page()
        held = []

        def hold_the_wrong_code(route):  # the artists list sent with the wrong code is answered only when released
            if route.request.headers.get("authorization") == "Bearer wrong":
                held.append(route)
            else:
                route.continue_()

        tab.route(lambda address: urlparse(address).path == "/api/artists", hold_the_wrong_code)
        try:
            tab.goto(private)
            tab.wait_for_selector("#token-dialog[open]")
            tab.fill("#token-input", "wrong")
            tab.keyboard.press("Enter")
            tab.wait_for_selector("#token-dialog[open] #token-error:not([hidden])")
            for _ in range(200):  # up to 10 s for the retry with the wrong code to reach the route
                if held:
                    break
                tab.wait_for_timeout(50)
            assert len(held) == 1, "the artists list was not sent with the wrong code"
            tab.fill("#token-input", "tok-123-tok-123-tok")
            tab.keyboard.press("Enter")
            _until(tab, "document.querySelector('#health').textContent.startsWith('12 paintings')", timeout=20)
            held.pop().continue_()  # now its 401 for the wrong code arrives
            _until(tab, "document.querySelector('#artist-list').options.length === 3", timeout=20)
            assert not tab.is_visible("#token-dialog")
        finally:
            context.close()


def test_results_read_fields_by_name_and_survive_extra_or_missing_ones(page, url, collection):
    """The query's ranking fields may change (issue 25): extra fields are ignored, a missing number shows a dash."""
    nearest: list[float] = []

    def reshaped(route):
        body = route.fetch().json()
        nearest.append(body["results"][0]["matches"][0]["similarity"])  # the nearest other painting, not the query
        for result in body["results"]:
            for m in result["matches"]:
                m.update(rank_score=0.5, calibrated={"p": 0.1}, evidence=["a", "b"])
            del result["matches"][1]["similarity"]
            result["extra_ranking"] = {"kind": "new"}
        route.fulfill(json=body)

    page.route(re.compile(r".*/api/paintings/\d+/similar.*"), reshaped)
    _open(page, f"{url}/?painting={_ids(collection)['ann_2.jpg']}", "#results:not([hidden])")
    _until(page, "Number(document.querySelector('#results').dataset.searches || 0) > 0")
    sims = page.eval_on_selector_all("#results-grid .caption .sim", "s => s.map(x => x.innerText)")
    assert nearest and nearest[-1] < 0.9995  # the query (a catalogued painting) is not its own match any more
    assert len(sims) >= 2 and sims[0] == f"similarity {nearest[-1]:.3f}" and sims[1] == "similarity –"


def test_artists_list_page_and_filters(page, url, collection):
    _open(page, url)
    page.click("#tab-artists")
    page.wait_for_selector("#artist-table tbody tr")
    rows = page.eval_on_selector_all("#artist-table tbody tr", "rs => rs.map(r => [...r.cells].map(c => c.innerText))")
    assert ["Ann Red", "4", "1850 - 1920", "Italian", "Baroque"] in rows and ["Cid Blue", "4", "", "", ""] in rows
    page.fill("#artist-search", "ann")
    assert page.eval_on_selector_all("#artist-table tbody tr", "rs => rs.length") == 1
    page.click("#artist-table a:text('Ann Red')")
    page.wait_for_selector("#artist-page[data-drawn='Ann Red']")
    assert page.inner_text("#artist-bio") == "Ann Red painted red, mostly."
    assert page.get_attribute("#artist-link", "href") == "http://en.wikipedia.org/wiki/Red"
    dates = page.eval_on_selector_all("#artist-works .caption .sim", "s => s.map(x => x.innerText)")
    known = [d for d in dates if d != "date unknown"]
    assert known == sorted(known) and dates[-1] == "date unknown" and len(dates) == 4  # by date, undated last
    alike = page.eval_on_selector_all("#artist-alike button", "b => b.map(x => x.innerText)")
    assert sorted(alike) == ["Bob Green", "Cid Blue"]
    page.click(f"#artist-alike button:text('{alike[0]}')")
    page.wait_for_selector(f"#artist-page[data-drawn='{alike[0]}']")
    assert _query(page) == {"view": "artists", "artist": alike[0]}

    page.click("#tab-search")  # style and date filters on the search form use the API's filters
    page.fill("#style-filter", "Impressionism")
    page.fill("#date-filter", "188")
    page.fill("#catalogue-id", "1")
    before = _searches(page)
    page.press("#catalogue-id", "Enter")
    _wait_search(page, before)
    assert _query(page)["style"] == "Impressionism" and _query(page)["date"] == "188"
    captions = page.eval_on_selector_all("#results-grid .caption", "cs => cs.map(c => c.innerText.split('\\n')[0])")
    assert captions and set(captions) == {"Bob Green"} and len(captions) == 3  # its 3 dated paintings


def test_map_of_the_collection(page, url, collection, capsys):
    require_module("umap", MAP_EXTRA)
    _open(page, url)
    page.click("#tab-map")
    page.wait_for_selector("#map-canvas[data-points]", timeout=300_000)
    assert _query(page) == {"view": "map"}
    assert int(page.get_attribute("#map-canvas", "data-points")) == 12  # one point per catalogued painting
    first_paint = float(page.get_attribute("#map-canvas", "data-first-paint-ms"))
    with capsys.disabled():
        print(f"\nmap first paint (12 paintings, layout cached or not): {first_paint:.0f} ms")
    points = page.evaluate("fetch('/api/map').then(r => r.json()).then(b => b.points)")
    canvas = page.locator("#map-canvas").bounding_box()
    target = points[0]
    xy = page.evaluate("p => toScreen(p, document.querySelector('#map-canvas'))", target)
    page.mouse.move(canvas["x"] + xy[0], canvas["y"] + xy[1])
    page.wait_for_selector("#map-tip:not([hidden])")
    assert page.inner_text("#map-tip").startswith(target["artist"])
    page.mouse.click(canvas["x"] + xy[0], canvas["y"] + xy[1])  # click opens the viewer
    page.wait_for_selector("#viewer[data-loaded]")
    assert _query(page) == {"view": "map", "open": str(target["id"])}
    page.keyboard.press("Escape")
    page.select_option("#map-colour", "style")
    assert _query(page)["colour"] == "style"

    page.set_viewport_size({"width": 390, "height": 844})  # a phone: zoom with the keys, see the paintings
    page.focus("#map-canvas")
    for _ in range(12):
        page.keyboard.press("+")
    _until(page, "Number(document.querySelector('#map-canvas').dataset.scale) > 20")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    assert int(page.get_attribute("#map-canvas", "data-visible")) < 12  # zoomed in: part of the map


def test_export_matches_artist_works_and_map_view(page, url, collection):
    require_module("umap", MAP_EXTRA)
    _open(page, url)
    _upload(page, collection["root"] / "art" / "bob_0.jpg")
    with page.expect_download() as got:
        page.click("#view-search [data-export=csv]")
    rows = list(csv.DictReader(io.StringIO(Path(got.value.path()).read_text())))
    shown = page.eval_on_selector_all("#results-grid button", "bs => bs.map(b => Number(b.dataset.id))")
    assert [int(r["id"]) for r in rows] == shown and rows[0]["rank"] == "1" and set(rows[0]) >= {"artist", "similarity"}

    page.goto(f"{url}/?view=artists&artist=Cid%20Blue")
    page.wait_for_selector("#artist-page[data-drawn='Cid Blue']")
    with page.expect_download() as got:
        page.click("#artist-page [data-export=json]")
    works = json.loads(Path(got.value.path()).read_text())
    assert got.value.suggested_filename == "artwork-engine-artist-Cid_Blue.json"
    assert [w["id"] for w in works] == page.eval_on_selector_all("#artist-works button", "bs => bs.map(b => Number(b.dataset.id))")

    page.goto(f"{url}/?view=map")
    page.wait_for_selector("#map-canvas[data-points]", timeout=300_000)
    with page.expect_download() as got:
        page.click("#view-map [data-export=csv]")
    selection = list(csv.DictReader(io.StringIO(Path(got.value.path()).read_text())))
    assert len(selection) == int(page.get_attribute("#map-canvas", "data-visible")) == 12


def test_screenshots_for_the_readme(browser, live_server):
    """Opt-in: ENGINE_PAGE_SCREENSHOTS=docs ENGINE_PAGE_SCREENSHOT_HOME=<an indexed home, e.g. artdata's>."""
    target, home = os.environ.get("ENGINE_PAGE_SCREENSHOTS"), os.environ.get("ENGINE_PAGE_SCREENSHOT_HOME")
    if not (target and home):
        pytest.skip("set ENGINE_PAGE_SCREENSHOTS and ENGINE_PAGE_SCREENSHOT_HOME to refresh the docs/page-*.png screenshots")
    out = Path(target)
    with live_server(create_app(ServeConfig(home=Path(home)))) as base:
        page = browser.new_page(viewport={"width": 1200, "height": 820})
        page.goto(f"{base}/?painting=1&k=16")
        _until(page, "Number(document.querySelector('#results').dataset.searches || 0) > 0", timeout=120)
        page.screenshot(path=str(out / "page-results.png"))
        page.click("#results-grid li:nth-child(2) button")
        page.wait_for_selector("#viewer[data-loaded]")
        page.keyboard.press("+")
        page.screenshot(path=str(out / "page-viewer.png"))
        ids = page.eval_on_selector_all("#results-grid button", "bs => bs.map(b => b.dataset.id)")
        page.goto(f"{base}/?view=verify&pair={ids[0]},{ids[3]}")
        page.wait_for_selector("#verify-result[data-drawn]")
        page.screenshot(path=str(out / "page-verify.png"), full_page=True)
        artist = page.evaluate("fetch('/api/artist-list').then(r => r.json()).then(b => b.artists[0].artist)")
        page.goto(f"{base}/?view=artists&artist={artist}")
        page.wait_for_selector("#artist-page[data-drawn]", timeout=120_000)
        page.screenshot(path=str(out / "page-artist.png"))
        page.goto(f"{base}/?view=map")
        page.wait_for_selector("#map-canvas[data-points]", timeout=600_000)
        page.screenshot(path=str(out / "page-map.png"))
    for name in ("results", "viewer", "verify", "artist", "map"):
        path = out / f"page-{name}.png"
        _small_png(path)
        assert 10_000 < path.stat().st_size < 400_000


def _small_png(path: Path, width: int = 900) -> None:
    """Shrink a screenshot for the README: at most `width` px wide, 256 colours."""
    with Image.open(path) as shot:
        image = shot.convert("RGB")
    if image.width > width:
        image = image.resize((width, round(image.height * width / image.width)), Image.LANCZOS)
    image.quantize(256, method=Image.Quantize.MEDIANCUT).save(path, optimize=True)
