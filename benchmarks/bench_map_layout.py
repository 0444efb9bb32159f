"""Benchmark: the map of the collection (indexer.collection_map) on artdata's paintings: UMAP or t-SNE.

For each layout method, over the L2-normalised vectors of every indexed painting:
- trustworthiness (sklearn.manifold.trustworthiness, cosine, 5/10/30 neighbours): how far the 2D
  neighbours of a painting are its neighbours in the embedding (1 = every map neighbour is a true one);
  references in the same run: a PCA projection and random 2D points;
- compute time of the layout alone (a warm process: umap-learn's numba compilation and the imports are
  timed apart, as `jit_and_import_s`, because `engine map` pays them once per process).
Then the page's map view in Debian's Chromium on the same home, the layout cached (as after
`engine index --map`): the time to first paint (data-first-paint-ms: from asking /api/map to the
points drawn), beside the reference of fetching and parsing /api/map alone in the same page, and the
time of one redraw of every point (what a pan or zoom frame costs).

Embeddings: the model given by --model (default: the shipped model); the index is kept in --work, so a
re-run reuses it (ENGINE_RUNTIME=onnx indexes artdata 5x faster on a busy 2-core machine). Writes benchmarks/results/map_layout.json.

    python benchmarks/bench_map_layout.py --model engine/model/shipped/default.pt --work /tmp/map-bench
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import sys
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks.common import ARTDATA, RESULTS_DIR, artdata_images, log, save_result, table

NAME = "map_layout"
CHROMIUM = Path("/usr/bin/chromium")  # Debian's, as the page tests use
SIZES = {"toy": 64, "quick": 1000, "full": None}  # paintings of artdata (None: all of them)
NEIGHBOURS = (5, 10, 30)
PAINTS = 3  # first paints measured (fresh tabs), median reported
REDRAWS = 20
WORK = Path("/tmp/bench-map")


def build_home(work: Path, model: Path, limit: int | None) -> Path:
    """An index of the first `limit` artdata paintings (all when None), reused when already complete."""
    from benchmarks.bench_indexing import subset_folder
    from db.store import CatalogStore
    from engine.base.home import Home
    from indexer.pipeline import index_folder

    images = artdata_images(limit)
    if not images:
        raise SystemExit(f"bench_map_layout needs {ARTDATA}/train with real paintings")
    home = work / "home"
    try:
        store = CatalogStore(Home.resolve(home).catalog_url, create=False)
        try:
            if len(store.ids()) == len(images):
                log(f"map: reusing the index of {len(images)} paintings in {home}")
                return home
        finally:
            store.close()
    except Exception:  # no catalogue yet
        pass
    log(f"map: indexing {len(images)} paintings with {model} into {home}")
    folder = ARTDATA / "train"
    if limit:
        folder = work / "art"
        if not folder.is_dir():
            subset_folder(images, folder)
    index_folder(folder, home=home, model=model, labels=ARTDATA / "train_info.csv")
    if (ARTDATA / "artists.csv").is_file():  # the artist pages of the README's screenshots, made from this home
        from indexer.artist_metadata import load_artist_metadata

        load_artist_metadata(ARTDATA / "artists.csv", home=home)
    return home


def home_vectors(home: Path):
    from db.store import CatalogStore
    from engine.base.home import Home
    from indexer.collection_map import all_vectors

    store = CatalogStore(Home.resolve(home).catalog_url, create=False)
    try:
        return all_vectors(store)
    finally:
        store.close()


def trustworthiness(vectors, xy) -> dict[str, float]:
    from sklearn.manifold import trustworthiness as sk_trustworthiness

    return {f"k{k}": round(float(sk_trustworthiness(vectors, xy, n_neighbors=k, metric="cosine")), 4) for k in NEIGHBOURS}


def warm_up(method: str) -> float:
    """Seconds to import the method's package and compile its numba code (paid once per process)."""
    import numpy as np

    from indexer.collection_map import layout_2d

    started = time.perf_counter()
    layout_2d(np.random.default_rng(1).normal(size=(64, 16)).astype(np.float32), method=method)
    return time.perf_counter() - started


