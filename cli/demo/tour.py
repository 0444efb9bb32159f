"""`engine demo`: the whole product on one machine, offline, in minutes.

generate (synthetic artists; skipped with `data`) -> prepare -> train (frozen efficientnet_lite0
with its packaged ImageNet weights) -> evaluate on held-out artists, trained vs the untrained
baseline -> index -> query a painting that is not in the index -> verify two pairs.
Every step logs one line; the returned dict holds each step's brief result and where the
artefacts are. It is also written to WORKDIR/demo.json with the resolved config.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import time
from pathlib import Path
from typing import Any, Callable

import engine
from engine.base.atomic import atomic_write_json
from cli.demo.briefs import evaluate_brief, index_brief, prepare_brief, query_brief, train_brief, verify_brief
from cli.demo.probes import Probes, build_library, data_probes, held_out_artists, synthetic_probes
from engine.base.errors import EngineError
from engine.base.home import CATALOG_NAME, DEMO_MODEL_PREFIX, Home
from engine.data.provenance import mark_synthetic
from engine.data.manifest import read_manifest
from engine.base.progress import Progress
from cli.demo.config import DemoConfig

logger = logging.getLogger(__name__)

RESULT_NAME = "demo.json"
CATALOG_OWNER = "catalog-owner.json"  # in HOME/demo: the home's catalog was created by a demo


def run_demo(
    *,
    data: str | Path | None = None,
    labels: str | Path | None = None,
    home: str | Path | None = None,
    workdir: str | Path | None = None,
    config: DemoConfig = DemoConfig(),
    progress: Progress | None = None,
) -> dict:
    """Run the whole flow; `data` (+ `labels`) = the user's collection instead of synthetic artists.

    `workdir` (default HOME/demo/synthetic or HOME/demo/data-<hash>) holds gallery, prepared
    dataset, probes and report; model, catalog and index go into the home as usual.
    """
    started = time.perf_counter()
    if labels is not None and data is None:
        raise EngineError("--labels needs --data DIR (the image folder the CSV describes)")
    config = config.validate()
    the_home = Home.resolve(home).ensure()
    _check_catalog(the_home)  # before minutes of work, not after
    work = _work_dir(workdir, the_home, data, labels)
    if data is None:  # generated paintings: the library and probes made from them under `work` are synthetic too
        work.mkdir(parents=True, exist_ok=True)
        mark_synthetic(work)
    steps = _Steps()
    source = _source(steps, work, data, config, progress)
    prepared = work / "prepared"
    steps.run("prepare", lambda: _prepare(source, prepared, labels, config, data is not None, progress), prepare_brief)
    trained = steps.run("train", lambda: _train(prepared, the_home, config, progress), train_brief)
    model = Path(trained["model_path"])
    steps.run("evaluate", lambda: _evaluate(model, prepared, work, the_home, config, progress), evaluate_brief)
    probes, library, library_labels = _probes(work, prepared, data, config)
    steps.run("index", lambda: _index(library, library_labels, model, the_home, progress), index_brief)
    steps.run("query", lambda: _query(probes, model, the_home, config), lambda r: query_brief(r, probes))
    steps.run("verify", lambda: _verify(probes, model, the_home), lambda r: verify_brief(r, probes))
    result = _result(steps, work, the_home, source, data, trained, config, time.perf_counter() - started)
    atomic_write_json(work / RESULT_NAME, result)
    logger.info("demo finished in %.0f s; summary in %s", result["seconds"], work / RESULT_NAME)
    return result


class _Steps:
    """Runs named steps, timing each, keeping its brief result and logging one line."""

    def __init__(self) -> None:
        self.briefs: dict[str, dict] = {}

    def run(self, name: str, action: Callable[[], Any], brief: Callable[[Any], dict]) -> Any:
        logger.info("demo: %s ...", name)
        started = time.perf_counter()
        try:
            out = action()
        except EngineError as exc:
            raise EngineError(f"demo stopped at {name}: {exc}") from exc
        summary = {**brief(out), "seconds": round(time.perf_counter() - started, 2)}
        self.briefs[name] = summary
        logger.info("demo: %s done in %.1f s: %s", name, summary["seconds"], summary.get("line", ""))
        return out


def _work_dir(workdir, home: Home, data, labels) -> Path:
    if workdir is not None:
        return Path(workdir).expanduser().absolute()
    if data is None:
        return home.root / "demo" / "synthetic"
    # One folder per collection, so demos on different data never share a prepared dataset.
    key = f"{Path(data).expanduser().resolve()}|{Path(labels).expanduser().resolve() if labels else ''}"
    return home.root / "demo" / f"data-{hashlib.sha256(key.encode()).hexdigest()[:10]}"


def _source(steps: _Steps, work: Path, data, config: DemoConfig, progress) -> Path:
    if data is not None:
        source = Path(data).expanduser()
        if not source.is_dir():
            raise EngineError(f"--data {source} is not a folder; pass the folder that holds your paintings")
        return source
    from engine.synthetic.gallery import generate_gallery

    def generate() -> Path:
        return generate_gallery(work / "gallery", artists=config.artists, per_artist=config.per_artist,
                                size=config.image_size, seed=config.seed, progress=progress)

    return steps.run("generate", generate, lambda p: {
        "path": str(p), "artists": config.artists, "images": config.artists * config.per_artist,
        "line": f"{config.artists} synthetic artists x {config.per_artist} paintings",
    })


def _prepare(source: Path, out: Path, labels, config: DemoConfig, user_data: bool, progress) -> dict:
    from engine.prepare.pipeline import PrepareConfig, prepare_dataset

    prep = PrepareConfig(
        size=256 if user_data else config.image_size,
        val_fraction=config.val_fraction, test_fraction=config.test_fraction,
        max_per_artist=config.max_per_artist if user_data else None, seed=config.seed,
    )
    return prepare_dataset(source, out=out, labels=labels, config=prep, progress=progress)


def _train(prepared: Path, home: Home, config: DemoConfig, progress) -> dict:
    from engine.train.trainer import make_config, train_model

    train_config = make_config(
        "default", backbone=config.backbone, weights="imagenet", mode="frozen",
        epochs=config.epochs, views=config.views, seed=config.seed,
    )
    out = home.new_model_dir(DEMO_MODEL_PREFIX)  # unique even for two demos started in the same second
    return train_model(prepared, config=train_config, out=out, home=home.root, make_current=False, progress=progress)


def _evaluate(model: Path, prepared: Path, work: Path, home: Home, config: DemoConfig, progress) -> dict:
    from engine.evaluate.runner import evaluate_model

    return evaluate_model(model=model, data=prepared, split="test", pairs=config.pairs,
                          report=work / "report", home=home.root, progress=progress)


def _probes(work: Path, prepared: Path, data, config: DemoConfig) -> tuple[Probes, Path, Path]:
    frame = read_manifest(prepared)
    if data is None:
        probes = synthetic_probes(work / "probes", frame, artists=config.artists, per_artist=config.per_artist,
                                  size=config.image_size, seed=config.seed)
    else:
        probes = data_probes(frame)
    artists = held_out_artists(frame) if config.index == "held_out" else sorted(set(frame["artist"]))
    library, library_labels = build_library(frame, work / "library", artists=artists, exclude_sha256={probes.query_sha256} - {""})
    return probes, library, library_labels


def _check_catalog(home: Home) -> None:
    """The demo indexes into HOME's own SQLite catalog, re-indexing it with each new demo model; so
    that catalog must be new or a previous demo's. Anything else stays untouched: EngineError."""
    catalog = home.root / CATALOG_NAME
    if not catalog.exists() or (home.root / "demo" / CATALOG_OWNER).is_file():
        return
    model_path = str((_read_json(home.index_path.with_suffix(".json")).get("model") or {}).get("path") or "")
    if not Path(model_path).parent.name.startswith(DEMO_MODEL_PREFIX):
        raise EngineError(
            f"{home.root} already holds a catalog that `engine demo` did not make; "
            "run the demo with --home NEW_FOLDER (your catalog stays as it is)"
        )


