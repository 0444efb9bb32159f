"""Probe (issue 28, part 3): does an open-set rule that sees the query's neighbourhood answer "unknown" better?

    python benchmarks/openset_density.py --data PREPARED_BOTH_SOURCES --cache CACHE --folds 0 1 [--work DIR]

The shipped rule (engine.calibrate.attribution) gives each candidate artist among the query's k = 10 nearest
indexed paintings z_a = w_best best_a + w_vote vote_a + bias against the fixed logit 0 of "unknown". Here the
same maximum-likelihood fit on the same open-set episodes gets extra candidate features:
- density: the mean similarity of the k matches (how crowded the query's neighbourhood is);
- margin: best_a minus the best similarity of any other candidate (the k-th match's when there is none);
- gap_k: best_a minus the k-th match's similarity.
Embeddings: the default recipe (benchmarks/accuracy_recipes.py "new_default", as `engine train` trains it)
fitted on folds of `accuracy.py --pool sources` (same folds, seed 0); each rule fitted on the fold's inner
val artists and scored on each source's test artists (open_set_metrics' episodes). The "best+vote" row
is checked against the shipped fit. Writes benchmarks/results/openset_density.json; `--write BENCHMARKS.md`
renders the stored result (mean over the folds) into its `<!-- openset-density -->` block instead.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

import numpy as np  # noqa: E402
import torch  # noqa: E402
from scipy.optimize import minimize  # noqa: E402

from benchmarks.accuracy_recipes import RECIPES  # noqa: E402
from benchmarks.accuracy_report import probe_parser, written_instead  # noqa: E402
from benchmarks.crossval.features import prepared_features  # noqa: E402
from benchmarks.crossval.harness import CrossValConfig, embed, make_folds  # noqa: E402
from engine.calibrate.attribution import DEFAULT_K, episodes as library_episodes, fit_attribution_calibration  # noqa: E402
from engine.evaluate.open_set import _auroc  # noqa: E402
from engine.model.augment import AugmentConfig  # noqa: E402
from engine.model.network import NetworkConfig  # noqa: E402

FEATURES = ("best", "vote", "density", "margin", "gap_k")
RULES = {"best+vote (shipped)": ("best", "vote"), "+density": ("best", "vote", "density"), "+margin": ("best", "vote", "margin"),
         "+gap_k": ("best", "vote", "gap_k"), "+density+margin": ("best", "vote", "density", "margin")}
RIDGE = 1e-3  # as the shipped fit


def candidate_rows(sims: np.ndarray, artists: list) -> tuple[list[str], np.ndarray]:
    """Candidates in first-seen order and their (C, len(FEATURES)) features (the shipped two first)."""
    names, best, votes = [], {}, {}
    for s, a in zip(sims.tolist(), artists):
        if a not in best:
            names.append(a)
            best[a], votes[a] = s, 0.0
        best[a] = max(best[a], s)
        votes[a] += max(s, 0.0)
    total, kth = sum(votes.values()), float(sims[-1])
    rows = [[best[a], votes[a] / total if total > 0 else 0.0, float(np.mean(sims)),
             best[a] - max([best[b] for b in names if b != a], default=kth), best[a] - kth] for a in names]
    return names, np.array(rows, dtype=np.float64).reshape(len(names), len(FEATURES))


def episodes(emb: np.ndarray, labels: np.ndarray, groups: np.ndarray, *, seed: int, repeats: int):
    """The shipped episodes (engine.calibrate.attribution.episodes) with every feature: (feats, mask, target, known)."""
    ep = library_episodes(emb, labels, groups, k=DEFAULT_K, seed=seed, repeats=repeats, features=candidate_rows)
    return ep.feats, ep.mask, ep.target, ep.known


def _log_probabilities(theta, feats, mask, cols):
    z = np.where(mask, feats[:, :, cols] @ theta[:-1] + theta[-1], -np.inf)
    log_norm = np.logaddexp(0.0, np.logaddexp.reduce(z, axis=1))
    return z - log_norm[:, None], -log_norm


def _nll(theta, feats, mask, target, cols):
    log_p, log_unknown = _log_probabilities(theta, feats, mask, cols)
    picked = np.where(target >= 0, log_p[np.arange(len(target)), np.maximum(target, 0)], log_unknown)
    return float(-picked.mean() + RIDGE * theta[:-1] @ theta[:-1])


def fit_rule(ep, cols: list[int]) -> np.ndarray:
    start = np.zeros(len(cols) + 1)
    start[0], start[-1] = 10.0, -5.0  # the shipped fit's start
    return minimize(_nll, start, args=(*ep[:3], cols), method="L-BFGS-B").x


def score_rule(theta, ep, cols) -> dict:
    feats, mask, target, known = ep
    log_p, log_unknown = _log_probabilities(theta, feats, mask, cols)
    best = np.argmax(log_p, axis=1)
    named = np.take_along_axis(log_p, best[:, None], axis=1)[:, 0] > log_unknown
    answer = np.where(named, best, -1)
    correct = np.where(known, (answer == target) & (target >= 0), answer == -1)
    return {"open_set_auroc": _auroc(known, -log_unknown), "known_correct": float(correct[known].mean()),
            "unknown_correct": float(correct[~known].mean()), "listed": float(np.mean(target[known] >= 0))}


def fold_embeddings(args, fold_no: int) -> dict:
    path = Path(args.work) / f"fold{fold_no}.npz"
    if not path.is_file():
        torch.set_num_threads(1)
        network = NetworkConfig(pooling="gram")
        data = prepared_features(args.data, network, cache_dir=args.cache, views=2, augment=AugmentConfig())
        sources = data.source_labels()
        fold = make_folds(data.artists, np.ones(len(data.artists), bool), config=CrossValConfig(folds=5), seed=0, strata=sources)[fold_no]
        train, val, test = data.take(fold.train), data.take(fold.val), data.take(fold.test)
        embedder = RECIPES["new_default"](network).fit(train, val, seed=0)
        np.savez(path, val=embed(embedder, val), test=embed(embedder, test), val_artists=val.artists.astype(str),
                 val_groups=val.groups.astype(str), test_artists=test.artists.astype(str), test_groups=test.groups.astype(str),
                 test_sources=test.source_labels().astype(str))
    return dict(np.load(path, allow_pickle=False))


def run(args) -> dict:
    rows = []
    for fold_no in args.folds:
        d = fold_embeddings(args, fold_no)
        val = episodes(d["val"], d["val_artists"], d["val_groups"], seed=0, repeats=8)
        shipped = fit_attribution_calibration(d["val"], d["val_artists"], seed=0, groups=d["val_groups"])
        parts = {s: d["test_sources"] == s for s in sorted(set(d["test_sources"].tolist()))}
        tests = {s: episodes(d["test"][m], d["test_artists"][m], d["test_groups"][m], seed=10_000, repeats=4) for s, m in parts.items()}
        for rule, names in RULES.items():
            cols = [FEATURES.index(n) for n in names]
            theta = fit_rule(val, cols)
            if names == ("best", "vote"):  # the same rule as the library's fit, on the same episodes
                assert np.allclose(theta, [shipped.w_best, shipped.w_vote, shipped.bias], atol=1e-2), (theta, shipped)
            row = {"fold": fold_no, "rule": rule, "weights": dict(zip([*names, "bias"], map(float, theta)))}
            for source, ep in tests.items():
                row.update({f"{source}/{k}": v for k, v in score_rule(theta, ep, cols).items()})
            rows.append(row)
            print(f"fold {fold_no} {rule:22s} " + "  ".join(f"{k} {v:.3f}" for k, v in row.items() if "/" in k), flush=True)
    return {"rows": rows, "data": args.data, "folds": args.folds, "finished": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
            "command": "python benchmarks/openset_density.py " + " ".join(sys.argv[1:])}


BEGIN, END = "<!-- openset-density -->", "<!-- /openset-density -->"
METRICS = (("open_set_auroc", "open-set AUROC"), ("known_correct", "known named"), ("unknown_correct", "unknown said"),
           ("listed", "known among the candidates"))


def markdown(result: dict) -> str:
    """One row per rule: each source's metrics, the mean over the stored folds."""
    rows = result["rows"]
    sources = sorted({k.split("/")[0] for r in rows for k in r if "/" in k})
    head = ["rule", "folds"] + [f"{s} {label}" for s in sources for _, label in METRICS]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for rule in dict.fromkeys(r["rule"] for r in rows):
        mine = [r for r in rows if r["rule"] == rule]
        cells = [f"{np.mean([r[f'{s}/{m}'] for r in mine]):.3f}" for s in sources for m, _ in METRICS]
        lines.append(f"| {rule} | {len(mine)} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv=None) -> None:
    p = probe_parser(__doc__, "openset_density.json")
    p.add_argument("--folds", type=int, nargs="+", default=[0])
    p.add_argument("--work", default="/tmp/openset-density", help="each fold's embeddings are kept here (foldN.npz)")
    args = p.parse_args(argv)
    if written_instead(p, args, markdown, script="openset_density.py", begin=BEGIN, end=END):
        return
    Path(args.work).mkdir(parents=True, exist_ok=True)
    result = run(args)
    Path(args.out).write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
