"""`engine calibrate`: re-fit a model's decision threshold, Platt calibration and open-set attribution
rule on the val split of the dataset it was trained on, and store them in its model.pt.

The fit is `engine evaluate`'s on the val split (engine.evaluate.runner.calibrate_one: the val pairs,
pooled with the cross-fitted held-out pairs that `engine train` stored, when it did), so the stored
threshold is the one `engine evaluate --split val` reports. The only command of this layer that writes:
model.pt is rewritten atomically, its weights untouched.
"""

from __future__ import annotations

import dataclasses
import logging

from engine.base.errors import EngineError
from engine.base.vectors import cosine_scores
from engine.data.manifest import read_manifest
from engine.evaluate import data as data_io
from engine.evaluate.config import EvaluateConfig
from engine.evaluate.data import check_rows, embed_all, rows_of
from engine.evaluate.runner import calibrate_one, open_run
from engine.metrics.pair_sampling import draw_pairs
from engine.metrics.verification import verification_metrics

from engine.model.shipped import is_shipped

logger = logging.getLogger(__name__)

STORED_METRICS = ("roc_auc", "accuracy", "eer", "average_precision")


def calibrate_model(
    *, model=None, data=None, pairs: int = 2000, home=None, config: EvaluateConfig = EvaluateConfig(), progress=None,
) -> dict:
    """Fit on the val split of the model's own dataset (or a copy of it) and store -> a JSON summary."""
    if pairs < 2:
        raise EngineError(f"--pairs {pairs} is too small; ask for at least 2 (e.g. 2000)")
    run = open_run(model, data, home, "val", pairs, dataclasses.replace(config, baseline=False), progress)
    if is_shipped(run.model_path):
        raise EngineError(f"{run.model_path} is the model shipped with the engine and stays as it is; copy it and "
                          "pass --model COPY, or train your own with `engine train`")
    if not run.same_dataset:
        raise EngineError(f"{run.data_dir} is not the dataset {run.model_path} was trained on ({run.trained_on}): "
                          "its val artists may be ones the model trained on; calibrate on the model's own dataset")
    rows = rows_of(read_manifest(run.data_dir), "val")
    check_rows(rows, run.data_dir)
    embedded = embed_all(rows, {"trained": run.lm}, batch_size=config.batch_size, progress=progress)
    sampled = draw_pairs(embedded.rows.labels, embedded.rows.groups, n_pairs=pairs, per_artist_cap=config.per_artist_cap,
                         seed=config.seed)
    cal = calibrate_one(run, embedded, "trained", sampled, "val")
    scores = cosine_scores(embedded.vectors["trained"], sampled.i, sampled.j)
    verification = verification_metrics(scores, sampled.same, threshold=cal.threshold)
    metrics = {"val_" + k: verification[k] for k in STORED_METRICS}
    attribution = cal.attribution.to_dict() if cal.attribution else None
    data_io.store_calibration(run.model_path, threshold=cal.threshold, calibration=cal.calibration, metrics=metrics,
                              attribution=attribution)
    logger.info("stored threshold %.4f and Platt calibration in %s", cal.threshold, run.model_path)
    return {
        "model": str(run.model_path),
        "fingerprint": getattr(run.lm, "fingerprint", ""),
        "data": str(run.data_dir),
        "split": "val",
        "artists": embedded.rows.artists,
        "images": len(embedded.rows.paths),
        "pairs": int(len(scores)),
        "threshold": cal.threshold,
        "calibration": cal.calibration,
        "attribution": attribution,
        "source": cal.source,
        "metrics": metrics,
        "skipped": embedded.skipped,
    }
