"""`index_folder`: embed a folder of paintings into the home's catalog and FAISS index.

Incremental (only new or changed content is embedded; moves keep their vector), resumable
(see `indexer.writer` for the crash-safe protocol) and exclusive (one indexer per home, and one per
catalog: a catalog shared by several homes is also locked in the database, db.lock).
"""

from __future__ import annotations

import logging
import os
import time

from db.records import Labels
from db.store import CatalogStore
from engine.inference.onnx_runtime import with_runtime
from engine.model.checkpoint import LoadedModel, load_model
from engine.base.home import Home
from engine.inference.model_choice import ModelChoice, choose_model, warn_if_synthetic
from engine.inference.forward_plan import InferencePlan
from engine.base.progress import Progress
from indexer.artefacts import index_file, model_info, remove_stale_temp_files, versions
from indexer.check import check_catalog
from indexer.config import IndexConfig
from indexer.consistency import open_index
from indexer.embed_loop import EmbedStats, embed_and_insert, insert_copies
from indexer.failures import storage_errors
from indexer.labelling import resolve_labels
from indexer.index_model import index_model
from indexer.lock import IndexLock
from indexer.change_plan import Plan, plan_changes
from engine.data.walk import Walk
from indexer.scan import scan_folder
from indexer.throughput import bare_forward_rate, plan_for
from indexer.vector_index import IVF
from indexer.writer import IndexWriter

logger = logging.getLogger(__name__)

PLAN_CACHE = "inference_plans.json"


def index_folder(
    folder: str | os.PathLike[str],
    *,
    home: str | os.PathLike[str] | None = None,
    db: str | None = None,
    labels: str | os.PathLike[str] | None = None,
    model: str | os.PathLike[str] | None = None,
    prune: bool = False,
    check: bool = False,
    config: IndexConfig = IndexConfig(),
    progress: Progress | None = None,
) -> dict:
    """Index FOLDER; returns the JSON of CLI.md (`added`, `updated`, `removed`, `skipped`, `total`, `images_per_second`, ...).

    `check`: only compare catalog, index and folder, repair the index, and report (nothing is embedded).
    `config.measure_forward_s` > 0: also measure the model's bare forward rate (`forward_images_per_second`).
    """
    the_home = Home.resolve(home, db=db).ensure()
    with storage_errors(the_home.root), IndexLock(the_home.lock_path):
        store = CatalogStore(the_home.catalog_url, create=not check, exclusive=True)  # the catalog's lock too (db.lock)
        try:
            if check:
                return check_catalog(store, folder, home=the_home, config=config)
            scan = scan_folder(folder)  # bad input fails before anything is loaded or written
            label_map = resolve_labels(scan.root, scan.files, labels)
            choice = _model_for(store, the_home, model, reindex=config.reindex)
            lm = with_runtime(load_model(choice.path))  # $ENGINE_RUNTIME: torch, or onnx
            warn_if_synthetic(lm, [scan.root])
            result = _index(lm, store, scan, label_map, the_home, relabel=labels is not None, prune=prune,
                            config=config, progress=progress)
            return {**result, "model_used": choice.describe(lm)}
        finally:
            store.close()


def _model_for(store: CatalogStore, home: Home, model, *, reindex: bool) -> ModelChoice:
    """--model; else, extending an index, the model that built it (never another: bind_model refuses a mix);
    else the home's trained model, else the shipped one."""
    stored = None if (model is not None or reindex) else store.model_info()
    if stored is not None and store.count():
        return ModelChoice(index_model(home, stored).path, "index")
    return choose_model(home, model)


