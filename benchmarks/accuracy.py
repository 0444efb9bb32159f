"""Accuracy on painters the model never saw: artist-disjoint K-fold cross-validation (issue 13).

    .venv/bin/python benchmarks/accuracy.py --data /tmp/prep_art [/tmp/prep_wiki] --recipe trunk default

The first --data set gives the test folds (its artists are cut into --folds groups); further sets
add painters to the training side of every fold (--pool all: folds over every painter instead;
--pool sources: over every painter, each source's painters cut into the folds on their own, and every
metric also reported per source and as the mean of the sources, the selection criterion:

    .venv/bin/python benchmarks/accuracy.py --data /tmp/prep_union --pool sources --pooling gram --recipe trunk new_default

A source is the folder `engine prepare` read a painting from (the manifest's `source` column: artdata,
wikiart). --transfer A:B instead trains on source A alone and tests on every painter of source B.
Trunk features of each view are computed once into --cache and reused by every fold, seed and
recipe. Each run is stored under its own key in --out (other runs are kept), so the BENCHMARKS
"Accuracy" table can be rebuilt from the file.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from pathlib import Path

# One BLAS thread: on a shared 2-core machine OpenBLAS's spinning threads made eigh/QR 6-10x slower.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

import numpy as np  # noqa: E402

from benchmarks.accuracy_recipes import RECIPES, needed_cut, needed_views  # noqa: E402
from benchmarks.crossval.harness import METRICS, CrossValConfig, cross_validate, make_folds, summarise, transfer_fold  # noqa: E402
from benchmarks.crossval.features import FeatureSet, HFLIP, prepared_features  # noqa: E402
from engine.model.augment import AugmentConfig  # noqa: E402
from engine.model.network import NetworkConfig  # noqa: E402
from engine.train.tail import CUTS  # noqa: E402

EXTRA_COLUMNS = ("ece_over_folds", "known_correct", "unknown_correct", "open_set_auroc", "open_set_ece", "band_coverage", "band_accuracy",
                 "own_ece_before", "own_ece", "own_open_set_auroc_before", "own_open_set_auroc", "own_known_correct_before",
                 "own_known_correct", "own_unknown_correct_before", "own_unknown_correct")


def parse(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", nargs="+", required=True, help="prepared sets; the first gives the test folds")
    p.add_argument("--folds", type=int, default=5)
    p.add_argument("--max-folds", type=int, default=None,
                   help="run only the first N of the --folds folds (a partial CV when time is short; the run key says so)")
    p.add_argument("--val-fraction", type=float, default=0.15, help="inner val artists: share of the non-test artists")
    p.add_argument("--seeds", type=int, nargs="+", default=[0])
    p.add_argument("--recipe", nargs="+", default=["trunk", "default"], choices=sorted(RECIPES))
    p.add_argument("--pool", choices=("first", "all", "sources"), default="first",
                   help="artists the test folds are drawn from (sources: all, stratified and scored by source)")
    p.add_argument("--transfer", nargs="+", metavar="A:B", default=[],
                   help="instead of K folds: train on source A alone, test on source B (one run per pair)")
    p.add_argument("--extra-role", choices=("train", "val"), default="train", help="further --data sets train, or join the inner val")
    p.add_argument("--tta", action="store_true", help="average the embeddings of the image and its mirror image")
    p.add_argument("--views", type=int, default=2, help="cached views to load: the clean one and VIEWS-1 training augmentations")
    p.add_argument("--backbone", default="efficientnet_lite0")
    p.add_argument("--pooling", default="multiscale", help="trunk pooling: avg | multiscale | gram")
    p.add_argument("--cache", default="/tmp/accuracy-cache")
    p.add_argument("--finetune-from", choices=CUTS, default=None,
                   help="cache each row with the activation entering this stage, for the tail_* recipes (last-stage fine-tuning)")
    p.add_argument("--own-collection", action="store_true",
                   help="also refit the calibration on half of each source's test painters and score it on the other half (own_* columns)")
    p.add_argument("--tag", default="", help="suffix of the run key in --out")
    p.add_argument("--out", default=str(REPO / "benchmarks" / "results" / "accuracy.json"))
    return p.parse_args(argv)


def load(args, network: NetworkConfig) -> FeatureSet:
    """Views: 0 clean, 1 .. --views - 1 training augmentations, then with --tta the mirror image (view 2), each cached."""
    train_views = prepared_features(args.data, network, cache_dir=args.cache, views=args.views, augment=AugmentConfig(), cut=args.finetune_from)
    if not args.tta:
        return train_views
    if args.views != 2:
        raise SystemExit("--tta reads the mirror image as view 2: run it with the default --views 2")
    mirror = prepared_features(args.data, network, cache_dir=args.cache, views=2, augment=HFLIP)
    return FeatureSet(np.concatenate([train_views.features, mirror.features[1:]]), *_meta(train_views))


def _meta(fs: FeatureSet):
    return fs.artists, fs.groups, fs.collection, fs.paths


def open_set_extra():
    """The open-set columns when engine/evaluate/openset.py provides them (None otherwise)."""
    try:
        from engine.calibrate.attribution import fit_attribution_calibration
        from engine.evaluate.open_set import open_set_metrics
    except ImportError:
        return None

    def extra(val_emb, val, test_emb, test, seed):
        cal = fit_attribution_calibration(val_emb, val.artists, seed=seed, groups=val.groups)
        out = open_set_metrics(test_emb, test.artists, calibration=cal, seed=seed, groups=test.groups)
        # openset names them auroc and ece; the table says which AUROC and ECE
        return {"known_correct": out["known_correct"], "unknown_correct": out["unknown_correct"],
                "open_set_auroc": out["auroc"], "open_set_ece": out["ece"]}

    return extra


def run(args) -> dict:
    started = time.perf_counter()
    network = NetworkConfig(backbone=args.backbone, pooling=args.pooling)
    data = load(args, network)
    feature_seconds = time.perf_counter() - started
    pool = np.ones(len(data.artists), bool) if args.pool != "first" else data.collection == 0
    recipes = [RECIPES[name](network) for name in args.recipe]
    for name, recipe in zip(args.recipe, recipes):
        needed_views(recipe, data.features.shape[0])
        needed_cut(name, args.finetune_from)
    config = CrossValConfig(folds=args.folds, inner_val_fraction=args.val_fraction, extra_role=args.extra_role)
    sources = data.source_labels()
    common = dict(config=config, seeds=args.seeds, eval_views=(0, 2) if args.tta else (0,), extra=open_set_extra(), on_row=_log_row,
                  own_collection=args.own_collection)
    if args.transfer:
        runs = {}
        for pair in args.transfer:
            a, b = _transfer_pair(pair)
            rows = cross_validate(data, recipes, folds=lambda seed: [transfer_fold(
                data.artists, sources, train_source=a, test_source=b, config=config, seed=seed)], **common)
            runs.update({f"{name} transfer {a}->{b}": ({"transfer": [a, b]}, r) for name, r in rows.items()})
    else:
        strata = sources if args.pool == "sources" else None
        folds = lambda seed: make_folds(data.artists, pool, config=config, seed=seed, strata=strata)[:args.max_folds]  # noqa: E731
        rows = cross_validate(data, recipes, test_pool=pool, folds=folds, by_source=args.pool == "sources", **common)
        runs = {name: ({}, r) for name, r in rows.items()}
    return {
        "data": [str(Path(d)) for d in args.data], "pool": args.pool, "folds": args.folds, "max_folds": args.max_folds, "seeds": args.seeds,
        "tta": args.tta, "backbone": args.backbone, "pooling": args.pooling, "finetune_from": args.finetune_from, "views": args.views,
        "artists": int(len(set(data.artists.tolist()))), "paintings": int(len(data.artists)),
        "test_artists": int(len(set(data.artists[pool].tolist()))),
        "sources": {s: int(len(set(data.artists[sources == s].tolist()))) for s in sorted(set(sources.tolist()))},
        "feature_seconds": feature_seconds, "seconds": time.perf_counter() - started,
        "transfer": bool(args.transfer), "finished": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "recipes": {name: {**meta, "summary": summarise(r), "rows": r} for name, (meta, r) in runs.items()},
        "command": "python benchmarks/accuracy.py " + " ".join(sys.argv[1:]),
    }


def _log_row(name: str, row: dict) -> None:
    logging.info("%s seed %d fold %d: AUC %.4f p@1 %.4f MAP@R %.4f%s", name, row["seed"], row["fold"], row["roc_auc"],
                 row["precision_at_1"], row["map_at_r"], f" (source mean AUC {row['mean/roc_auc']:.4f})" if "mean/roc_auc" in row else "")


def _transfer_pair(text: str) -> tuple[str, str]:
    a, sep, b = text.partition(":")
    if not sep or not a or not b:
        raise SystemExit(f"--transfer takes TRAIN_SOURCE:TEST_SOURCE, got {text!r}")
    return a, b


def run_key(args, name: str) -> str:
    extra = ("+extra" if args.extra_role == "train" else "+extra-as-val") if len(args.data) > 1 else ""
    fold_parts = [] if " transfer " in name else [f"pool={args.pool}{extra}", f"k={args.folds}"]
    fold_parts += [f"first {args.max_folds} folds"] if args.max_folds and fold_parts and args.max_folds < args.folds else []
    parts = [name, *fold_parts, f"seeds={len(args.seeds)}"]
    parts += ["tta"] if args.tta else []
    parts += [args.backbone] if args.backbone != "efficientnet_lite0" else []
    parts += [args.pooling] if args.pooling != "multiscale" else []
    parts += [f"val={args.val_fraction}"] if args.val_fraction != 0.15 else []
    parts += [f"cut={args.finetune_from}"] if args.finetune_from else []
    parts += [f"views={args.views}"] if args.views != 2 else []
    return " ".join(parts + ([args.tag] if args.tag else []))


def save(args, result: dict) -> None:
    out = Path(args.out)
    stored = json.loads(out.read_text()) if out.is_file() else {"runs": {}}
    for name, block in result["recipes"].items():
        meta = {k: v for k, v in result.items() if k != "recipes"}
        recipe = name.split(" transfer ")[0]
        stored["runs"][run_key(args, name)] = {"recipe": recipe, **meta, **block}
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".tmp")
    tmp.write_text(json.dumps(stored, indent=1))
    tmp.replace(out)


def print_table(result: dict) -> None:
    """One line per recipe; with --pool sources also one per source and the source mean."""
    prefixes = [""] + [f"{s}/" for s in result["sources"]] + ["mean/"] if result["pool"] == "sources" and not result.get("transfer") else [""]
    summaries = [b["summary"] for b in result["recipes"].values()]
    columns = list(METRICS) + [c for c in EXTRA_COLUMNS if any(c in s for s in summaries)]
    print("recipe".ljust(30) + "".join(c[:14].rjust(16) for c in columns))
    for name, block in result["recipes"].items():
        s = block["summary"]
        for prefix in prefixes:
            cells = [f"{s[prefix + c]['mean']:.3f}±{s[prefix + c]['sd']:.3f}" if prefix + c in s else "-" for c in columns]
            print(f"{name} {prefix.rstrip('/')}".ljust(30) + "".join(cell.rjust(16) for cell in cells))


def main(argv=None) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", stream=sys.stderr)
    args = parse(argv)
    result = run(args)
    save(args, result)
    print_table(result)
    print(f"{result['seconds']:.0f} s ({result['feature_seconds']:.0f} s loading/computing features)", file=sys.stderr)


if __name__ == "__main__":
    main()