def layouts(vectors) -> list[dict]:
    import numpy as np

    from indexer.collection_map import _pca_2d, _unit_square, layout_2d

    rows = []
    for method in ("umap", "tsne"):
        warm = warm_up(method)
        log(f"map: {method} on {len(vectors)} paintings")
        started = time.perf_counter()
        xy = layout_2d(vectors, method=method)
        seconds = time.perf_counter() - started
        rows.append({"method": method, "seconds": round(seconds, 2), "jit_and_import_s": round(warm, 2), **trustworthiness(vectors, xy)})
    started = time.perf_counter()
    pca = _unit_square(_pca_2d(vectors))
    rows.append({"method": "pca (reference)", "seconds": round(time.perf_counter() - started, 3), "jit_and_import_s": 0.0,
                 **trustworthiness(vectors, pca)})
    random_xy = np.random.default_rng(0).random((len(vectors), 2))
    rows.append({"method": "random (reference)", "seconds": 0.0, "jit_and_import_s": 0.0, **trustworthiness(vectors, random_xy)})
    return rows


@contextlib.contextmanager
def live_server(app):
    """`app` served by uvicorn on a free 127.0.0.1 port in a thread; yields its base URL."""
    import socket
    import threading

    import uvicorn

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        if not thread.is_alive():
            raise RuntimeError("the benchmark's server did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(30)


def first_paint(home: Path) -> dict:
    """The page's map view in Chromium, the layout already cached: first paint, the /api/map reference, redraws."""
    from playwright.sync_api import sync_playwright

    from cli.server import ServeConfig, create_app

    paints, fetches, redraws = [], [], []
    with live_server(create_app(ServeConfig(home=home))) as base, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox", "--disable-gpu"])
        try:
            for _ in range(PAINTS):
                page = browser.new_page(viewport={"width": 1200, "height": 820})
                page.goto(f"{base}/?view=map")
                page.wait_for_selector("#map-canvas[data-points]", timeout=600_000)
                points = int(page.get_attribute("#map-canvas", "data-points"))
                paints.append(float(page.get_attribute("#map-canvas", "data-first-paint-ms")))
                fetches.append(page.evaluate("""async () => { const t = performance.now();
                    const body = await (await fetch('/api/map')).json(); return [performance.now() - t, body.points.length]; }""")[0])
                redraws.append(page.evaluate(f"""() => {{ const t = performance.now();
                    for (let i = 0; i < {REDRAWS}; i++) drawMap(); return (performance.now() - t) / {REDRAWS}; }}"""))
                page.close()
        finally:
            browser.close()
    paint, fetch = statistics.median(paints), statistics.median(fetches)
    return {"points": points, "first_paint_ms": round(paint, 1), "first_paint_runs_ms": [round(x, 1) for x in paints],
            "api_map_fetch_ms": round(fetch, 1), "first_paint_vs_fetch": round(paint / fetch, 2),
            "redraw_ms": round(statistics.median(redraws), 2), "chromium": CHROMIUM.name}


def run(*, scale: str, results_dir: Path = RESULTS_DIR, model: Path | None = None, work: Path = WORK) -> dict:
    from engine.model.shipped import SHIPPED_MODEL
    from indexer.collection_map import DEFAULT_METHOD, build_map

    model = Path(model or SHIPPED_MODEL)
    if not model.is_file():
        raise SystemExit(f"bench_map_layout: no model at {model}; pass --model PATH")

    home = build_home(work, model, SIZES[scale])
    ids, vectors = home_vectors(home)
    rows = layouts(vectors)
    print(table(rows))
    mapped = build_map(home=home, method=DEFAULT_METHOD, force=True)  # what `engine map` caches for the page
    browser = first_paint(home)
    print(table([browser], ["points", "first_paint_ms", "api_map_fetch_ms", "first_paint_vs_fetch", "redraw_ms"]))
    result = {
        "data": f"artdata ({len(ids)} paintings)", "model": str(model), "runtime": os.environ.get("ENGINE_RUNTIME", "torch"), "config": {"scale": scale, "neighbours": list(NEIGHBOURS),
                                                                                  "metric": "cosine", "paints": PAINTS},
        "layouts": rows, "default_method": DEFAULT_METHOD, "engine_map": mapped, "browser": browser,
    }
    path = save_result(NAME, result, results_dir=results_dir)
    log(f"wrote {path}")
    return result


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", choices=tuple(SIZES), default="full")
    parser.add_argument("--model", type=Path, default=None, help="the model whose embeddings are laid out [default: the shipped one]")
    parser.add_argument("--work", type=Path, default=WORK, help="where the index is kept (reused by the next run)")
    parser.add_argument("--results", type=Path, default=RESULTS_DIR)
    args = parser.parse_args(argv)
    run(scale=args.scale, model=args.model, work=args.work, results_dir=args.results)


if __name__ == "__main__":
    main()
