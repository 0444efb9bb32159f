"""`score_pairs`: the calibrated same-artist probability of every pair of a Kaggle pairs file.

PAIRS (`index,image1,image2`, paths relative to `images_dir`) -> OUT (`index,sameArtist`), ready
to submit. Three steps, memory bounded by the number of distinct images, not of pairs:
1. stream PAIRS once for its distinct image names (and its bad rows);
2. embed each distinct image once, batched, decoded in worker processes (engine.inference.embedding);
3. stream PAIRS again: per block, sameArtist = sigmoid(a * cos(e1, e2) + b) (the model's Platt
   calibration, as `engine verify A B`), computed in sub-blocks of `block_pairs` pairs.
A pair with an unreadable image gets the prior: the mean calibrated probability of `prior_pairs`
random pairs of the file's readable images (seed 0), i.e. what the model expects for two paintings
of this set it cannot see. With `strict`, an unreadable image or a bad row is an error instead.
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from engine.base.atomic import atomic_path
from engine.base.config import require
from engine.base.errors import EngineError
from engine.base.home import Home
from engine.base.progress import NullProgress, Progress
from engine.base.vectors import cosine_rows, l2_normalize
from engine.calibrate.platt import PairCalibration
from engine.inference.embedding import embed_paths
from engine.inference.model_cache import cached_model
from engine.inference.model_choice import choose_model
from engine.inference.pairs_csv import BadRows, pyarrow_modules, read_pair_chunks
from engine.inference.forward_plan import choose_plan
from engine.inference.verify import require_calibrated
from engine.model.checkpoint import LoadedModel

logger = logging.getLogger(__name__)

MAX_LISTED = 50  # unreadable images listed in the summary (all are counted)


@dataclass(frozen=True)
class PairsConfig:
    block_bytes: int = 8 << 20  # CSV bytes per streamed block
    block_pairs: int = 16_384  # pairs per similarity computation (2 x block_pairs x D floats)
    prior_pairs: int = 100_000
    batch_size: int | None = None  # images per forward; None: measured (engine.inference.forward_plan)
    num_workers: int | None = None  # decoding processes; None: cores - 1

    def __post_init__(self) -> None:
        require([(self.block_bytes >= 1 << 10, "block_bytes must be at least 1 KiB"),
                 (self.block_pairs >= 1 and self.prior_pairs >= 1, "block_pairs and prior_pairs must be >= 1")])


@dataclass
class PairEmbeddings:
    """The distinct images of a pairs file, embedded (step 2)."""

    names: object  # pyarrow string array of the distinct image names, sorted
    vectors: np.ndarray  # (N, D) float32, L2-normalised; zero rows for unreadable images
    readable: np.ndarray  # (N,) bool
    unreadable: list[dict]


def score_pairs(
    pairs: str | os.PathLike[str],
    *,
    out: str | os.PathLike[str],
    images_dir: str | os.PathLike[str] | None = None,
    home: str | os.PathLike[str] | None = None,
    model: str | os.PathLike[str] | None = None,
    strict: bool = False,
    progress: Progress | None = None,
    config: PairsConfig = PairsConfig(),
) -> dict:
    """Write OUT (index,sameArtist) for PAIRS; returns a summary (counts, prior, unreadable images, bad rows, rates)."""
    pairs, out = Path(pairs), Path(out)
    folder = Path(images_dir) if images_dir is not None else pairs.parent
    lm = cached_model(choose_model(Home.resolve(home), model).path)
    require_calibrated(lm)
    start = time.perf_counter()
    names, n_rows, bad = _distinct_names(pairs, config)
    _refuse_bad_rows(bad, pairs, strict)
    embedded = _embed(lm, names, folder, config, progress)
    _refuse_unreadable(embedded, folder, strict)
    prior = _prior(embedded, lm.pair_calibration, config.prior_pairs)
    scoring = time.perf_counter()
    counts = write_pair_scores(pairs, out, embedded, lm.pair_calibration, prior, config=config, progress=progress, n_rows=n_rows)
    seconds = time.perf_counter() - scoring
    return {
        "out": str(out), "pairs": counts["pairs"], "scored": counts["scored"], "prior_pairs": counts["prior"],
        "prior": round(prior, 6), "images": len(names), "unreadable_images": len(embedded.unreadable),
        "unreadable": embedded.unreadable[:MAX_LISTED], "bad_rows": bad.count, "bad_row_examples": bad.examples,
        "model": lm.fingerprint[:12], "scoring_seconds": round(seconds, 3),
        "pairs_per_second": round(counts["pairs"] / seconds, 1) if seconds > 0 else None,
        "seconds": round(time.perf_counter() - start, 3),
    }


def _distinct_names(pairs: Path, config: PairsConfig) -> tuple[object, int, BadRows]:
    """(sorted distinct image names as a pyarrow array, good rows, bad rows) in one pass."""
    pa, _, pc = pyarrow_modules()
    bad, seen, rows = BadRows(), set(), 0
    for chunk in read_pair_chunks(pairs, bad, block_bytes=config.block_bytes):
        rows += len(chunk.index)
        seen.update(pc.unique(chunk.image1).to_pylist())
        seen.update(pc.unique(chunk.image2).to_pylist())
    if not rows:
        raise EngineError(f"{pairs} has no valid pair rows ({bad.count} bad); pass a file of index,image1,image2 rows")
    return pa.array(sorted(seen), pa.string()), rows, bad


def _refuse_bad_rows(bad: BadRows, pairs: Path, strict: bool) -> None:
    if bad.count:
        logger.warning("%s: %d bad row(s) skipped, e.g. %s", pairs, bad.count, bad.examples[0])
        if strict:
            raise EngineError(f"{pairs} has {bad.count} bad row(s), e.g. {bad.examples[0]}; fix them or run without --strict")


def _embed(lm: LoadedModel, names, folder: Path, config: PairsConfig, progress: Progress | None) -> PairEmbeddings:
    paths = [folder / name for name in names.to_pylist()]
    plan = None
    if config.batch_size is None:
        plan, _ = choose_plan(lm.model, input_size=lm.input_size, device=lm.device, n_images=len(paths))
    result = embed_paths(lm, paths, batch_size=config.batch_size or 16, num_workers=config.num_workers,
                         progress=progress, plan=plan)
    vectors = np.zeros((len(paths), lm.embedding_dim), np.float32)
    readable = np.zeros(len(paths), bool)
    if result.ok:
        vectors[result.ok] = l2_normalize(result.vectors)
        readable[result.ok] = np.isfinite(vectors[result.ok]).all(axis=1)
        vectors[~readable] = 0.0
    if result.ok and not readable[result.ok].any():
        raise EngineError(f"the model gave NaN/inf embeddings: {lm.path} is probably damaged; re-train or restore it")
    unreadable = [{"image": names[i].as_py(), "reason": reason} for i, reason in result.errors]
    return PairEmbeddings(names=names, vectors=vectors, readable=readable, unreadable=unreadable)


def _refuse_unreadable(embedded: PairEmbeddings, folder: Path, strict: bool) -> None:
    if not embedded.unreadable:
        return
    if not embedded.readable.any():
        raise EngineError(f"none of the {len(embedded.readable)} images of the pairs file can be read under {folder}; "
                          "pass --images-dir DIR (the folder the CSV's image paths are relative to)")
    first = embedded.unreadable[0]
    message = f"{len(embedded.unreadable)} image(s) cannot be read, e.g. {first['image']} ({first['reason']}) under {folder}"
    if strict:
        raise EngineError(f"{message}; fix them, pass --images-dir DIR, or run without --strict (their pairs get the prior)")
    logger.warning("%s; their pairs get the prior probability", message)


def _prior(embedded: PairEmbeddings, calibration: PairCalibration, n_pairs: int) -> float:
    """Mean calibrated probability of `n_pairs` random pairs of distinct readable images (seed 0);
    0.5 (no information) with fewer than two readable images."""
    ok = np.flatnonzero(embedded.readable)
    if len(ok) < 2:
        return 0.5
    rng = np.random.default_rng(0)
    first = rng.integers(0, len(ok), n_pairs)
    second = (first + rng.integers(1, len(ok), n_pairs)) % len(ok)  # never the same image twice
    a, b = ok[first], ok[second]
    return float(calibration.probability(cosine_rows(embedded.vectors[a], embedded.vectors[b])).mean())


def write_pair_scores(pairs: Path, out: Path, embedded: PairEmbeddings, calibration: PairCalibration, prior: float, *,
                      config: PairsConfig = PairsConfig(), progress: Progress | None = None, n_rows: int | None = None) -> dict:
    """Step 3: stream PAIRS again, writing index,sameArtist atomically; returns {"pairs", "scored", "prior"}.
    (Public so that benchmarks/bench_pairs.py times it alone, on given embeddings.)"""
    pa, pcsv, pc = pyarrow_modules()
    counts = {"pairs": 0, "scored": 0, "prior": 0}
    ignored = BadRows()  # already reported by the first pass
    with atomic_path(out) as tmp, open(tmp, "wb") as sink, (progress or NullProgress()).task("scoring pairs", n_rows) as task:
        sink.write(b"index,sameArtist\n")
        for chunk in read_pair_chunks(pairs, ignored, block_bytes=config.block_bytes):
            a, b = (_positions(pc, names, embedded.names) for names in (chunk.image1, chunk.image2))
            scored = (a >= 0) & (b >= 0) & embedded.readable[a] & embedded.readable[b]
            p = _block_probabilities(embedded.vectors, a, b, scored, calibration, prior, config.block_pairs)
            table = pa.table({"index": chunk.index, "sameArtist": pc.round(pa.array(p), 6)})
            pcsv.write_csv(table, sink, write_options=pcsv.WriteOptions(include_header=False))
            counts["pairs"] += len(p)
            counts["scored"] += int(scored.sum())
            task.advance(len(p))
        counts["prior"] = counts["pairs"] - counts["scored"]
    return counts


def _positions(pc, names, distinct) -> np.ndarray:
    """Row of each name in `distinct` (-1 for a name the first pass did not see: the file changed)."""
    return pc.fill_null(pc.index_in(names, value_set=distinct), -1).to_numpy(zero_copy_only=False).astype(np.int64)


def _block_probabilities(vectors: np.ndarray, a: np.ndarray, b: np.ndarray, scored: np.ndarray,
                         calibration: PairCalibration, prior: float, block: int) -> np.ndarray:
    p = np.full(len(a), prior, np.float64)
    for start in range(0, len(a), block):
        part = slice(start, start + block)
        keep = np.flatnonzero(scored[part]) + start
        if len(keep):
            p[keep] = calibration.probability(cosine_rows(vectors[a[keep]], vectors[b[keep]]))
    return p
