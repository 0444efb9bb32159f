"""`engine evaluate`: honest numbers on artists the model never saw, next to the untrained baseline.
It only reads: re-fitting and storing a model's calibration is `engine calibrate` (engine.evaluate.recalibrate).

Where the decision threshold and Platt calibration come from (`verification.threshold_source`):
1. reporting the val split: fit on the reported pairs themselves (said to be optimistic);
2. otherwise the trained model's stored ones (fit on val by `train` or `calibrate`);
3. models without one (the baseline, an uncalibrated model) are fit on the val split of the
   model's training dataset, else of the evaluated dataset when its test split is reported;
4. only when no val split exists: on the reported pairs (said to be optimistic).
A trained model that stores cross-fitted held-out pairs of its training artists (engine.train.crossfit)
has them pooled with those pairs in every fit (engine.calibrate.held_out), as `engine train` did.
The open-set attribution rule (engine.calibrate.attribution) comes from the same place and fit, with the
val paintings' artists; `open_set` is null for a model whose stored calibration predates it.
Metric definitions: engine/metrics/*. All models are scored on the same pairs and paintings.
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass
from pathlib import Path

from engine.base.errors import EngineError
from engine.evaluate import data as data_io
from engine.evaluate.config import EvaluateConfig
from engine.evaluate.data import Embedded, SplitRows, check_rows, embed_all, rows_of
from engine.calibrate.attribution import AttributionCalibration
from engine.calibrate.held_out import HeldOutPairs
from engine.calibrate.fit import Calibrated, calibrate
from engine.metrics.pair_sampling import Pairs, draw_pairs
from engine.evaluate.model_scores import score_model
from engine.base.home import Home
from engine.inference.model_choice import choose_model
from engine.data.manifest import read_manifest
from engine.base.versions import library_versions

logger = logging.getLogger(__name__)

SPLIT_CHOICES = ("test", "val", "all")
DATA_KEYS = ("data_dir", "data")  # where train records its dataset in the model's config


@dataclass
class _Run:
    """What one evaluation works on."""

    model_path: Path
    lm: object
    data_dir: Path
    trained_on: Path | None
    split: str
    n_pairs: int
    config: EvaluateConfig
    progress: object = None
    baseline_error: str | None = None
    same_dataset: bool = True


def evaluate_model(
    *,
    model=None,
    data=None,
    split: str = "test",
    pairs: int = 2000,
    report=None,
    home=None,
    config: EvaluateConfig = EvaluateConfig(),
    progress=None,
) -> dict:
    """Evaluate the trained model and its untrained baseline on `split` of a prepared dataset -> CLI.md JSON."""
    if split not in SPLIT_CHOICES:
        raise EngineError(f"unknown split {split!r}; use one of {', '.join(SPLIT_CHOICES)}")
    if pairs < 2:
        raise EngineError(f"--pairs {pairs} is too small; ask for at least 2 (e.g. 2000)")
    run = open_run(model, data, home, split, pairs, config, progress)
    rows = rows_of(read_manifest(run.data_dir), split)
    check_rows(rows, run.data_dir)
    models = _models(run)
    embedded = embed_all(rows, models, batch_size=config.batch_size, progress=progress)
    sampled = draw_pairs(embedded.rows.labels, embedded.rows.groups, n_pairs=pairs, per_artist_cap=config.per_artist_cap, seed=config.seed)
    cals = _calibrations(run, models, embedded, sampled)
    blocks, details = {}, {}
    for key in models:
        blocks[key], details[key] = score_model(
            embedded.vectors[key], embedded.rows.labels, embedded.rows.groups, sampled, cals[key], config=config
        )
    result = _result(run, models, embedded, blocks)
    if report is not None:
        from engine.evaluate.report import write_report

        result["report"] = str(write_report(Path(report), result, embedded, details, config=config))
    return result


def open_run(model, data, home, split, pairs, config, progress) -> _Run:
    """The model (loaded), the dataset it is evaluated on, and whether that is the dataset it was trained on."""
    model_path = choose_model(Home.resolve(home), model).path  # --model, the home's trained model, else the shipped one
    lm = data_io.load_trained(model_path, device=config.device)
    trained_on = _trained_on(lm)
    if data is None and trained_on is None:
        raise EngineError(f"{model_path} does not record its dataset; pass --data DIR (a prepared dataset)")
    data_dir = Path(data).expanduser() if data is not None else trained_on
    run = _Run(model_path, lm, data_dir, trained_on, split, pairs, config, progress)
    run.same_dataset = _same_dataset(run)
    return run


def _trained_on(lm) -> Path | None:
    config = getattr(lm, "config", None) or {}
    for key in DATA_KEYS:
        if config.get(key):
            return Path(config[key]).expanduser()
    return None


def _same_dataset(run: _Run) -> bool:
    """The evaluated dataset is the model's own: same folder, or a copy with the same paintings in the same splits."""
    if run.trained_on is None or run.trained_on.resolve() == run.data_dir.resolve():
        return True
    try:
        theirs = read_manifest(run.trained_on)
    except EngineError:
        return False
    return _split_keys(read_manifest(run.data_dir)) == _split_keys(theirs)


