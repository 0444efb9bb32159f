"""`engine train`: fit the Siamese embedder on a prepared dataset, keep the best model by val ROC-AUC + MAP@R.

Per epoch: train loss, then val loss and verification metrics on the val artists (never trained
on), appended to metrics.csv and drawn in loss.png; epoch 0 is the untrained model, and the raw
ImageNet features are measured once as the baseline. The best epoch is saved as model.pt with
threshold + Platt calibration fit on the val pairs; last.pt lets `--resume` continue.
"""

from __future__ import annotations

import logging
import math
import time
from pathlib import Path

import torch

from engine.base.atomic import atomic_write_json
from engine.model.checkpoint import read_checkpoint, save_checkpoint, update_calibration
from engine.base.config import to_plain
from engine.base.errors import EngineError
from engine.calibrate.attribution import fit_attribution_calibration
from engine.base.home import Home
from engine.train.plots import plot_history
from engine.base.progress import Progress
from engine.train.config import TrainConfig, make_config, reference_config
from engine.train.data import TrainData, load_train_data
from engine.train.distributed import (
    Ranks, from_main, process_group, ranks_from_env, run_config, weights_in_sync,
)
from engine.train.validation import Validator
from engine.train.log import LAST_NAME, load_last, save_last, write_metrics
from engine.train.steps import set_seed
from engine.train.head_fit import selection_score
from engine.base.versions import library_versions
from engine.data.provenance import training_provenance
from engine.base.runtime import restores_torch_threads

__all__ = ["TrainConfig", "make_config", "reference_config", "train_model"]

logger = logging.getLogger(__name__)

MODEL_NAME = "model.pt"
CONFIG_NAME = "config.json"
# loss.png is redrawn after an epoch at most this often, and after the last: a draw takes ~0.5 s, as long
# as a frozen-mode epoch of the demo (metrics.csv and last.pt are still written every epoch).
PLOT_EVERY_SECONDS = 20.0
# Options that may differ between an interrupted run and its --resume.
_RESUMABLE_CHANGES = {"epochs", "workers", "threads", "device", "max_steps_per_epoch", "feature_cache"}


@restores_torch_threads  # training sets its own thread count; the caller's is back afterwards
def train_model(
    data_dir: str | Path,
    *,
    config: TrainConfig = TrainConfig(),
    out: str | Path | None = None,
    home: str | Path | None = None,
    resume: bool = False,
    make_current: bool = True,
    progress: Progress | None = None,
) -> dict:
    """Train on DATA_DIR (a `prepare` output); returns the summary (includes "model_path").

    `make_current`: the model becomes the home's default (`engine demo` keeps its models out of that).

    Under torchrun every rank calls this: DDP over the ranks, rank 0 alone validates and writes
    (engine.train.distributed); every rank returns rank 0's summary with its own "rank".
    """
    started = time.perf_counter()
    ranks = ranks_from_env()
    config = run_config(config, ranks)
    if ranks.distributed and config.mode != "finetune":
        raise EngineError("under torchrun pass --mode finetune (frozen mode trains only the head, in seconds, on one process)")
    with process_group(config.device) as ranks:
        return _train(data_dir, config, ranks, out=out, home=home, resume=resume, make_current=make_current,
                      progress=progress if ranks.is_main else None, started=started)


def _train(data_dir, config: TrainConfig, ranks: Ranks, *, out, home, resume: bool, make_current: bool, progress,
           started: float) -> dict:
    torch.set_num_threads(config.threads)
    set_seed(config.seed)
    data = load_train_data(data_dir)
    the_home = Home.resolve(home)
    record = {"config": to_plain(config), "data_dir": str(data.data_dir.resolve()), "versions": library_versions(),
              "trained_on": training_provenance(data.data_dir)}
    out_dir = from_main(lambda: _claim_out_dir(out, the_home, record, resume=resume))
    state = _resume_state(out_dir, record["config"]) if resume else None

    trainer = _make_trainer(config, data, the_home, progress)
    validator, baseline = None, {}
    if ranks.is_main:
        embeddings = trainer.baseline_embeddings()  # first: it also drops unreadable val images
        validator = Validator.for_config(config, trainer.val)
        baseline = validator.metrics(embeddings, with_loss=False)
        logger.info("val ROC-AUC of the ImageNet features (baseline): %.4f", baseline["roc_auc"])
    run = _Run(config, trainer, validator, out_dir, record, baseline)
    run.setup_seconds = time.perf_counter() - started
    run.start(state)
    for epoch in range(run.next_epoch, config.epochs + 1):
        run.epoch(epoch, progress)
    final = weights_in_sync(trainer.model)
    if ranks.is_main:
        run.crossfit_calibration()
        if make_current:
            the_home.set_current_model(out_dir / MODEL_NAME)
    summary = from_main(lambda: run.summary(time.perf_counter() - started))
    return {**summary, "final_fingerprint": final, "rank": ranks.rank, "world_size": ranks.world_size}


