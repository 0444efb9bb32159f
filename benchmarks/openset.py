"""Open-set attribution on the untrained trunk's features: artist folds of a prepared set.

    python benchmarks/openset.py --data PREPARED [--cache DIR] [--folds 5]

Each fold: the attribution rule is fitted on the next fold's artists (engine.evaluate.openset.
fit_attribution_calibration), then measured on this fold's artists (open_set_metrics: half of them
indexed, held-out paintings of all as queries). Compared with the verification calibration (Platt
on pair cosines) applied to each artist's best match. Features: efficientnet_lite0's pooled
features (the baseline of `engine evaluate`), and its multiscale features standardised per column;
computed once into --cache (the frozen-mode feature cache). Writes benchmarks/results/openset.json.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from engine.data.hashing import file_sha256  # noqa: E402
from engine.data.manifest import read_manifest  # noqa: E402
from engine.evaluate.openset import AttributionCalibration, fit_attribution_calibration, open_set_metrics  # noqa: E402
from engine.evaluate.scores import calibrate, draw_pairs  # noqa: E402
from engine.model.augment import AugmentConfig  # noqa: E402
from engine.model.backbones import get_spec  # noqa: E402
from engine.model.network import NetworkConfig, build_pooled_trunk  # noqa: E402
from engine.train.features import cached_features  # noqa: E402
from engine.train.frozen import pooling_id  # noqa: E402

METRICS = ("known_correct", "unknown_correct", "auroc", "closed_top1", "ece")
RESULTS = Path(__file__).resolve().parent / "results" / "openset.json"


def trunk_features(data: Path, cache: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(multiscale features (N, F), artists (N,), groups (N,)) of every readable painting."""
    frame = read_manifest(data)
    paths = list(frame["abspath"])
    network = NetworkConfig()
    spec = get_spec(network.backbone)
    feats, ok = cached_features(
        build_pooled_trunk(network), paths, [file_sha256(p) for p in paths], backbone=spec.name,
        preprocessing=spec.preprocessing(), augment=AugmentConfig(), views=1, cache_dir=cache,
        pooling=pooling_id(network), device=torch.device("cpu"),
    )
    return feats[0].numpy()[ok], frame["artist"].astype(str).to_numpy(dtype=object)[ok], frame["sha256"].to_numpy(dtype=object)[ok]


def platt_rule(emb, artists, groups) -> AttributionCalibration:
    """The verification calibration p = sigmoid(a * cosine + b) applied to an artist's best match."""
    pairs = draw_pairs(list(artists), list(groups), n_pairs=2000, per_artist_cap=0, seed=0)
    platt = calibrate(emb, pairs, source="val").calibration
    return AttributionCalibration(platt["a"], 0.0, platt["b"])


def folds_of(emb, artists, groups, folds: int) -> dict:
    order = np.random.default_rng(0).permutation(np.array(sorted(set(artists.tolist())), dtype=object))
    parts = np.array_split(order, folds)
    rows: dict[str, list[dict]] = {"fitted": [], "verification calibration": []}
    for f in range(folds):
        test, cal = np.isin(artists, parts[f]), np.isin(artists, parts[(f + 1) % folds])
        rules = {"fitted": fit_attribution_calibration(emb[cal], artists[cal], seed=0, groups=groups[cal]),
                 "verification calibration": platt_rule(emb[cal], artists[cal], groups[cal])}
        for name, rule in rules.items():
            rows[name].append(open_set_metrics(emb[test], artists[test], calibration=rule, seed=0, groups=groups[test]))
    return {name: {m: [float(np.mean([r[m] for r in rs])), float(np.std([r[m] for r in rs]))] for m in METRICS}
            for name, rs in rows.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="a prepared set (engine prepare), e.g. of ../shared/artdata")
    parser.add_argument("--cache", type=Path, default=Path("/tmp/openset-cache"), help="trunk feature cache folder")
    parser.add_argument("--folds", type=int, default=5)
    args = parser.parse_args()
    started = time.perf_counter()
    feats, artists, groups = trunk_features(args.data, args.cache)
    variants = {"trunk pooled (1280)": feats[:, :1280],
                "trunk multiscale, standardised": (feats - feats.mean(0)) / (feats.std(0) + 1e-6)}
    result = {"data": str(args.data), "folds": args.folds, "artists": len(set(artists.tolist())), "paintings": len(artists),
              "results": {name: folds_of(emb, artists, groups, args.folds) for name, emb in variants.items()}}
    result["seconds"] = time.perf_counter() - started
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=1) + "\n")
    for name, rules in result["results"].items():
        for rule, metrics in rules.items():
            print(f"{name:32s} {rule:26s} " + "  ".join(f"{m} {a:.3f}±{s:.3f}" for m, (a, s) in metrics.items()))


if __name__ == "__main__":
    main()