def _index(lm: LoadedModel, store: CatalogStore, scan: Walk, label_map: dict[str, Labels], home: Home, *,
           relabel: bool, prune: bool, config: IndexConfig, progress) -> dict:
    started = time.perf_counter()
    info = model_info(lm)
    uid = store.bind_model(info, versions=versions(), reindex=config.reindex)
    path = index_file(home, uid)
    remove_stale_temp_files(path)
    index, repair = open_index(store, path, dim=lm.embedding_dim, nprobe=config.nprobe, verify_sample=config.verify_sample)
    writer = IndexWriter(store, index, path, model=info, config=config)
    if repair.changed:
        writer.mark_dirty()
    plan = plan_changes(scan.files, store.file_states(), root=scan.root, progress=progress)
    writer.move(plan.restat + plan.moves)
    relabelled = _relabel(writer, plan, label_map) if relabel else 0
    copies = insert_copies(writer, plan.copies, labels=label_map, config=config)
    if config.cluster:  # decoding and forward passes on Ray actors; ray is an optional extra
        from indexer.ray_embed import embed_on_cluster

        embedded, inference_info = embed_on_cluster(lm, plan.embed, labels=label_map, writer=writer, config=config,
                                                    progress=progress)
        forward = None
    else:
        inference, tried = plan_for(lm, config, n_images=len(plan.embed), cache=home.root / "cache" / PLAN_CACHE)
        before = _forward_rate(lm, inference, config)
        embedded = embed_and_insert(lm, plan.embed, labels=label_map, writer=writer, config=config, plan=inference,
                                    progress=progress)
        forward = _mean(before, _forward_rate(lm, inference, config))
        inference_info = {**inference.to_dict(), **tried}
    if prune:
        writer.delete(plan.gone)
    writer.finish()
    result = _summary(scan.skipped + plan.skipped, plan, copies, embedded, writer, repair.to_dict(),
                      prune=prune, relabelled=relabelled, seconds=time.perf_counter() - started, forward=forward)
    return {**result, "inference": inference_info} if plan.embed else result


def _forward_rate(lm: LoadedModel, plan: InferencePlan, config: IndexConfig) -> float | None:
    """Half of `measure_forward_s` right before embedding and half right after: the machine's drift cancels."""
    if config.measure_forward_s <= 0:
        return None
    return bare_forward_rate(lm, plan, seconds=config.measure_forward_s / 2)


def _mean(a: float | None, b: float | None) -> tuple[float, float, float] | None:
    return None if a is None or b is None else ((a + b) / 2, a, b)


def _relabel(writer: IndexWriter, plan: Plan, label_map: dict[str, Labels]) -> int:
    """Rows that stay but whose labels in the CSV changed (metadata only, no re-embedding)."""
    current = writer.store.labels_of()
    changes = [(pid, label_map[path]) for path, pid in plan.kept.items() if current.get(pid) != label_map[path]]
    writer.relabel(changes)
    return len(changes)


def _summary(skipped, plan: Plan, copies: EmbedStats, embedded: EmbedStats, writer: IndexWriter, repair: dict, *,
             prune: bool, relabelled: int, seconds: float, forward: tuple[float, float, float] | None) -> dict:
    result = {
        "added": copies.added + embedded.added,
        "updated": copies.updated + embedded.updated + len(plan.moves),
        "removed": len(plan.gone) if prune else 0,
        "skipped": [{"path": p, "reason": r} for p, r in skipped + embedded.skipped],
        "total": writer.store.count(),
        "images_per_second": round(embedded.images_per_second, 2),
        "embedded": embedded.embedded,
        "reused_vectors": copies.added + copies.updated,
        "moved": len(plan.moves),
        "relabelled": relabelled,
        "missing": 0 if prune else len(plan.gone),
        "seconds": round(seconds, 2),
        "index_type": writer.index.kind,
        "repaired": repair,
    }
    if writer.index.kind == IVF:
        result["recall_at_10"] = writer.recall_at_10
    if forward is not None:
        mean, before, after = forward
        result["forward_images_per_second"] = round(mean, 2)
        result["forward_images_per_second_before_after"] = [round(before, 2), round(after, 2)]
        result["efficiency"] = round(embedded.images_per_second / mean, 3) if mean else None
    return result
