"""Attribution through the index: index 70% of each artist's paintings, query the other 30%.

    python benchmarks/index_holdout.py --model MODEL.pt [--data ../shared/artdata] [--work /tmp/holdout] [--k 10]
    python benchmarks/index_holdout.py --model MODEL.pt --from-home HOME   # HOME: all of artdata indexed with MODEL

The first form runs the product end to end (`index_folder` on the 70%, `query_images` on the 30%).
The second reuses the vectors a full `engine index` of artdata already stored in HOME's catalog:
each held-out vector is searched in the same FAISS index restricted (id selector) to the 70%'s
ids, and the artists are ranked by the same vote (`indexer.search.rank_artists`): the same
computation as `engine query` on those files, without embedding everything again.

Reports top-1 artist accuracy of `engine query` (the similarity-weighted vote of the top-k), the
nearest neighbour's artist accuracy, and top-3, over the held-out paintings; plus indexing
images/s. The images are copied into WORK (the indexer never follows links out of its folder);
nothing is written into the repository.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import sys
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from engine.data.labels import read_labels  # noqa: E402
from indexer.pipeline import index_folder  # noqa: E402
from indexer.search import query_images  # noqa: E402

ARTDATA = Path(__file__).resolve().parents[2] / "shared" / "artdata"


def split_per_artist(labels: dict, *, fraction: float, seed: int) -> tuple[list[str], list[str]]:
    """(indexed, held out) file names: `fraction` of each artist's files indexed, at least one of each side."""
    by_artist: dict[str, list[str]] = defaultdict(list)
    for name, record in sorted(labels.items()):
        by_artist[record.artist].append(name)
    rng = random.Random(seed)
    indexed, held = [], []
    for names in by_artist.values():
        rng.shuffle(names)
        cut = min(max(1, round(fraction * len(names))), len(names) - 1)
        indexed += names[:cut]
        held += names[cut:]
    return indexed, held


def copy_files(names: list[str], source: Path, target: Path) -> None:
    target.mkdir(parents=True, exist_ok=True)
    for name in names:
        if not (target / name).exists():
            shutil.copy2(source / name, target / name)


def score(results: list[dict], truth: dict[str, str], *, splits: dict[str, str] | None = None) -> dict:
    """Accuracies over all queries, and per training split of the query's artist when `splits` ({artist: split}) is given."""
    report = _score(results, truth)
    if splits:
        by_split: dict[str, list[dict]] = defaultdict(list)
        for item in results:
            by_split[splits.get(truth[Path(item["query"]).name], "unknown")].append(item)
        report["by_model_split"] = {name: _score(items, truth) for name, items in sorted(by_split.items())}
    return report


def artist_splits(manifest: Path) -> dict[str, str]:
    """{artist: split} of the dataset the model was trained on (`engine prepare` manifest.csv)."""
    import csv

    with open(manifest, newline="", encoding="utf-8") as fh:
        return {row["artist"]: row["split"] for row in csv.DictReader(fh)}


def _score(results: list[dict], truth: dict[str, str]) -> dict:
    top1 = nn1 = top3 = 0
    for item in results:
        artist = truth[Path(item["query"]).name]
        ranked = [a["artist"] for a in item["artists"]]
        top1 += bool(ranked) and ranked[0] == artist
        top3 += artist in ranked[:3]
        nn1 += bool(item["matches"]) and item["matches"][0]["artist"] == artist
    n = len(results)
    return {"queries": n, "top1_artist_accuracy": round(top1 / n, 4), "top3_artist_accuracy": round(top3 / n, 4),
            "nearest_neighbour_accuracy": round(nn1 / n, 4)}


def from_home(args, labels: dict, indexed: list[str], held: list[str], splits: dict | None) -> dict:
    import numpy as np

    from db.store import CatalogStore, check_model
    from engine.model.checkpoint import load_model
    from engine.base.home import Home
    from indexer.artefacts import index_file, model_info
    from indexer.consistency import open_index
    from indexer.search import rank_artists

    home = Home.resolve(args.from_home)
    store = CatalogStore(home.catalog_url, create=False)
    check_model(store.model_info(), model_info(load_model(args.model)))
    index, _ = open_index(store, index_file(home, store.catalog_uid()), dim=store.model_info().embedding_dim)
    views = store.views(store.ids().tolist())
    by_name = {Path(v.path).name: v for v in views.values()}
    train_ids = np.array(sorted(by_name[n].id for n in indexed), dtype=np.int64)
    query_ids = [by_name[n].id for n in held]
    vectors = store.vectors(query_ids)
    sims, ids = index.search(np.stack([vectors[i] for i in query_ids]), args.k, allowed=train_ids)
    results = []
    for name, row_sims, row_ids in zip(held, sims, ids):
        matches = [{"path": views[int(i)].path, "artist": views[int(i)].artist, "similarity": float(s)} for s, i in zip(row_sims, row_ids)]
        results.append({"query": name, "matches": matches, "artists": rank_artists(matches)})
    return {"model": str(args.model), "artists": len({r.artist for r in labels.values()}), "indexed": len(train_ids),
            "k": args.k, **score(results, {n: labels[n].artist for n in held}, splits=splits)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, required=True)
    parser.add_argument("--data", type=Path, default=ARTDATA)
    parser.add_argument("--work", type=Path, default=Path("/tmp/index_holdout"))
    parser.add_argument("--fraction", type=float, default=0.7)
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--from-home", type=Path, default=None)
    parser.add_argument("--manifest", type=Path, default=None, help="manifest.csv the model was trained on: accuracy per split of the query's artist")
    args = parser.parse_args()
    splits = artist_splits(args.manifest) if args.manifest else None

    labels = read_labels(args.data / "train_info.csv")
    labels = {n: r for n, r in labels.items() if (args.data / "train" / n).is_file()}
    indexed, held = split_per_artist(labels, fraction=args.fraction, seed=args.seed)
    if args.from_home is not None:
        report = {"mode": "from-home", **from_home(args, labels, indexed, held, splits)}
        print(json.dumps(report, indent=2))
        return
    copy_files(indexed, args.data / "train", args.work / "indexed")
    copy_files(held, args.data / "train", args.work / "held")

    from indexer.config import IndexConfig

    start = time.perf_counter()
    summary = index_folder(args.work / "indexed", home=args.work / "home", labels=args.data / "train_info.csv",
                           model=args.model, config=IndexConfig(batch_size=args.batch_size))
    index_s = time.perf_counter() - start
    start = time.perf_counter()
    results = query_images([args.work / "held" / n for n in held], home=args.work / "home", model=args.model, k=args.k)["results"]
    query_s = time.perf_counter() - start
    report = {
        "model": str(args.model), "artists": len({r.artist for r in labels.values()}), "indexed": summary["total"],
        "k": args.k, "index_images_per_second": summary["images_per_second"], "index_seconds": round(index_s, 1),
        "query_seconds": round(query_s, 1),
        **score(results, {n: labels[n].artist for n in held}, splits=splits),
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