def _read_json(path: Path) -> dict:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _index(library: Path, library_labels: Path, model: Path, home: Home, progress) -> dict:
    from indexer.config import IndexConfig
    from indexer.pipeline import index_folder

    owner = home.root / "demo" / CATALOG_OWNER
    if not owner.is_file():
        atomic_write_json(owner, {"created_by": "engine demo", "engine_version": engine.__version__})
    # Each demo trains a new model: its vectors replace the previous demo's (reindex). Always the home's own
    # SQLite catalog, never $ENGINE_DB_URL: the demo must not write into a shared catalog.
    return index_folder(library, home=home.root, db=home.own_catalog_url, labels=library_labels, model=model,
                        config=IndexConfig(reindex=True), progress=progress)


def _query(probes: Probes, model: Path, home: Home, config: DemoConfig) -> dict:
    from indexer.search import query_images

    return query_images([probes.query], home=home.root, db=home.own_catalog_url, k=config.k, model=model)


def _verify(probes: Probes, model: Path, home: Home) -> list[dict]:
    from engine.inference.verify import verify_pair

    return [verify_pair(a, b, home=home.root, model=model) for a, b, _ in probes.pairs]


def _result(steps: _Steps, work: Path, home: Home, source: Path, data, trained: dict, config: DemoConfig,
            seconds: float) -> dict:
    report = steps.briefs["evaluate"].get("report")
    return {
        "source": "synthetic" if data is None else str(Path(data).expanduser().resolve()),
        "seconds": round(seconds, 1),
        "steps": steps.briefs,
        "artefacts": {
            "gallery": str(source) if data is None else None,
            "library": str(work / "library" / "images"),
            "dataset": str(work / "prepared"),
            "model": str(trained["model_path"]),
            "training_metrics": str(trained.get("metrics_csv", "")),
            "loss_plot": str(trained.get("loss_png", "")),
            "report": report,
            "plots": sorted(str(p) for p in Path(report).glob("*.png")) if report else [],
            "catalog": home.own_catalog_url,
            "index": str(home.index_path),
            "summary": str(work / RESULT_NAME),
        },
        "home": str(home.root),
        "workdir": str(work),
        "config": dataclasses.asdict(config),
        "engine_version": engine.__version__,
    }
