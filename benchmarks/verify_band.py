"""verify's uncertain band (engine.calibrate.band) on painters it was not fitted on: coverage and accuracy.

The model's stored band was fitted on its calibration pairs (val painters, pooled with cross-fitted
held-out pairs). Here the paintings of a prepared set's `--split` (default: test, painters the model
never saw in training or calibration) are embedded, balanced same/different pairs are drawn as the
evaluation draws them (engine.metrics.pair_sampling.draw_pairs, no pair of one sha256), and the band
is applied:
    coverage  = share of pairs answered (probability outside the band)
    accuracy  = share of the answered pairs whose answer (same / different) is right
    all-pairs = accuracy of same_artist on every pair (what verify answered before the band)

    python benchmarks/verify_band.py --model /tmp/h25/models/current --data /tmp/prep_art [--split test]
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

import numpy as np

from benchmarks.common import RESULTS_DIR, save_result
from engine.base.vectors import cosine_scores, l2_normalize
from engine.calibrate.band import band_rates
from engine.inference.embedding import embed_paths
from engine.metrics.pair_sampling import draw_pairs
from engine.model.checkpoint import load_model


def rates(probabilities: np.ndarray, same: np.ndarray, band: dict | None) -> dict:
    """Coverage and accuracy outside the band; accuracy of p >= 0.5 on all pairs."""
    inside = band_rates(probabilities, same, band)
    return {"pairs": inside["pairs"], "coverage": inside["coverage"], "accuracy_outside_band": inside["accuracy"],
            "accuracy_all_pairs": float(((probabilities >= 0.5) == same).mean())}


def split_rows(data: Path, split: str) -> tuple[list[str], list[str], list[str]]:
    with open(data / "manifest.csv", newline="") as f:
        rows = [r for r in csv.DictReader(f) if r["split"] == split]
    return [str(data / r["path"]) for r in rows], [r["artist"] for r in rows], [r["sha256"] for r in rows]


def run(model: str, data: Path, *, split: str = "test", n_pairs: int = 20000, seed: int = 0) -> dict:
    lm = load_model(model)
    if lm.pair_calibration is None:
        raise SystemExit(f"{model} is not calibrated")
    band = lm.pair_calibration.band
    paths, artists, shas = split_rows(data, split)
    emb = l2_normalize(embed_paths(lm, paths).vectors)
    pairs = draw_pairs(artists, shas, n_pairs=n_pairs, per_artist_cap=0, seed=seed)
    p = lm.pair_calibration.probability(cosine_scores(emb, pairs.i, pairs.j))
    return {"model": str(lm.path), "fingerprint": lm.fingerprint[:12], "data": str(data), "split": split,
            "painters": len(set(artists)), "paintings": len(paths), "band": band,
            "held_out": rates(p, pairs.same, band)}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True)
    parser.add_argument("--data", type=Path, required=True, help="a folder written by `engine prepare`")
    parser.add_argument("--split", default="test")
    parser.add_argument("--pairs", type=int, default=20000)
    parser.add_argument("--results", type=Path, default=RESULTS_DIR)
    args = parser.parse_args(argv)
    result = run(args.model, args.data, split=args.split, n_pairs=args.pairs)
    band, measured = result["band"], result["held_out"]
    fitted = f"band [{band['low']:.3f}, {band['high']:.3f}) fitted at {band['target']:.0%} target (fit coverage {band['coverage']:.3f}, accuracy {band['accuracy']:.3f})" if band else "no band"
    print(f"{fitted}; on {measured['pairs']} {args.split} pairs of {result['painters']} unseen painters: coverage {measured['coverage']:.3f}, "
          f"accuracy outside the band {measured['accuracy_outside_band']:.3f} (all pairs at p >= 0.5: {measured['accuracy_all_pairs']:.3f})")
    print(f"saved {save_result('verify_band', result, results_dir=args.results)}")


if __name__ == "__main__":
    main()
