"""`engine train`: fit the Siamese embedder on a prepared dataset."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.table import Table

from cli.options import HomeOpt, JsonOpt
from cli.output import RichProgress, emit


def register(app: typer.Typer) -> None:
    app.command("train", help=train.__doc__)(train)


def train(
    data_dir: Annotated[Path, typer.Argument(help="A folder written by `engine prepare` (holds manifest.csv).")],
    backbone: Annotated[Optional[str], typer.Option("--backbone", help="Trunk: resnet34 | efficientnet_lite0 | efficientnet_lite2, or any timm:NAME / torchvision:NAME classification model (its own input size and mean/std) (default: efficientnet_lite0; reference recipe: resnet34).")] = None,
    weights: Annotated[Optional[str], typer.Option("--weights", help="Trunk weights: imagenet (offline for the EfficientNet-Lite trunks; others from the local torch hub / Hugging Face cache, downloaded only when online), none (random init) or a .pth/.safetensors FILE.")] = None,
    mode: Annotated[Optional[str], typer.Option("--mode", help="frozen: cache trunk features once, train the head (default on CPU); finetune: train the whole network (default on CUDA).")] = None,
    recipe: Annotated[str, typer.Option("--recipe", help="default: second-order trunk pooling, projected head started at the trunk's PCA, supervised-contrastive loss on P x K batches, cosine embeddings (chosen by cross-validation); reference: the published design (ResNet34, random triplets, margin 5, Adam 6e-6, 14 epochs).")] = "default",
    epochs: Annotated[Optional[int], typer.Option("--epochs", help="Training epochs (default 20; reference 14).")] = None,
    batch_size: Annotated[Optional[int], typer.Option("--batch-size", help="Images per batch (P artists x K paintings); triplets per batch for the reference recipe.")] = None,
    per_artist: Annotated[Optional[int], typer.Option("--per-artist", help="K: paintings per artist in a batch (default 4).")] = None,
    embedding_dim: Annotated[Optional[int], typer.Option("--embedding-dim", help="Embedding size (default 256).")] = None,
    head: Annotated[Optional[str], typer.Option("--head", help="Embedding head: projected (standardised trunk features, linear map started at their PCA; default) | linear (BatchNorm + linear) | mlp.")] = None,
    pooling: Annotated[Optional[str], typer.Option("--pooling", help="Trunk features: gram (final pool + middle-stage mean/std + their channel covariances; default) | multiscale (without the covariances) | avg (final pool only; reference).")] = None,
    normalize: Annotated[Optional[bool], typer.Option("--normalize/--no-normalize", help="L2-normalise embeddings (cosine similarity); the reference recipe does not.")] = None,
    lr: Annotated[Optional[float], typer.Option("--lr", help="Learning rate (default 1e-4; reference 6e-6).")] = None,
    loss: Annotated[Optional[str], typer.Option("--loss", help="supcon (supervised contrastive; default) | multi_similarity | triplet (uses --margin and --miner).")] = None,
    margin: Annotated[Optional[float], typer.Option("--margin", help="Triplet margin (default 0.2 on unit vectors; reference 5).")] = None,
    miner: Annotated[Optional[str], typer.Option("--miner", help="In-batch mining: semihard | hard | batch_hard | all.")] = None,
    views: Annotated[Optional[int], typer.Option("--views", help="Frozen mode: cached views per training image (1 clean + augmented ones; default 2).")] = None,
    max_steps_per_epoch: Annotated[Optional[int], typer.Option("--max-steps-per-epoch", help="Cap the batches per epoch (for quick CPU runs).")] = None,
    calibration_folds: Annotated[Optional[int], typer.Option("--calibration-folds", help="Frozen mode: J heads, each trained without a J-th of the training artists, score held-out pairs of all of them; the threshold and probability calibration are fit on those and the val pairs together (default 3; 0: val pairs only).")] = None,
    balance_sources: Annotated[Optional[bool], typer.Option("--balance-sources/--no-balance-sources", help="Frozen mode: draw the artists of each source folder (as `engine prepare` read them) as often in total as those of any other, instead of uniformly over artists (default off).")] = None,
    style_weight: Annotated[Optional[float], typer.Option("--style-weight", help="Frozen mode: weight of an auxiliary cross-entropy over the manifest's style column on the embedding (default 0: off).")] = None,
    seed: Annotated[Optional[int], typer.Option("--seed", help="Seed of sampling, augmentation and initialisation (deterministic on CPU).")] = None,
    workers: Annotated[Optional[int], typer.Option("--workers", help="Image decoding processes (default: cores - 1).")] = None,
    threads: Annotated[Optional[int], typer.Option("--threads", help="Torch CPU threads (default: all cores).")] = None,
    device: Annotated[Optional[str], typer.Option("--device", help="cpu or cuda (default: cuda when present).")] = None,
    out: Annotated[Optional[Path], typer.Option("--out", help="Model folder (default: HOME/models/<timestamp>).")] = None,
    resume: Annotated[bool, typer.Option("--resume", help="Continue the interrupted run in --out (or the home's latest) from its last epoch.")] = False,
    as_json: JsonOpt = False,
    home: HomeOpt = None,
) -> None:
    """Train the embedder; writes MODEL_DIR/model.pt, metrics.csv, loss.png, config.json and marks the model current."""
    from engine.train.trainer import make_config, train_model

    config = make_config(
        recipe, backbone=backbone, weights=weights, mode=mode, epochs=epochs, batch_size=batch_size,
        per_artist=per_artist, embedding_dim=embedding_dim, head=head, pooling=pooling, normalize=normalize, lr=lr, kind=loss,
        margin=margin, miner=miner, views=views, max_steps_per_epoch=max_steps_per_epoch, seed=seed, workers=workers,
        threads=threads, device=device, calibration_folds=calibration_folds, balance_sources=balance_sources,
        style_weight=style_weight,
    )
    summary = train_model(data_dir, config=config, out=out, home=home, resume=resume, progress=RichProgress())
    if summary["rank"] == 0:  # under torchrun every rank returns the summary; print it once
        emit(summary, as_json=as_json, render=render)


def render(console: Console, summary: dict) -> None:
    table = Table(title=f"Trained {summary['model_path']}")
    table.add_column("val artists (unseen)", justify="left")
    table.add_column("ROC-AUC", justify="right")
    table.add_row(f"{summary['weights']} trunk features (baseline)", f"{summary['val_roc_auc_baseline']:.4f}")
    table.add_row("untrained model (epoch 0)", f"{summary['val_roc_auc_untrained']:.4f}")
    table.add_row(f"[bold]best (epoch {summary['best_epoch']})", f"[bold]{summary['val_roc_auc']:.4f}")
    console.print(table)
    per_epoch = summary.get("seconds_per_epoch")
    console.print(
        f"{summary['recipe']} recipe, {summary['mode']} {summary['backbone']} on {summary['device']}: "
        f"{summary['train_images']} train / {summary['val_images']} val images ({summary['val_artists']} artists); "
        f"threshold {summary['threshold']:.4f} (calibrated on {summary['calibration_artists']} artists); {summary['seconds']:.1f} s in all"
        + (f", {per_epoch:.1f} s per epoch" if per_epoch else "")
    )
