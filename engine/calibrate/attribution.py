"""Open-set attribution: a probability per likely artist, and one that the painter is none of them.

For a query, the candidates are the artists among its k nearest indexed paintings. Each gets
    z_a = w_best * best_a + w_vote * vote_a + bias
(best_a: a's highest cosine among the k matches; vote_a: a's similarity-weighted vote share, as the
`score` of `engine query`), and "unknown" (none of the listed artists) the fixed logit 0:
    P(a) = exp(z_a) / (1 + sum_b exp(z_b)),   P(unknown) = 1 / (1 + sum_b exp(z_b)).
With one candidate P(a) = sigmoid(z_a). The weights are fitted by maximum likelihood on
val artists in simulated open-set episodes: half of the artists indexed (part of their paintings),
queried with held-out paintings of all artists. An indexed painter missing from the k matches counts
as "unknown" (the list cannot name them). P(unknown) therefore assumes roughly as many queries by
non-indexed painters as by indexed ones, as in the episodes. The verification calibration is no substitute: an artist's best match over a
gallery is far above a random pair's cosine, so Platt's rule applied to it almost never answers
"unknown" (measured on ../shared/artdata: 2% correct unknowns, ECE 0.21-0.29), and models saved
before this record existed get no probabilities (null) until `engine calibrate`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Sequence

import numpy as np

from engine.base.errors import EngineError
from engine.base.vectors import l2_normalize
from engine.metrics.attribution import enrol_split

METHOD = "open-set-logit"
DEFAULT_K = 10  # as `engine query`
_RIDGE = 1e-3  # per query: keeps the weights finite on perfectly separated scores


@dataclass(frozen=True)
class AttributionCalibration:
    """Weights of z_a = w_best * best_a + w_vote * vote_a + bias over the top-`k` matches (module docstring)."""

    w_best: float
    w_vote: float
    bias: float
    k: int = DEFAULT_K
    method: str = METHOD
    source: str = "val"

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict | None) -> "AttributionCalibration | None":
        """The stored record, or None when absent or not ours."""
        if not isinstance(data, dict) or data.get("method") != METHOD:
            return None
        return cls(float(data["w_best"]), float(data["w_vote"]), float(data["bias"]), int(data.get("k", DEFAULT_K)),
                   METHOD, str(data.get("source", "val")))

    def probabilities(self, similarities: Sequence[float], artists: Sequence[str | None]) -> tuple[dict[str, float], float]:
        """Matches best-first (similarity, artist; None = unlabelled) -> ({artist: P(artist)}, P(unknown))."""
        names, feats = candidate_features(np.asarray(similarities, dtype=np.float64)[: self.k], list(artists)[: self.k])
        if not names:
            return {}, 1.0
        z = feats @ np.array([self.w_best, self.w_vote]) + self.bias
        log_norm = np.logaddexp(0.0, _logsumexp(z))
        return {n: float(np.exp(v - log_norm)) for n, v in zip(names, z)}, float(np.exp(-log_norm))


def resolve_calibration(attribution: dict | None) -> AttributionCalibration | None:
    """The model's stored attribution calibration, else None (no probabilities). The verification
    calibration is deliberately no substitute (module docstring)."""
    return AttributionCalibration.from_dict(attribution)


def _logsumexp(z: np.ndarray) -> float:
    top = float(np.max(z))
    return top + float(np.log(np.sum(np.exp(z - top))))


def candidate_features(sims: np.ndarray, artists: list) -> tuple[list[str], np.ndarray]:
    """Candidates in first-seen order and their (C, 2) features [best similarity, vote share]."""
    names: list[str] = []
    best: dict[str, float] = {}
    votes: dict[str, float] = {}
    for s, a in zip(sims, artists):
        if not a:
            continue
        if a not in best:
            names.append(a)
            best[a], votes[a] = float(s), 0.0
        best[a] = max(best[a], float(s))
        votes[a] += max(float(s), 0.0)
    total = sum(votes.values())
    feats = np.array([[best[a], votes[a] / total if total > 0 else 0.0] for a in names], dtype=np.float64)
    return names, feats.reshape(len(names), 2)


@dataclass(frozen=True)
class Episodes:
    """Padded candidates of every query: features (Q, C, 2), mask (Q, C), target column (Q,; -1 = unknown),
    whether the painter was indexed (Q,)."""

    feats: np.ndarray
    mask: np.ndarray
    target: np.ndarray
    known: np.ndarray


def _episode(unit, labels, groups, rng, *, k: int, seed: int, features=candidate_features) -> tuple[list, list, np.ndarray]:
    """One open-set episode -> per-query (names, features), truth labels, indexed flags."""
    artists = np.array(sorted(set(labels.tolist())), dtype=object)
    indexed = set(rng.permutation(artists)[: max(1, len(artists) // 2)].tolist())
    enrolled, queries = enrol_split(labels, fraction=0.5, seed=seed, groups=groups)
    gallery = enrolled[np.isin(labels[enrolled], list(indexed))]
    sims = unit[queries] @ unit[gallery].T
    top = np.argsort(-sims, axis=1, kind="stable")[:, :k]
    cands = [features(sims[q, top[q]], labels[gallery][top[q]].tolist()) for q in range(len(queries))]
    return cands, labels[queries], np.isin(labels[queries], list(indexed))


def episodes(embeddings, labels, groups, *, k: int, seed: int, repeats: int, features=candidate_features) -> Episodes:
    """`repeats` open-set episodes (`_episode`); `features`(similarities, artists) -> (names, (C, F) features) gives
    each candidate's features (default: the rule's two; benchmarks/openset_density.py probes others)."""
    labels = np.asarray([str(x) for x in labels], dtype=object)
    if len(set(labels.tolist())) < 2:
        raise EngineError("open-set attribution needs at least 2 artists (one indexed, one not)")
    groups = None if groups is None else np.asarray([str(g) for g in groups], dtype=object)
    unit = l2_normalize(embeddings, dtype=np.float64)
    rng = np.random.default_rng(seed)
    cands, truth, known = [], [], []
    for r in range(repeats):
        c, t, kn = _episode(unit, labels, groups, rng, k=k, seed=seed + r, features=features)
        cands += c
        truth += t.tolist()
        known += kn.tolist()
    if not cands:
        raise EngineError("open-set attribution needs artists with at least 2 distinct paintings")
    return _pad(cands, truth, np.array(known, dtype=bool))


def _pad(cands: list, truth: list, known: np.ndarray) -> Episodes:
    width = max(1, max(len(n) for n, _ in cands))
    feats = np.zeros((len(cands), width, cands[0][1].shape[1]))
    mask = np.zeros((len(cands), width), dtype=bool)
    target = np.full(len(cands), -1, dtype=np.int64)
    for q, ((names, f), t) in enumerate(zip(cands, truth)):
        feats[q, : len(names)], mask[q, : len(names)] = f, True
        if t in names:
            target[q] = names.index(t)
    return Episodes(feats, mask, target, known)


def log_probabilities(theta: np.ndarray, ep: Episodes) -> tuple[np.ndarray, np.ndarray]:
    """(Q, C) log P(candidate) (-inf on padding) and (Q,) log P(unknown)."""
    z = np.where(ep.mask, ep.feats @ theta[:2] + theta[2], -np.inf)
    log_norm = np.logaddexp(0.0, np.logaddexp.reduce(z, axis=1))
    return z - log_norm[:, None], -log_norm


def _objective(theta: np.ndarray, ep: Episodes) -> tuple[float, np.ndarray]:
    """Mean NLL of the targets + ridge on the weights, and its gradient."""
    log_p, log_unknown = log_probabilities(theta, ep)
    rows = np.arange(len(ep.target))
    picked = np.where(ep.target >= 0, log_p[rows, np.maximum(ep.target, 0)], log_unknown)
    p = np.exp(log_p)  # d NLL / d z_c = p_c - [c is the target]
    resid = p - (np.arange(p.shape[1])[None, :] == ep.target[:, None])
    grad = np.concatenate([np.einsum("qc,qcf->f", resid, ep.feats), [resid.sum()]]) / len(rows)
    grad[:2] += 2 * _RIDGE * theta[:2]
    return float(-picked.mean() + _RIDGE * theta[:2] @ theta[:2]), grad


def fit_attribution_calibration(
    embeddings: np.ndarray, labels: np.ndarray, *, seed: int = 0, groups=None, k: int = DEFAULT_K, repeats: int = 8,
) -> AttributionCalibration:
    """Maximum-likelihood weights on `repeats` open-set episodes of these (val) artists."""
    from scipy.optimize import minimize  # lazily: ~0.7 s that `engine query` (only probabilities) must not pay

    ep = episodes(embeddings, labels, groups, k=k, seed=seed, repeats=repeats)
    result = minimize(_objective, np.array([10.0, 0.0, -5.0]), args=(ep,), jac=True, method="L-BFGS-B")
    w_best, w_vote, bias = (float(v) for v in result.x)
    return AttributionCalibration(w_best, w_vote, bias, k)
