"""`engine calibrate`: re-fit a model's decision threshold, Platt calibration and open-set attribution
rule on the val split of the dataset it was trained on, and store them in its model.pt.

With `own_painters` the fit runs instead on every labelled painting of a prepared collection of painters
the model never trained on (a collection manager's own, `engine prepare FOLDER --labels CSV`), alone:
the threshold, verify's probabilities and the open-set rule then speak for that collection. Issue 28's CV
measured it per source (BENCHMARKS.md, "Calibration on a collection's own painters": no lower ECE at 3-4 or ~22 painters).

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
from engine.calibrate.fit import calibrate
from engine.evaluate.runner import calibrate_one, open_run
from engine.metrics.pair_sampling import draw_pairs
from engine.metrics.verification import verification_metrics

from engine.model.shipped import is_shipped

logger = logging.getLogger(__name__)

OWN_PAINTERS_MIN = 4
STORED_METRICS = ("roc_auc", "accuracy", "eer", "average_precision")


def calibrate_model(
    *, model=None, data=None, pairs: int = 2000, home=None, config: EvaluateConfig = EvaluateConfig(),
    own_painters: bool = False, progress=None,
) -> dict:
    """Fit on the val split of the model's own dataset (or a copy of it) and store -> a JSON summary.

    own_painters: fit on every labelled painting of `data`, painters the model never trained on (refused when
    the model's training set is readable and shares a painter with it), without the training painters' pairs."""
    if pairs < 2:
        raise EngineError(f"--pairs {pairs} is too small; ask for at least 2 (e.g. 2000)")
    if own_painters and data is None:
        raise EngineError("--own-painters needs DATA: a prepared folder of your own labelled paintings "
                          "(engine prepare FOLDER --labels CSV --out DATA)")
    split = "all" if own_painters else "val"
    run = open_run(model, data, home, split, pairs, dataclasses.replace(config, baseline=False), progress)
    if is_shipped(run.model_path):
        raise EngineError(f"{run.model_path} is the model shipped with the engine and stays as it is; copy it and "
                          "pass --model COPY, or train your own with `engine train`")
    if not own_painters and not run.same_dataset:
        raise EngineError(f"{run.data_dir} is not the dataset {run.model_path} was trained on ({run.trained_on}): "
                          "its val artists may be ones the model trained on; calibrate on the model's own dataset, "
                          "or pass --own-painters when they are painters it never saw")
    rows = rows_of(read_manifest(run.data_dir), split)
    if own_painters:
        _refuse_training_painters(run, set(rows.labels))
        if rows.artists < OWN_PAINTERS_MIN:
            raise EngineError(f"{run.data_dir} has {rows.artists} labelled painter(s); --own-painters needs at least "
                              f"{OWN_PAINTERS_MIN} (same- and different-painter pairs, and painters to be 'none of them'): label more")
    check_rows(rows, run.data_dir)
    embedded = embed_all(rows, {"trained": run.lm}, batch_size=config.batch_size, progress=progress)
    sampled = draw_pairs(embedded.rows.labels, embedded.rows.groups, n_pairs=pairs, per_artist_cap=config.per_artist_cap,
                         seed=config.seed)
    if own_painters:
        cal = calibrate(embedded.vectors["trained"], sampled, source=f"{embedded.rows.artists} own painters of {run.data_dir}",
                        labels=embedded.rows.labels, groups=embedded.rows.groups, seed=config.seed)
    else:
        cal = calibrate_one(run, embedded, "trained", sampled, "val")
    scores = cosine_scores(embedded.vectors["trained"], sampled.i, sampled.j)
    verification = verification_metrics(scores, sampled.same, threshold=cal.threshold)
    metrics = {("own_painters_" if own_painters else "val_") + k: verification[k] for k in STORED_METRICS}
    attribution = cal.attribution.to_dict() if cal.attribution else None
    data_io.store_calibration(run.model_path, threshold=cal.threshold, calibration=cal.calibration, metrics=metrics,
                              attribution=attribution)
    logger.info("stored threshold %.4f and Platt calibration in %s", cal.threshold, run.model_path)
    return {
        "model": str(run.model_path),
        "fingerprint": getattr(run.lm, "fingerprint", ""),
        "data": str(run.data_dir),
        "split": split,
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


def _refuse_training_painters(run, painters: set[str]) -> None:
    """--own-painters: refuse `painters` when one of them is in the model's training set (when readable)."""
    theirs = None
    if run.trained_on is not None:
        try:
            theirs = read_manifest(run.trained_on)
        except EngineError:
            pass
    if theirs is None:
        logger.warning("the training set of %s (%s) is not readable here: not checked that the painters of %s are new to it",
                       run.model_path, run.trained_on or "not recorded", run.data_dir)
        return
    trained = set(theirs.loc[theirs["split"].isin(["train", "val"]), "artist"].astype(str))
    shared = sorted(trained & painters)
    if shared:
        raise EngineError(f"{len(shared)} painter(s) of {run.data_dir} trained {run.model_path} (e.g. {shared[0]}); "
                          "--own-painters fits on painters it never saw: leave those out, or drop --own-painters "
                          "to calibrate on its own dataset's val split")
