"""Validation during training: fixed val pairs, triplets and loss batches, so epochs compare.

metrics(emb) -> {"roc_auc", "eer", "average_precision", "accuracy", "triplet_accuracy", "map_at_r", "loss"} on val artists
(never seen in training); `calibrate(emb)` fits the threshold and Platt calibration on the same pairs.
"""

from __future__ import annotations

from typing import Callable

import numpy as np
import torch

from engine.base.runtime import torch_threads
from engine.base.vectors import cosine_scores
from engine.calibrate.fit import calibrate
from engine.calibrate.held_out import HeldOutPairs
from engine.calibrate.platt import best_threshold
from engine.metrics.pair_sampling import Pairs, sample_pairs
from engine.metrics.retrieval import retrieval_metrics
from engine.metrics.triplets import ordered_fraction, sample_triplets
from engine.metrics.verification import verification_metrics
from engine.train.data import Split


class Validator:
    def __init__(
        self,
        val: Split,
        *,
        loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
        loss_batches: list[list[int]],
        n_pairs: int,
        per_artist_cap: int,
        n_triplets: int,
        seed: int,
    ) -> None:
        self.val = val
        self.loss_fn = loss_fn
        self.loss_batches = loss_batches
        # sampled once (it is the slow part): every epoch ranks the same triplets
        self.triplets = sample_triplets(val.artists, n_triplets=n_triplets, seed=seed, groups=val.groups)
        self.pairs = Pairs(*sample_pairs(
            val.artists, n_pairs=n_pairs, per_artist_cap=per_artist_cap, seed=seed, groups=val.groups
        ))

    @classmethod
    def for_config(cls, config, val: Split) -> "Validator":
        """The validator of `config` on the val split: the one setup `engine train` and the CV's head fits share."""
        from engine.train.steps import build_loss, epoch_batches

        return cls(
            val, loss_fn=build_loss(config), loss_batches=epoch_batches(config, val.labels, epoch=0, seed=config.seed + 1),
            n_pairs=config.val_pairs, per_artist_cap=config.per_artist_cap, n_triplets=config.val_triplets, seed=config.seed,
        )

    def scores(self, emb: np.ndarray) -> np.ndarray:
        return cosine_scores(emb, self.pairs.i, self.pairs.j)

    def metrics(self, emb: np.ndarray, *, with_loss: bool = True) -> dict:
        scores = self.scores(emb)
        verification = verification_metrics(scores, self.pairs.same, threshold=best_threshold(scores, self.pairs.same))
        out = {k: verification[k] for k in ("roc_auc", "eer", "average_precision", "accuracy")}
        out["triplet_accuracy"] = self.triplet_accuracy(emb)
        out["map_at_r"] = retrieval_metrics(emb, self.val.artists, groups=self.val.groups)["map_at_r"]
        out["loss"] = self.loss(emb) if with_loss else float("nan")
        return out

    def triplet_accuracy(self, emb: np.ndarray) -> float:
        """Share of the fixed val triplets with ||e_a - e_p|| < ||e_a - e_n||."""
        return ordered_fraction(emb, self.triplets)

    def loss(self, emb: np.ndarray) -> float:
        """Mean training loss over the fixed val batches (embeddings only: no gradients needed)."""
        tensor = torch.from_numpy(np.asarray(emb, dtype=np.float32))
        labels = torch.from_numpy(self.val.labels)
        with torch.no_grad(), torch_threads(1):
            values = [float(self.loss_fn(tensor[b], labels[b])) for b in self.loss_batches]
        return float(np.mean(values)) if values else float("nan")

    def calibrate(self, emb: np.ndarray, *, held_out: HeldOutPairs | None = None) -> tuple[float, dict]:
        """The threshold and Platt calibration fitted on the val pairs (pooled with `held_out` pairs when
        given), exactly as `engine calibrate`."""
        fitted = calibrate(emb, self.pairs, source="val", held_out=held_out)
        return fitted.threshold, fitted.calibration
