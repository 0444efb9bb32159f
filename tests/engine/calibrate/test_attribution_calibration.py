"""Open-set attribution: the probability rule, its fit, and the open-set metrics on generated clusters."""

from __future__ import annotations

import math

import numpy as np
import pytest

from engine.base.errors import EngineError
from engine.calibrate.attribution import (
    AttributionCalibration,
    _objective,
    _pad,
    candidate_features,
    fit_attribution_calibration,
    resolve_calibration,
)
from engine.evaluate.open_set import open_set_metrics


def clusters(n_artists: int, per: int, noise: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(n_artists, 16))
    x = np.concatenate([centres[a] + noise * rng.normal(size=(per, 16)) for a in range(n_artists)])
    return x, np.repeat([f"artist {a}" for a in range(n_artists)], per)


def test_probabilities_sum_to_one_and_one_candidate_is_a_sigmoid():
    cal = AttributionCalibration(w_best=8.0, w_vote=2.0, bias=-5.0, k=3)
    named, unknown = cal.probabilities([0.9, 0.7, 0.6, 0.99], ["a", "b", None, "c"])  # "c" is beyond k=3
    assert set(named) == {"a", "b"}
    assert sum(named.values()) + unknown == pytest.approx(1.0)
    votes = {"a": 0.9 / 1.6, "b": 0.7 / 1.6}
    z = {"a": 8 * 0.9 + 2 * votes["a"] - 5, "b": 8 * 0.7 + 2 * votes["b"] - 5}
    norm = 1 + math.exp(z["a"]) + math.exp(z["b"])
    assert named["a"] == pytest.approx(math.exp(z["a"]) / norm)
    assert unknown == pytest.approx(1 / norm)
    named, unknown = AttributionCalibration(12.0, 0.0, -6.0).probabilities([0.7, 0.4], ["a", "a"])
    assert named["a"] == pytest.approx(1 / (1 + math.exp(-(12 * 0.7 - 6)))) == pytest.approx(1 - unknown)
    assert AttributionCalibration(1, 1, 1).probabilities([0.5], [None]) == ({}, 1.0)


def test_stored_record_round_trips_and_old_models_get_none():
    cal = AttributionCalibration(3.0, 1.0, -2.0, k=7)
    assert AttributionCalibration.from_dict(cal.to_dict()) == cal
    assert resolve_calibration(cal.to_dict()) == cal
    assert resolve_calibration(None) is None  # never derived from the verification calibration
    assert resolve_calibration({"method": "platt", "a": 5.0, "b": -1.0}) is None


def test_gradient_matches_finite_differences():
    x, y = clusters(4, 12, 1.0, seed=3)
    unit = x / np.linalg.norm(x, axis=1, keepdims=True)
    cands = [candidate_features(unit[q] @ unit[10:].T, y[10:].tolist()) for q in range(10)]
    ep = _pad(cands, y[:10].tolist(), np.ones(10, dtype=bool))
    theta = np.array([3.0, -1.0, 0.5])
    _, grad = _objective(theta, ep)
    numeric = [(_objective(theta + e, ep)[0] - _objective(theta - e, ep)[0]) / 2e-6 for e in np.eye(3) * 1e-6]
    assert np.allclose(grad, numeric, atol=1e-5)


def test_fit_on_val_artists_transfers_to_new_artists():
    val_x, val_y = clusters(6, 20, 0.9, seed=1)
    cal = fit_attribution_calibration(val_x, val_y, seed=0)
    assert cal.w_best > 0
    test_x, test_y = clusters(8, 20, 0.9, seed=2)
    m = open_set_metrics(test_x, test_y, calibration=cal, seed=0)
    assert m["known_correct"] > 0.7 and m["unknown_correct"] > 0.7 and m["auroc"] > 0.85
    assert m["queries_known"] > 0 and m["queries_unknown"] > 0


def test_unrelated_embeddings_give_chance_auroc():
    rng = np.random.default_rng(5)
    x, y = rng.normal(size=(240, 16)), np.repeat([f"a{i}" for i in range(12)], 20)
    cal = fit_attribution_calibration(x, y, seed=0)
    m = open_set_metrics(x, y, calibration=cal, seed=1)
    assert abs(m["auroc"] - 0.5) < 0.12
    assert m["ece"] < 0.15  # the fitted rule knows it knows nothing


