"""Benchmark: the cost of last-stage fine-tuning (engine.train.tail) against the head alone, per training step.

    python benchmarks/bench_tail_epoch.py --data PREPARED --cache CACHE [--steps 20]

Rows are read from the CV's feature caches (accuracy.py --pooling gram, with and without --finetune-from
blocks.6), so nothing is computed from images here. On one torch thread, as `engine train` and the CV train:
- reference: the default head's step on the pooled features (engine.train.head_fit.head_epoch);
- tail_head: conv_head (+ bn2) trained with the head, blocks.6 run frozen on the cached activation;
- tail_b6: blocks.6 + conv_head (+ bn2) trained with the head.
Each is timed over --steps P x K batches of 64 (after 2 untimed), reported as seconds per step, as a ratio to
the reference, and projected to an epoch of the full training set (len(paintings) // 64 steps). Also the
cache's size per painting and view. Writes benchmarks/results/tail_epoch.json; `--write BENCHMARKS.md` renders
the stored result into its `<!-- tail-epoch -->` block instead (computes nothing).
"""

from __future__ import annotations

import json
import os
import sys
import time
from dataclasses import replace
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

import numpy as np  # noqa: E402
import torch  # noqa: E402

from benchmarks.accuracy_recipes import RECIPES  # noqa: E402
from benchmarks.accuracy_report import probe_parser, written_instead  # noqa: E402
from benchmarks.crossval.features import FeatureSet, prepared_features  # noqa: E402
from benchmarks.crossval.recipes import as_split  # noqa: E402
from engine.model.augment import AugmentConfig  # noqa: E402
from engine.model.network import NetworkConfig  # noqa: E402
from engine.train.frozen import new_head  # noqa: E402
from engine.train.head_fit import head_epoch  # noqa: E402
from engine.train.steps import build_loss, build_optimizer  # noqa: E402


def time_steps(module: torch.nn.Module, groups: list[dict], config, feats: torch.Tensor, data: FeatureSet, steps: int) -> float:
    """Seconds per step of head_epoch (the loop `engine train` and the CV run) over `steps` batches."""
    optimizer = build_optimizer(config, groups)
    loss_fn = build_loss(config)
    labels = as_split(data).labels
    head_epoch(module, optimizer, loss_fn, feats, labels, replace(config, max_steps_per_epoch=2), 0)  # warm-up
    started = time.perf_counter()
    head_epoch(module, optimizer, loss_fn, feats, labels, replace(config, max_steps_per_epoch=steps), 1)
    return (time.perf_counter() - started) / steps


def run(args) -> dict:
    torch.set_num_threads(1)
    network = NetworkConfig(pooling="gram")
    pooled = prepared_features(args.data, network, cache_dir=args.cache, views=2, augment=AugmentConfig())
    cut = prepared_features(args.data, network, cache_dir=args.cache, views=2, augment=AugmentConfig(), cut="blocks.6")
    n = len(pooled.artists)
    rows = {}
    config = RECIPES["new_default"](network).config
    head = new_head(pooled.features.shape[2], network, pooled.features[0])
    rows["reference: the head alone"] = time_steps(head, [{"params": head.parameters()}], config,
                                                   torch.from_numpy(pooled.features), pooled, args.steps)
    del pooled
    feats = torch.from_numpy(cut.features)
    for name in ("tail_head", "tail_b6"):
        recipe = RECIPES[name](network)
        torch.manual_seed(0)
        model = recipe.build(cut.features.shape[2], recipe.config, cut)
        rows[name] = time_steps(model, model.param_groups(), recipe.config, feats, cut, args.steps)
    reference = rows["reference: the head alone"]
    steps_per_epoch = n // config.batch_size
    tail = model.tail
    return {
        "paintings": n, "steps_timed": args.steps, "steps_per_epoch": steps_per_epoch,
        "row_floats": {"pooled": tail.width, "activation": int(np.prod(tail.map_shape))},
        "cache_kb_per_view": {"pooled": tail.width * 2 / 1000, "activation": int(np.prod(tail.map_shape)) * 2 / 1000},
        "rows": [{"case": name, "seconds_per_step": s, "over_reference": s / reference, "epoch_seconds": s * steps_per_epoch}
                 for name, s in rows.items()],
        "torch_threads": 1, "finished": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "command": "python benchmarks/bench_tail_epoch.py " + " ".join(sys.argv[1:]),
    }


BEGIN, END = "<!-- tail-epoch -->", "<!-- /tail-epoch -->"


def markdown(result: dict) -> str:
    """The cache's size and one row per case: seconds per step, the ratio to the head alone, an epoch's seconds."""
    kb = result["cache_kb_per_view"]
    lines = [f"Cache per painting and view (fp16): {kb['pooled']:.1f} KB of pooled features + {kb['activation']:.1f} KB of "
             f"activation entering blocks.6. One torch thread, {result['steps_timed']} steps of 64 timed; an epoch of the "
             f"{result['paintings']:,} paintings is {result['steps_per_epoch']} steps.", "",
             "| training step | seconds per step | x the head alone | seconds per epoch |", "|---|---|---|---|"]
    for row in result["rows"]:
        lines.append(f"| {row['case']} | {row['seconds_per_step']:.3f} | {row['over_reference']:.1f} | {row['epoch_seconds']:.0f} |")
    return "\n".join(lines)


def main(argv=None) -> None:
    p = probe_parser(__doc__, "tail_epoch.json")
    p.add_argument("--steps", type=int, default=20)
    args = p.parse_args(argv)
    if written_instead(p, args, markdown, script="bench_tail_epoch.py", begin=BEGIN, end=END):
        return
    result = run(args)
    Path(args.out).write_text(json.dumps(result, indent=1))
    for row in result["rows"]:
        print(f"{row['case']:28s} {row['seconds_per_step']:.3f} s/step  x{row['over_reference']:.1f}  "
              f"{row['epoch_seconds']:.0f} s per epoch of {result['paintings']} paintings")


if __name__ == "__main__":
    main()