def _claim_out_dir(out, home: Home, record: dict, *, resume: bool) -> Path:
    out_dir = _out_dir(out, home, resume=resume)
    if resume:
        _resume_state(out_dir, record["config"])  # refuse before config.json is overwritten
    atomic_write_json(out_dir / CONFIG_NAME, record)
    return out_dir


def _make_trainer(config: TrainConfig, data: TrainData, home: Home, progress: Progress | None):
    if config.mode == "frozen":
        from engine.train.frozen import FrozenTrainer

        cache_dir = Path(config.feature_cache) if config.feature_cache else home.root / "cache" / "features"
        return FrozenTrainer(config, data, cache_dir=cache_dir, progress=progress)
    from engine.train.finetune import FinetuneTrainer

    return FinetuneTrainer(config, data, progress=progress)


def _out_dir(out: str | Path | None, home: Home, *, resume: bool) -> Path:
    if out is not None:
        out_dir = Path(out).expanduser()
    elif resume:
        runs = sorted(home.models_dir.glob(f"*/{LAST_NAME}"), key=lambda p: p.stat().st_mtime)
        if not runs:
            raise EngineError(f"no interrupted run in {home.models_dir}; pass --out MODEL_DIR or drop --resume")
        out_dir = runs[-1].parent
    else:
        out_dir = home.new_model_dir()  # claimed atomically: concurrent trainings never share it
    if not resume and (out_dir / MODEL_NAME).exists():
        if (out_dir / LAST_NAME).exists():
            raise EngineError(f"{out_dir} already holds a model; pass --resume to continue it or another --out")
        # model.pt without last.pt: a run killed inside its first epoch's writes; nothing to continue.
        logger.warning("%s holds an interrupted first epoch (no %s); starting it over", out_dir, LAST_NAME)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise EngineError(f"cannot create {out_dir}: {exc.strerror}; pass another --out") from None
    return out_dir


def _resume_state(out_dir: Path, config: dict) -> dict:
    state = load_last(out_dir)
    old = {k: v for k, v in (state.get("config") or {}).items() if k not in _RESUMABLE_CHANGES}
    new = {k: v for k, v in config.items() if k not in _RESUMABLE_CHANGES}
    changed = sorted(k for k in set(old) | set(new) if old.get(k) != new.get(k))
    if changed:
        raise EngineError(f"--resume needs the options of the interrupted run; these differ: {', '.join(changed)}")
    return state