def test_needs_two_artists():
    x, y = clusters(1, 10, 1.0, seed=0)
    with pytest.raises(EngineError):
        fit_attribution_calibration(x, y)


# --- mutation survivors: the episodes against a loop written from the module docstring, the fit's wiring, records ---

def _reference_episodes(emb, labels, groups, *, k, seed, repeats):
    """Open-set episodes by plain loops, from the docstring: per repeat, half the artists (at least 1) indexed, drawn by
    rng = default_rng(seed) permuting the sorted artists; paintings enrolled / queried by enrol_split(fraction 0.5,
    seed + repeat, groups) (engine.metrics.attribution, tested there); gallery = enrolled paintings of indexed artists;
    per query its k most similar gallery paintings (float64 cosines), candidates in first-seen order with
    [best cosine, vote share]; target = the painter's column, or -1 when not among them.
    -> (rows of (features list, target), known list)."""
    from engine.metrics.attribution import enrol_split

    labels = [str(x) for x in labels]
    unit = [np.asarray(e, dtype=np.float64) / np.linalg.norm(np.asarray(e, dtype=np.float64)) for e in emb]
    rng = np.random.default_rng(seed)
    rows, known = [], []
    for r in range(repeats):
        artists = sorted(set(labels))
        indexed = set(rng.permutation(np.array(artists, dtype=object))[: max(1, len(artists) // 2)].tolist())
        enrolled, queries = enrol_split(labels, fraction=0.5, seed=seed + r, groups=groups)
        gallery = [int(g) for g in enrolled if labels[g] in indexed]
        for q in queries:
            sims = sorted(((float(unit[q] @ unit[g]), pos) for pos, g in enumerate(gallery)), key=lambda t: (-t[0], t[1]))[:k]
            names, best, votes = [], {}, {}
            for s, pos in sims:
                a = labels[gallery[pos]]
                if a not in best:
                    names.append(a)
                    best[a], votes[a] = s, 0.0
                best[a] = max(best[a], s)
                votes[a] += max(s, 0.0)
            total = sum(votes.values())
            rows.append(([[best[a], votes[a] / total if total > 0 else 0.0] for a in names],
                         names.index(labels[q]) if labels[q] in names else -1))
            known.append(labels[q] in indexed)
    return rows, known


def _twins(n_artists=6, per=5, seed=4):
    """Artists of `per` paintings, each painting also present as an exact duplicate in the same duplicate group."""
    x, y = clusters(n_artists, per, 1.2, seed=seed)
    groups = [f"g{i}" for i in range(len(y))]
    return np.concatenate([x, x]), np.concatenate([y, y]), groups + groups


def test_episodes_match_the_documented_procedure_with_groups_k_seed_and_repeats():
    from engine.calibrate.attribution import episodes

    x, y, groups = _twins()
    ep = episodes(x, y, groups, k=3, seed=5, repeats=3)
    rows, known = _reference_episodes(x, y, groups, k=3, seed=5, repeats=3)
    assert ep.feats.shape == (len(rows), max(len(f) for f, _ in rows), 2) and ep.mask.dtype == bool
    assert ep.known.tolist() == known and ep.target.tolist() == [t for _, t in rows]
    for q, (f, _) in enumerate(rows):
        assert ep.mask[q].tolist() == [True] * len(f) + [False] * (ep.mask.shape[1] - len(f))
        np.testing.assert_allclose(ep.feats[q, : len(f)], f, rtol=0, atol=1e-12)
    assert np.all(ep.feats[q, ~ep.mask[q]] == 0)
    assert np.max(ep.feats[..., 0]) < 0.999  # a query never meets its own twin (same group)
    assert sum(known) == 3 * len(known) // 6  # 3 of the 6 artists indexed, each with the same number of queries


def test_with_two_artists_one_is_indexed_and_one_candidate_is_one_column():
    from engine.calibrate.attribution import episodes

    x, y = clusters(2, 6, 1.0, seed=2)
    ep = episodes(x, y, None, k=1, seed=0, repeats=2)
    assert ep.feats.shape[1:] == (1, 2)  # k = 1: never a second candidate, no padding column
    assert 0 < ep.known.sum() < len(ep.known)  # one artist indexed, the other not, in each episode
    rows, known = _reference_episodes(x, y, None, k=1, seed=0, repeats=2)
    assert ep.target.tolist() == [t for _, t in rows] and set(ep.target.tolist()) <= {-1, 0}


def _reference_nll_gradient(theta, rows, ridge=1e-3):
    """Numerical gradient of the mean NLL (+ ridge on the two weights) over the reference episodes, P(unknown) logit 0."""
    def nll(t):
        total = 0.0
        for f, target in rows:
            z = [t[0] * b + t[1] * v + t[2] for b, v in f]
            log_norm = np.logaddexp(0.0, np.logaddexp.reduce(z)) if z else 0.0
            total -= (z[target] if target >= 0 else 0.0) - log_norm
        return total / len(rows) + ridge * (t[0] ** 2 + t[1] ** 2)

    return np.array([(nll(theta + e) - nll(theta - e)) / 2e-6 for e in np.eye(3) * 1e-6])


def test_the_fit_is_the_likelihood_optimum_of_its_own_episodes():
    x, y, groups = _twins()
    cal = fit_attribution_calibration(x, y, seed=5, groups=groups, k=3, repeats=2)
    assert cal.k == 3
    rows, _ = _reference_episodes(x, y, groups, k=3, seed=5, repeats=2)
    assert np.max(np.abs(_reference_nll_gradient(np.array([cal.w_best, cal.w_vote, cal.bias]), rows))) < 1e-4
    for other in ((None, 3), (groups, 10)):  # dropping the groups or k would fit other episodes: not their optimum
        wrong, _ = _reference_episodes(x, y, other[0], k=other[1], seed=5, repeats=2)
        assert np.max(np.abs(_reference_nll_gradient(np.array([cal.w_best, cal.w_vote, cal.bias]), wrong))) > 1e-3


def test_the_fit_defaults_to_seed_0_and_8_repeats():
    x, y = clusters(4, 6, 1.0, seed=7)
    default = fit_attribution_calibration(x, y)
    assert default == fit_attribution_calibration(x, y, seed=0, repeats=8)
    assert default != fit_attribution_calibration(x, y, seed=1) and default != fit_attribution_calibration(x, y, repeats=9)
    assert fit_attribution_calibration(x[:12], y[:12]).k == 10  # two artists are enough


def test_episode_errors_name_the_problem():
    from engine.calibrate.attribution import episodes

    x, y = clusters(1, 4, 1.0, seed=0)
    with pytest.raises(EngineError, match=r"^open-set attribution needs at least 2 artists \(one indexed, one not\)$"):
        episodes(x, y, None, k=3, seed=0, repeats=1)
    x, y = clusters(3, 1, 1.0, seed=0)  # one painting each: nothing to query
    with pytest.raises(EngineError, match=r"^open-set attribution needs artists with at least 2 distinct paintings$"):
        episodes(x, y, None, k=3, seed=0, repeats=1)


def test_candidate_features_by_hand():
    names, feats = candidate_features(np.array([0.9, 0.8, 0.7]), ["a", "b", "a"])  # votes a 1.6, b 0.8 of 2.4
    assert names == ["a", "b"] and feats.ravel().tolist() == pytest.approx([0.9, 1.6 / 2.4, 0.8, 0.8 / 2.4])
    names, feats = candidate_features(np.array([0.3, 0.2]), ["a", "b"])  # total 0.5 < 1: shares 0.6, 0.4
    assert feats[:, 1].tolist() == pytest.approx([0.6, 0.4])
    names, feats = candidate_features(np.array([-0.1, -0.3]), ["a", "b"])  # no positive similarity: no votes
    assert feats.tolist() == [[-0.1, 0.0], [-0.3, 0.0]]
    names, feats = candidate_features(np.array([0.9, 0.8, 0.7]), ["a", None, "b"])  # an unlabelled match is skipped
    assert names == ["a", "b"] and feats[:, 1].tolist() == pytest.approx([0.9 / 1.6, 0.7 / 1.6])


def test_a_record_without_k_or_source_gets_the_defaults():
    record = {"method": "open-set-logit", "w_best": 3.0, "w_vote": 1.0, "bias": -2.0}
    assert AttributionCalibration.from_dict(record) == AttributionCalibration(3.0, 1.0, -2.0, k=10, source="val")
    assert AttributionCalibration.from_dict({**record, "source": "val + held-out"}).source == "val + held-out"
