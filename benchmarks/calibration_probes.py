"""Where the CV's calibration error comes from: probes on the folds of benchmarks/accuracy.py (issue 13).

    .venv/bin/python benchmarks/calibration_probes.py --data /tmp/prep_art [--seeds 0 1] [--val-fraction 0.15]

Trains the default head per fold, calibrated on the inner val pairs alone (recipe new_default_valcal),
and keeps the fold's val and test embeddings and 3,000 training paintings as a cohort. Then:
- floor: one calibration fitted on the test pairs of every fold of the seed together (anchored
  Platt, free Platt, isotonic), each fold's ECE under it: what no single map fitted on other painters
  can beat, since seven test painters sit off any common map by themselves;
- pairs: the fold's ECE with 2,000 to 20,000 test pairs, and the ECE a perfectly calibrated model
  would show on as many pairs (labels drawn from its own probabilities): the finite-sample part;
- cohort normalisation: S-norm and mean-centring of each cosine against the image's top-k cosines to
  the training cohort (k = all, 50, 200), calibrated on val the same way.
Writes benchmarks/results/calibration_probes.json; prints one line per probe (mean over folds).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

import numpy as np  # noqa: E402
from sklearn.isotonic import IsotonicRegression  # noqa: E402
from sklearn.metrics import roc_auc_score  # noqa: E402

from benchmarks.accuracy_recipes import RECIPES  # noqa: E402
from engine.calibrate.platt import best_threshold, fit_calibration, probability
from engine.metrics.calibration_error import expected_calibration_error  # noqa: E402
from benchmarks.crossval.harness import CrossValConfig, embed, fold_pairs, make_folds  # noqa: E402
from benchmarks.crossval.features import prepared_features  # noqa: E402
from engine.base.vectors import cosine_scores  # noqa: E402
from engine.model.augment import AugmentConfig  # noqa: E402
from engine.model.network import NetworkConfig  # noqa: E402

PAIR_COUNTS = (2000, 5000, 10000, 20000)


def fold_embeddings(args) -> list[dict]:
    network = NetworkConfig(pooling="gram")
    data = prepared_features([args.data], network, cache_dir=args.cache, views=2, augment=AugmentConfig())
    recipe = RECIPES["new_default_valcal"](network)
    config = CrossValConfig(inner_val_fraction=args.val_fraction)
    out = []
    for seed in args.seeds:
        for fold in make_folds(data.artists, np.ones(len(data.artists), bool), config=config, seed=seed):
            train, val, test = data.take(fold.train), data.take(fold.val), data.take(fold.test)
            embedder = recipe.fit(train, val, seed=seed)
            cohort = np.random.default_rng(seed).permutation(len(train.artists))[:3000]
            out.append({"seed": seed, "fold": fold.index, "val": val, "test": test, "val_emb": embed(embedder, val),
                        "test_emb": embed(embedder, test), "cohort": embed(embedder, train.take(cohort))})
            print(f"seed {seed} fold {fold.index} embedded", file=sys.stderr, flush=True)
    return out


def _scored(f: dict, role: str, n_pairs: int = 2000):
    pairs = fold_pairs(f[role], CrossValConfig(pairs=n_pairs), f["seed"])
    return cosine_scores(f[f"{role}_emb"], pairs.i, pairs.j), pairs.same, pairs


def _val_calibration(scores, same) -> dict:
    return fit_calibration(scores, same, anchor=best_threshold(scores, same))


def floor_probe(folds: list[dict]) -> dict:
    out = {"val_calibrated": [], "floor_anchored": [], "floor_free": [], "floor_isotonic": []}
    for seed in sorted({f["seed"] for f in folds}):
        mine = [f for f in folds if f["seed"] == seed]
        tests = [_scored(f, "test")[:2] for f in mine]
        s, y = np.concatenate([t[0] for t in tests]), np.concatenate([t[1] for t in tests])
        maps = {"floor_anchored": _val_calibration(s, y), "floor_free": fit_calibration(s, y)}
        iso = IsotonicRegression(out_of_bounds="clip").fit(s, y)
        for f, (ts, ty) in zip(mine, tests):
            out["val_calibrated"].append(expected_calibration_error(probability(ts, _val_calibration(*_scored(f, "val")[:2])), ty))
            for name, cal in maps.items():
                out[name].append(expected_calibration_error(probability(ts, cal), ty))
            out["floor_isotonic"].append(expected_calibration_error(iso.predict(ts), ty))
    return _means(out)


def pairs_probe(folds: list[dict]) -> dict:
    out: dict[str, list[float]] = {}
    rng = np.random.default_rng(0)
    for f in folds:
        cal = _val_calibration(*_scored(f, "val")[:2])
        for n in PAIR_COUNTS:
            ts, ty, _ = _scored(f, "test", n)
            p = probability(ts, cal)
            out.setdefault(f"ece_{n}", []).append(expected_calibration_error(p, ty))
            out.setdefault(f"perfect_{n}", []).append(np.mean([expected_calibration_error(p, rng.random(len(p)) < p) for _ in range(10)]))
    return _means(out)


def _cohort_stats(emb: np.ndarray, cohort: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    s = emb @ cohort.T
    s = np.sort(s, axis=1)[:, -k:] if k else s
    return s.mean(axis=1), s.std(axis=1) + 1e-6


def _normalised(scores, pairs, stats, kind: str):
    mean, sd = stats
    if kind == "snorm":
        return 0.5 * ((scores - mean[pairs.i]) / sd[pairs.i] + (scores - mean[pairs.j]) / sd[pairs.j])
    return scores - 0.5 * (mean[pairs.i] + mean[pairs.j])


def cohort_probe(folds: list[dict]) -> dict:
    out: dict[str, list[float]] = {}
    for f in folds:
        (vs, vy, vp), (ts, ty, tp) = _scored(f, "val"), _scored(f, "test")
        variants = {"raw": (vs, ts)}
        for k in (0, 50, 200):
            v_stats, t_stats = _cohort_stats(f["val_emb"], f["cohort"], k), _cohort_stats(f["test_emb"], f["cohort"], k)
            for kind in ("snorm", "centre"):
                variants[f"{kind}_k{k}"] = (_normalised(vs, vp, v_stats, kind), _normalised(ts, tp, t_stats, kind))
        for name, (v, t) in variants.items():
            out.setdefault(f"{name}_ece", []).append(expected_calibration_error(probability(t, _val_calibration(v, vy)), ty))
            out.setdefault(f"{name}_auc", []).append(float(roc_auc_score(ty, t)))
    return _means(out)


def _means(values: dict[str, list[float]]) -> dict:
    return {k: {"mean": float(np.mean(v)), "sd": float(np.std(v, ddof=1)) if len(v) > 1 else 0.0, "n": len(v)} for k, v in values.items()}


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", required=True, help="a prepared set (its artists make the folds)")
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    p.add_argument("--val-fraction", type=float, default=0.15)
    p.add_argument("--cache", default="/tmp/accuracy-cache")
    p.add_argument("--out", default=str(REPO / "benchmarks" / "results" / "calibration_probes.json"))
    args = p.parse_args(argv)
    folds = fold_embeddings(args)
    result = {"floor": floor_probe(folds), "pairs": pairs_probe(folds), "cohort": cohort_probe(folds),
              "data": args.data, "seeds": args.seeds, "val_fraction": args.val_fraction,
              "command": "python benchmarks/calibration_probes.py " + " ".join(sys.argv[1:] if argv is None else argv)}
    tmp = Path(args.out).with_suffix(".tmp")
    tmp.write_text(json.dumps(result, indent=1))
    tmp.replace(args.out)
    for probe in ("floor", "pairs", "cohort"):
        print(probe + ": " + ", ".join(f"{k} {v['mean']:.4f}" for k, v in result[probe].items()))


if __name__ == "__main__":
    main()