class _Run:
    """The epoch loop's state: history, best epoch, where things are written."""

    def __init__(self, config, trainer, validator, out_dir: Path, record: dict, baseline: dict) -> None:
        self.config, self.trainer, self.validator = config, trainer, validator
        self.out_dir, self.record, self.baseline = out_dir, record, baseline
        self.history: list[dict] = []
        self.best: dict = {"epoch": -1, "val_roc_auc": -math.inf}
        self.next_epoch = 1
        self.plotted_at = -math.inf  # when loss.png was last drawn
        self.setup_seconds = 0.0
        self.best_embeddings = None  # val embeddings of the best epoch (this process's)

    def start(self, state: dict | None) -> None:
        if state is None:
            self._record(0, float("nan"), 0.0)
            return
        self.trainer.model.load_state_dict(state["model"])
        self.trainer.optimizer.load_state_dict(state["optimizer"])
        self.history, self.best = list(state["history"]), dict(state["best"])
        self.next_epoch = int(state["epoch"]) + 1
        logger.info("resuming %s after epoch %d", self.out_dir, state["epoch"])

    def epoch(self, epoch: int, progress: Progress | None) -> None:
        started = time.perf_counter()
        train_loss = self.trainer.train_epoch(epoch, progress)
        self._record(epoch, train_loss, started)

    def _record(self, epoch: int, train_loss: float, started: float) -> None:
        if self.validator is None:  # not rank 0: rank 0 alone validates and writes
            return
        embeddings = self.trainer.val_embeddings()
        metrics = self.validator.metrics(embeddings)
        row = {"epoch": epoch, "train_loss": train_loss, **{f"val_{k}": v for k, v in metrics.items()}}
        row["lr"] = self.trainer.optimizer.param_groups[-1]["lr"]
        row["seconds"] = time.perf_counter() - started if started else 0.0
        row["score"] = selection_score(metrics, self.config.selection)  # the best epoch maximises it
        row["best"] = int(row["score"] > self.best.get("score", -math.inf))
        if row["best"]:
            self._save_best(epoch, row, embeddings)
        self.history.append(to_plain(row))
        self._write(epoch)
        logger.info(
            "epoch %d/%d  train loss %s  val loss %.4f  val ROC-AUC %.4f  triplet acc %.4f%s  %.1f s",
            epoch, self.config.epochs, f"{train_loss:.4f}" if math.isfinite(train_loss) else "-", row["val_loss"],
            row["val_roc_auc"], row["val_triplet_accuracy"], "  (best)" if row["best"] else "", row["seconds"],
        )

    def crossfit_calibration(self) -> None:
        """Frozen mode: re-fit the best model's threshold and Platt calibration on its val pairs pooled
        with cross-fitted held-out pairs of the training artists (engine.train.crossfit), in model.pt."""
        folds = self.config.calibration_folds
        if not folds or self.config.mode != "frozen":
            if folds:
                logger.info("cross-fitted calibration runs in frozen mode only; %s mode calibrates on val pairs", self.config.mode)
            return
        from engine.train.crossfit import crossfit_pairs
        from engine.train.frozen import new_head

        t = self.trainer
        width = int(t.train_feats.shape[2])
        held_out = crossfit_pairs(lambda feats: new_head(width, self.config.network, feats), self.config,
                                  t.train_feats, t.train, t.val_feats, t.val, folds=folds)
        if held_out is None:
            return
        threshold, calibration = self.validator.calibrate(self._best_val_embeddings(), held_out=held_out)
        update_calibration(self.out_dir / MODEL_NAME, threshold=threshold, calibration=calibration, held_out=held_out.to_dict())
        self.best.update(threshold=threshold, calibration=calibration, calibration_artists=len(set(t.val.artists)) + held_out.artists)
        logger.info("calibrated on val pairs + %d held-out pairs of %d training artists: threshold %.4f",
                    len(held_out.scores), held_out.artists, threshold)

    def _best_val_embeddings(self):
        if self.best_embeddings is None:  # resumed after the last epoch: the best head is in model.pt
            self.best_embeddings = self.trainer.val_embeddings_of(read_checkpoint(self.out_dir / MODEL_NAME)["state_dict"])
        return self.best_embeddings

    def _save_best(self, epoch: int, row: dict, embeddings) -> None:
        self.best_embeddings = embeddings
        threshold, calibration = self.validator.calibrate(embeddings)
        val = self.validator.val  # open-set attribution calibrated on the same val artists
        attribution = fit_attribution_calibration(embeddings, val.artists, seed=self.config.seed, groups=val.groups)
        metrics = {"epoch": epoch, "val": to_plain(row), "baseline_val": self.baseline}
        fingerprint = save_checkpoint(
            self.out_dir / MODEL_NAME, model=self.trainer.model, network=self.config.network,
            config={**self.record["config"], "data_dir": self.record["data_dir"]},
            metrics=metrics, threshold=threshold, calibration=calibration, attribution=attribution.to_dict(),
            trained_on=self.record["trained_on"],
        )
        self.best = {"epoch": epoch, "val_roc_auc": float(row["val_roc_auc"]), "score": float(row["score"]), "threshold": threshold,
                     "calibration": calibration, "fingerprint": fingerprint, "val_triplet_accuracy": row["val_triplet_accuracy"]}

    def _write(self, epoch: int) -> None:
        write_metrics(self.out_dir, self.history)
        if epoch >= self.config.epochs or time.perf_counter() - self.plotted_at >= PLOT_EVERY_SECONDS:
            plot_history(self.history, self.out_dir / "loss.png", baseline_roc_auc=self.baseline["roc_auc"])
            self.plotted_at = time.perf_counter()
        save_last(self.out_dir, epoch=epoch, model=self.trainer.model, optimizer=self.trainer.optimizer,
                  history=self.history, best=to_plain(self.best), config=self.record["config"])

    def summary(self, seconds: float) -> dict:
        trained = [r for r in self.history if r["epoch"] > 0]
        epoch_seconds = [r["seconds"] for r in trained if r["epoch"] >= self.next_epoch]
        return to_plain({
            "model_path": self.out_dir / MODEL_NAME,
            "model_dir": self.out_dir,
            "recipe": self.config.recipe,
            "mode": self.config.mode,
            "backbone": self.config.network.backbone,
            "weights": self.config.network.weights,
            "device": self.config.device,
            "epochs": self.config.epochs,
            "best_epoch": self.best["epoch"],
            "val_roc_auc": self.best["val_roc_auc"],
            "val_triplet_accuracy": self.best.get("val_triplet_accuracy"),
            "val_roc_auc_untrained": self.history[0]["val_roc_auc"] if self.history else None,
            "val_roc_auc_baseline": self.baseline["roc_auc"],
            "threshold": self.best.get("threshold"),
            "calibration": self.best.get("calibration"),
            "calibration_artists": self.best.get("calibration_artists", len(set(self.trainer.val.artists))),
            "fingerprint": self.best.get("fingerprint"),
            "train_images": len(self.trainer.train),
            "val_images": len(self.trainer.val),
            "val_artists": len(set(self.trainer.val.artists)),
            "setup_seconds": self.setup_seconds,
            "seconds_per_epoch": sum(epoch_seconds) / len(epoch_seconds) if epoch_seconds else None,
            "seconds": seconds,
            "metrics_csv": self.out_dir / "metrics.csv",
            "loss_png": self.out_dir / "loss.png",
        })
