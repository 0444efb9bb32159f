"""The page in a real browser: Debian's Chromium driven by Playwright (no browser download).

Skipped when Chromium or Playwright is absent, unless ENGINE_TEST_REQUIRE_SERVICES=1 (CI), where that fails.
ENGINE_SERVE_SCREENSHOT=PNG and ENGINE_SERVE_SCREENSHOT_HOME=HOME (a home `engine demo` filled) also save
a screenshot of the page on that collection, e.g. docs/serve.png.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import pytest

from cli.server import ServeConfig, create_app

pytestmark = pytest.mark.browser


# wait_for_function is given arrow functions, not bare expressions: Playwright eval()s an expression in
# the page, which the server's CSP (no 'unsafe-eval') refuses; a function is called without eval.


def _searches(page) -> int:
    return int(page.get_attribute("#results", "data-searches") or 0)


def _wait_for_search(page, before: int) -> None:
    """Until the page has drawn one more result (grid and thumbnails included)."""
    page.wait_for_function(f"() => Number(document.querySelector('#results').dataset.searches || 0) > {before}")


def _search(page, image: Path) -> None:
    before = _searches(page)
    page.set_input_files("#query-file", str(image))
    _wait_for_search(page, before)


def _thumbnail_widths(page) -> list[int]:
    return page.eval_on_selector_all("#results-grid img", "imgs => imgs.map(i => i.naturalWidth)")


def _api_verify(url: str, a: Path, b: Path) -> dict:
    """What POST /api/verify answers for the two images, from the running server."""
    import httpx

    files = {"a": (a.name, a.read_bytes(), "image/jpeg"), "b": (b.name, b.read_bytes(), "image/jpeg")}
    response = httpx.post(f"{url}/api/verify", files=files, timeout=30)
    assert response.status_code == 200, response.text
    return response.json()


def _api_top_artist(url: str, image: Path, k: int = 12) -> str:
    """The top-voted artist POST /api/query answers for the image (k as the page's default), from the running server."""
    import httpx

    files = {"image": (image.name, image.read_bytes(), "image/jpeg")}
    response = httpx.post(f"{url}/api/query", files=files, params={"k": k}, timeout=30)
    assert response.status_code == 200, response.text
    (result,) = response.json()["results"]
    assert result["in_collection"], result  # every test image here is a catalogued painting: excluded from its matches
    assert str(image) not in {m["path"] for m in result["matches"]}
    return result["artists"][0]["artist"]


def _watch_csp(page) -> list[str]:
    """The page's Content-Security-Policy violations (each one is something the page tried and was refused)."""
    refused: list[str] = []
    page.on("console", lambda m: refused.append(m.text) if "Content Security Policy" in m.text else None)
    page.add_init_script("document.addEventListener('securitypolicyviolation', e => "
                         "console.error(`Content Security Policy: ${e.violatedDirective} refused ${e.blockedURI}`))")
    return refused


def test_search_detail_and_verify_in_chromium(browser, indexed, state, live_server, tmp_path):
    app = create_app(ServeConfig(home=indexed.home, model=indexed.model), state)
    offsite: list[str] = []
    with live_server(app) as url:
        page = browser.new_page(viewport={"width": 1100, "height": 900})
        page.on("request", lambda r: offsite.append(r.url) if not r.url.startswith((url, "blob:", "data:")) else None)
        refused = _watch_csp(page)
        loaded = page.goto(url)
        assert "default-src 'self'" in loaded.headers["content-security-policy"]  # the page works under the server's CSP
        page.wait_for_function("() => document.querySelector('#artist-list').options.length === 3")
        assert "12 paintings" in page.inner_text("#health")

        _search(page, indexed.paths["Cid Blue"][1])
        assert page.inner_text("#artist-bars li:first-child .name") == _api_top_artist(url, indexed.paths["Cid Blue"][1])
        widths = _thumbnail_widths(page)
        assert len(widths) == 11 and all(w > 0 for w in widths)  # the collection less the query itself (in_collection)

        page.click("#results-grid li:nth-child(4) button")  # opens it large, with its catalog row
        page.wait_for_selector("#viewer[data-loaded]")
        detail = page.inner_text("#viewer-row")
        assert "48 × 48 px" in detail and ".jpg" in detail
        before = _searches(page)
        page.click("#viewer-similar")  # then a search from it
        _wait_for_search(page, before)
        assert page.inner_text("#query-name").startswith("catalogue number")
        assert len(_thumbnail_widths(page)) == 11  # not itself: the painting is in the collection, not its own match
        assert page.inner_text("#results-grid li:first-child .sim") != "similarity 1.000"

        page.fill("#artist-filter", "Ann Red")
        page.fill("#k", "3")
        _search(page, indexed.paths["Cid Blue"][2])
        assert page.eval_on_selector_all("#results-grid .caption", "cs => cs.map(c => c.innerText.split('\\n')[0])") == ["Ann Red"] * 3

        pair = indexed.paths["Bob Green"][0], indexed.paths["Bob Green"][1]
        page.click("#tab-verify")
        page.set_input_files("#verify-a", str(pair[0]))
        page.set_input_files("#verify-b", str(pair[1]))
        page.click("#verify-form button[type=submit]")
        page.wait_for_selector("#verdict")
        api = _api_verify(url, *pair)  # the same two images, straight from the API
        p = api["probability"]
        assert page.inner_text("#verdict") == ("Same hand" if p >= 2 / 3 else "Different hands" if p <= 1 / 3 else "Uncertain: the model cannot tell")
        shown = page.inner_text("#verify-result")
        assert page.inner_text("#verify-bars .value") == f"{math.floor(100 * api['probability'] + 0.5)}%"  # Math.round
        assert f"cosine similarity {api['similarity']:.3f} (threshold {api['threshold']:.3f})" in shown
        page.screenshot(path=str(tmp_path / "serve-verify.png"), full_page=True)
        assert (tmp_path / "serve-verify.png").stat().st_size > 0
        widths = page.eval_on_selector_all("#artist-bars .fill", "fs => fs.map(f => f.style.width)")
        assert widths and all(w.endswith("%") for w in widths)  # the bars' widths were set under the CSP
    assert not offsite, offsite  # works offline: nothing but this server
    assert not refused, refused  # and nothing it does is refused by the CSP


def test_docs_page_works_under_its_csp(browser, indexed, state, live_server):
    app = create_app(ServeConfig(home=indexed.home, model=indexed.model), state)
    with live_server(app) as url:
        page = browser.new_page()
        refused = _watch_csp(page)
        page.goto(f"{url}/docs")
        page.wait_for_selector("#swagger-ui .swagger-ui")  # Swagger UI's inline start-up script ran (allowed by its hash)
        page.wait_for_load_state("networkidle")  # ... and fetched /openapi.json
    # Not asserted: the operations listed. swagger-ui-bundle 1.1.0 ships Swagger UI 4.15.5, which cannot render
    # FastAPI's OpenAPI 3.1 ("Unable to render this definition"), with or without the CSP.
    assert not refused, refused


def test_keyboard_only_and_narrow_screen(browser, indexed, state, live_server):
    app = create_app(ServeConfig(home=indexed.home, model=indexed.model), state)
    with live_server(app) as url:
        page = browser.new_page(viewport={"width": 360, "height": 740})
        page.goto(url)
        page.wait_for_function("() => document.querySelector('#health').textContent.length > 0")
        page.keyboard.press("Tab")  # skip link
        page.keyboard.press("Tab")  # the title, a link home
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.id") == "tab-search"
        page.keyboard.press("ArrowRight")
        assert page.evaluate("document.activeElement.id") == "tab-verify"
        assert page.is_visible("#view-verify") and not page.is_visible("#view-search")
        page.keyboard.press("ArrowLeft")
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.id") == "query-file"  # the file chooser is reachable
        _search(page, indexed.paths["Ann Red"][0])
        opened = _searches(page)
        page.focus("#results-grid li:first-child button")
        page.keyboard.press("Enter")  # a thumbnail opens large with the keyboard
        page.wait_for_selector("#viewer[data-loaded]")
        page.wait_for_function("document.activeElement.id === 'viewer-stage'")  # focus goes to the painting
        page.keyboard.press("Escape")
        page.wait_for_function("!document.querySelector('#viewer').open")
        assert _searches(page) == opened
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")  # no sideways scrolling

        before = _searches(page)  # a painting dropped on the drop zone
        page.evaluate(DROP_JS, list(indexed.paths["Bob Green"][1].read_bytes()))
        _wait_for_search(page, before)
        assert page.inner_text("#query-name") == "dropped.jpg"
        assert page.inner_text("#artist-bars li:first-child .name") == _api_top_artist(url, indexed.paths["Bob Green"][1])


def test_the_last_search_started_is_the_one_shown(browser, indexed, state, live_server):
    """Two paintings dropped one right after the other: the answer to the first, whenever it arrives, never
    replaces the second's (the page draws only the search started last)."""
    app = create_app(ServeConfig(home=indexed.home, model=indexed.model), state)
    with live_server(app) as url:
        page = browser.new_page()
        page.goto(url)
        page.wait_for_function("() => document.querySelector('#health').textContent.length > 0")
        # two paintings whose answers differ (their top artists), else the check below could not tell them apart
        tops = {image: _api_top_artist(url, image) for images in indexed.paths.values() for image in images}
        first_image = next(iter(tops))
        second_image = next(image for image, top in tops.items() if top != tops[first_image])
        before = _searches(page)
        first, second = (list(image.read_bytes()) for image in (first_image, second_image))
        page.evaluate(f"([a, b]) => {{ ({DROP_JS})(a); ({DROP_JS})(b); }}", [first, second])  # both before any answer
        _wait_for_search(page, before)
        assert page.inner_text("#artist-bars li:first-child .name") == tops[second_image]
        assert _searches(page) == before + 1  # the first search's answer was dropped, not drawn


DROP_JS = """(bytes) => {
  const file = new File([new Uint8Array(bytes)], 'dropped.jpg', {type: 'image/jpeg'});
  const transfer = new DataTransfer();
  transfer.items.add(file);
  document.querySelector('#drop-zone').dispatchEvent(new DragEvent('drop', {dataTransfer: transfer, bubbles: true, cancelable: true}));
}"""


def test_token_is_asked_once(browser, indexed, state, live_server):
    app = create_app(ServeConfig(home=indexed.home, model=indexed.model, host="0.0.0.0", token="tok-123-tok-123-tok"), state)
    with live_server(app) as url:
        page = browser.new_page()
        page.goto(url)
        page.wait_for_selector("#token-dialog[open]")
        page.fill("#token-input", "tok-123-tok-123-tok")
        page.keyboard.press("Enter")
        page.wait_for_function("() => document.querySelector('#health').textContent.includes('12 paintings')")
        _search(page, indexed.paths["Bob Green"][3])
        import httpx

        image = indexed.paths["Bob Green"][3]
        answer = httpx.post(f"{url}/api/query", files={"image": (image.name, image.read_bytes(), "image/jpeg")},
                            params={"k": 12}, headers={"Authorization": "Bearer tok-123-tok-123-tok"}, timeout=30)
        assert answer.status_code == 200, answer.text
        assert page.inner_text("#artist-bars li:first-child .name") == answer.json()["results"][0]["artists"][0]["artist"]
        assert not page.is_visible("#token-dialog")


def test_screenshot_of_the_demo_gallery(browser, live_server):
    """Opt-in: ENGINE_SERVE_SCREENSHOT=docs/serve.png ENGINE_SERVE_SCREENSHOT_HOME=<a demo home>."""
    target, home = os.environ.get("ENGINE_SERVE_SCREENSHOT"), os.environ.get("ENGINE_SERVE_SCREENSHOT_HOME")
    if not (target and home):
        pytest.skip("set ENGINE_SERVE_SCREENSHOT and ENGINE_SERVE_SCREENSHOT_HOME to refresh docs/serve.png")
    query = sorted(Path(home).glob("demo/*/probes/*.jpg"))[0]  # a new painting by a held-out artist, not indexed
    with live_server(create_app(ServeConfig(home=Path(home)))) as url:
        page = browser.new_page(viewport={"width": 1200, "height": 860})
        page.goto(url)
        page.wait_for_function("() => document.querySelector('#artist-list').options.length > 0")
        page.fill("#k", "10")
        _search(page, query)
        page.evaluate("document.activeElement.blur()")
        page.screenshot(path=target, full_page=True)
    assert Path(target).stat().st_size > 10_000
