"""`verify_pair`: are two paintings by the same hand? No index needed, only the model.

similarity = cosine of the two embeddings; probability = sigmoid(a * similarity + b) with the
model's Platt calibration; same_artist = similarity >= the model's threshold (max-accuracy cosine
on validation pairs). Calibrations fitted by `train` / `calibrate` are anchored at that
threshold (b = -a * threshold, engine.calibrate.platt), so same_artist == (probability >= 0.5); models
calibrated before anchoring keep their free (a, b) until re-calibrated. A model without threshold
or calibration is refused with a one-line error (no silent default threshold): calibrate it with
`engine calibrate`.
"""

from __future__ import annotations

import os

import numpy as np

from engine.model.checkpoint import LoadedModel
from engine.inference.model_cache import cached_model
from engine.inference.model_choice import ModelChoice, choose_model, warn_if_synthetic
from engine.inference.embedding import embed_image
from engine.inference.forward_plan import small_job_plan
from engine.base.runtime import torch_threads
from engine.base.errors import EngineError, ImageLoadError
from engine.base.home import Home
from engine.base.vectors import cosine_rows


def verify_pair(
    a: str | os.PathLike[str],
    b: str | os.PathLike[str],
    *,
    home: str | os.PathLike[str] | None = None,
    model: str | os.PathLike[str] | ModelChoice | None = None,
) -> dict:
    """{"similarity", "probability", "same_artist", "threshold", "model", "model_used"} for images `a` and `b`.

    `model`: a model file, else the home's trained model, else the shipped one (engine.inference.model_choice);
    or a ModelChoice made by the caller (the CLI's puts the model of the home's index first: indexer.home_model)."""
    choice = model if isinstance(model, ModelChoice) else choose_model(Home.resolve(home), model)
    lm = cached_model(choice.path)
    require_calibrated(lm)
    warn_if_synthetic(lm, [a, b])
    with torch_threads(small_job_plan(2, lm.device).threads):  # two single-image forwards: one thread each
        u, v = _embed(lm, a), _embed(lm, b)
    return {**verdict(lm, u, v), "model_used": choice.describe(lm)}


def verdict(lm: LoadedModel, u: np.ndarray, v: np.ndarray) -> dict:
    """`verify_pair`'s answer for two embeddings made by the calibrated model `lm` (e.g. of uploads, cli.server)."""
    similarity = cosine(u, v)
    if not np.isfinite(similarity):
        raise EngineError(f"the model gave a NaN/inf embedding: {lm.path} is probably damaged; re-train or restore it")
    return {
        "similarity": round(similarity, 6),
        "probability": round(float(lm.pair_calibration.probability([similarity])[0]), 6),
        "same_artist": lm.pair_calibration.same_artist(similarity),
        "threshold": round(lm.pair_calibration.threshold, 6),
        "model": lm.fingerprint[:12],
    }


def cosine(u: np.ndarray, v: np.ndarray) -> float:
    """u.v / (|u| |v|), in [-1, 1]; 0 for a zero vector; NaN when an input is not finite."""
    u, v = np.asarray(u, np.float64), np.asarray(v, np.float64)
    if not (np.isfinite(u).all() and np.isfinite(v).all()):
        return float("nan")
    return float(cosine_rows(u.reshape(1, -1), v.reshape(1, -1))[0])


def require_calibrated(lm: LoadedModel) -> None:
    """EngineError naming the command that calibrates `lm` when it has no threshold or calibration."""
    if lm.pair_calibration is None:
        raise EngineError(
            f"model {lm.path} has no threshold or calibration yet; calibrate it with `engine calibrate --model {lm.path}`"
        )


def _embed(lm: LoadedModel, path: str | os.PathLike[str]) -> np.ndarray:
    try:
        return embed_image(lm, path)
    except ImageLoadError as exc:
        if exc.reason == "missing":
            raise EngineError(f"image not found: {path}; check the path") from None
        raise EngineError(f"cannot read image {path} ({exc.reason}); pass a readable image file (JPEG, PNG, ...)") from None