def _split_keys(frame) -> set[tuple[str, str]]:
    column = "sha256" if "sha256" in frame.columns else "path"
    return set(zip(frame[column], frame["split"]))


def _models(run: _Run) -> dict:
    """The trained model and, unless disabled or its weights are unavailable, the untrained trunk."""
    models = {"trained": run.lm}
    if run.config.baseline:
        try:
            models["baseline"] = data_io.load_untrained(run.lm.backbone, weights=run.config.baseline_weights, device=run.config.device)
        except EngineError as exc:  # e.g. resnet34 ImageNet weights not cached offline: still evaluate the model
            logger.warning("no baseline: %s", exc)
            run.baseline_error = str(exc)
    return models


def _calibrations(run: _Run, models: dict, embedded: Embedded, pairs: Pairs) -> dict[str, Calibrated]:
    """Val-fit threshold + Platt scaling per model, in the order of the module docstring."""
    if run.split == "val":
        source = "val (the reported pairs themselves: optimistic)"
        return {k: calibrate_one(run, embedded, k, pairs, source) for k in models}
    out: dict[str, Calibrated] = {}
    lm = run.lm
    stored = getattr(lm, "pair_calibration", None)
    if stored is not None:
        out["trained"] = Calibrated(stored.threshold, dict(stored.record), "val (stored in the model)",
                                    AttributionCalibration.from_dict(getattr(lm, "attribution", None)))
    missing = {k: m for k, m in models.items() if k not in out}
    if missing:
        out.update(_fit_on_val(run, missing) or _fit_in_sample(run, missing, embedded, pairs))
    return out


def _val_rows(run: _Run) -> tuple[SplitRows, Path] | None:
    """The val split of the training dataset, else of the evaluated one when reporting test."""
    candidates = [run.trained_on] if run.trained_on is not None else []
    if run.split == "test":
        candidates.append(run.data_dir)
    for data_dir in candidates:
        try:
            rows = rows_of(read_manifest(data_dir), "val")
        except EngineError:
            continue
        if rows.artists >= 2:
            return rows, data_dir
    return None


def _fit_on_val(run: _Run, models: dict) -> dict[str, Calibrated] | None:
    found = _val_rows(run)
    if found is None:
        return None
    rows, data_dir = found
    logger.info("calibrating %s on the val split of %s", ", ".join(models), data_dir)
    embedded = embed_all(rows, models, batch_size=run.config.batch_size, progress=run.progress)
    pairs = draw_pairs(embedded.rows.labels, embedded.rows.groups, n_pairs=run.n_pairs, per_artist_cap=run.config.per_artist_cap, seed=run.config.seed)
    return {k: calibrate_one(run, embedded, k, pairs, "val") for k in models}


def _fit_in_sample(run: _Run, models: dict, embedded: Embedded, pairs: Pairs) -> dict[str, Calibrated]:
    logger.warning("no val split to calibrate on: threshold fit on the reported pairs (optimistic)")
    source = f"{run.split} (no val split available: the reported pairs themselves, optimistic)"
    return {k: calibrate_one(run, embedded, k, pairs, source) for k in models}


def calibrate_one(run: _Run, embedded: Embedded, key: str, pairs: Pairs, source: str) -> Calibrated:
    """Threshold, Platt and open-set attribution rule of model `key`, fit on these embedded rows (the
    trained model's pairs pooled with the held-out pairs `engine train` cross-fitted, when it stored them)."""
    rows = embedded.rows
    held_out = HeldOutPairs.from_dict(getattr(run.lm, "held_out", None)) if key == "trained" else None
    return calibrate(embedded.vectors[key], pairs, source=source, labels=rows.labels, groups=rows.groups, seed=run.config.seed,
                     held_out=held_out)


def _result(run: _Run, models: dict, embedded: Embedded, blocks: dict) -> dict:
    rows = embedded.rows
    head = {"split": run.split, "artists": rows.artists, "images": len(rows.paths)}
    result = {**head, **blocks["trained"]}
    baseline = None
    if "baseline" in blocks:
        baseline = {**head, "model": getattr(models["baseline"], "fingerprint", "baseline"), **blocks["baseline"]}
    result.update({
        "baseline": baseline,
        "model": str(run.model_path),
        "fingerprint": getattr(run.lm, "fingerprint", ""),
        "data": str(run.data_dir),
        "skipped": embedded.skipped,
        "notes": _notes(run, rows),
        "config": {**dataclasses.asdict(run.config), "pairs": run.n_pairs},
        "versions": library_versions(),
    })
    return result


def _notes(run: _Run, rows: SplitRows) -> list[str]:
    notes = [f"baseline unavailable: {run.baseline_error}"] if run.baseline_error else []
    notes += [f"chance level: attribution top1 {1 / rows.artists:.3f}, verification accuracy 0.5, triplet accuracy 0.5"]
    if rows.artists <= 5:
        notes.append(f"only {rows.artists} artists: attribution top5 is trivially 1")
    if run.split == "all" and run.same_dataset and run.trained_on is not None:
        notes.append("split all includes the artists the model was trained on: numbers are optimistic")
    return notes
