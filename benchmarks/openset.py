"""Open-set attribution on the untrained trunk's features: artist folds of a prepared set.

    python benchmarks/openset.py --data PREPARED [--cache DIR] [--folds 5] [--scale toy|quick|full]
    ENGINE_BENCH_PREPARED=PREPARED python benchmarks/run.py --only openset

PREPARED is a prepared set (`engine prepare ../shared/artdata/train --labels ../shared/artdata/train_info.csv
--out PREPARED`); --scale keeps the first 8 (toy) or 40 (quick) paintings of each artist, full keeps all.

Each fold: the attribution rule is fitted on the next fold's artists (engine.calibrate.attribution.
fit_attribution_calibration), then measured on this fold's artists (open_set_metrics: half of them
indexed, held-out paintings of all as queries). Compared with the verification calibration (Platt
on pair cosines) applied to each artist's best match. Features: efficientnet_lite0's pooled
features (the baseline of `engine evaluate`), and its multiscale features standardised per column;
computed once into --cache (the frozen-mode feature cache). Writes benchmarks/results/openset.json.
No speed is measured here: the result is accuracy, each rule against the other on the same folds.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks.common import cli_args, save_result
from engine.data.hashing import file_sha256
from engine.data.manifest import read_manifest
from engine.calibrate.attribution import AttributionCalibration, fit_attribution_calibration
from engine.evaluate.open_set import open_set_metrics
from engine.calibrate.fit import calibrate
from engine.metrics.pair_sampling import draw_pairs
from engine.model.augment import AugmentConfig
from engine.model.backbones import get_spec
from engine.model.network import NetworkConfig, build_pooled_trunk
from engine.train.features import cached_features
from engine.train.frozen import pooling_id

NAME = "openset"
METRICS = ("known_correct", "unknown_correct", "auroc", "closed_top1", "ece")
PER_ARTIST = {"toy": 8, "quick": 40, "full": None}  # paintings kept per artist (the manifest's first ones)
PREPARED_ENV = "ENGINE_BENCH_PREPARED"


def trunk_features(data: Path, cache: Path, per_artist: int | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(multiscale features (N, F), artists (N,), groups (N,)) of every readable painting (`per_artist` of each)."""
    frame = read_manifest(data)
    if per_artist:
        frame = frame.groupby("artist", sort=False).head(per_artist)
    paths = list(frame["abspath"])
    network = NetworkConfig(pooling="multiscale")  # the features this benchmark names, whatever the default pooling
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


def run(*, scale: str = "full", results_dir: Path | None = None, data: Path | None = None,
        cache: Path = Path("/tmp/openset-cache"), folds: int = 5) -> dict:
    """Both rules on `folds` artist folds of the prepared set `data` (default: $ENGINE_BENCH_PREPARED)."""
    data = data or (Path(os.environ[PREPARED_ENV]) if os.environ.get(PREPARED_ENV) else None)
    if data is None:
        raise SystemExit(f"openset needs a prepared set: pass --data PREPARED or set {PREPARED_ENV} "
                         "(engine prepare ../shared/artdata/train --labels ../shared/artdata/train_info.csv --out PREPARED)")
    started = time.perf_counter()
    feats, artists, groups = trunk_features(data, cache, PER_ARTIST[scale])
    variants = {"trunk pooled (1280)": feats[:, :1280],
                "trunk multiscale, standardised": (feats - feats.mean(0)) / (feats.std(0) + 1e-6)}
    result = {"scale": scale, "data": str(data), "folds": folds, "artists": len(set(artists.tolist())),
              "paintings": len(artists),
              "results": {name: folds_of(emb, artists, groups, folds) for name, emb in variants.items()}}
    result["seconds"] = time.perf_counter() - started
    save_result(NAME, result, results_dir=results_dir)
    _print(result)
    return result


def _print(result: dict) -> None:
    for name, rules in result["results"].items():
        for rule, metrics in rules.items():
            print(f"{name:32s} {rule:26s} " + "  ".join(f"{m} {a:.3f}±{s:.3f}" for m, (a, s) in metrics.items()))


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--data", type=Path, default=None, help="a prepared set (engine prepare), e.g. of ../shared/artdata")
    parser.add_argument("--cache", type=Path, default=Path("/tmp/openset-cache"), help="trunk feature cache folder")
    parser.add_argument("--folds", type=int, default=5)
    known, rest = parser.parse_known_args(argv)
    args = cli_args(__doc__.splitlines()[0], rest)
    run(scale=args.scale, results_dir=args.results, data=known.data, cache=known.cache, folds=known.folds)


if __name__ == "__main__":
    main()
