"""Markdown table (mean ± sd over folds x seeds) of the runs stored by benchmarks/accuracy.py.

    .venv/bin/python benchmarks/accuracy_report.py [benchmarks/results/accuracy.json] [--runs KEY ...]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

COLUMNS = [
    ("roc_auc", "ROC-AUC"), ("accuracy", "acc"), ("eer", "EER"), ("triplet_accuracy", "triplet"),
    ("top1", "top-1 (10-NN)"), ("centroid_top1", "centroid top-1"), ("precision_at_1", "P@1"),
    ("map_at_r", "MAP@R"), ("ece", "ECE"), ("ece_over_folds", "ECE over all folds"),
    ("known_correct", "open-set known"), ("unknown_correct", "open-set unknown"), ("open_set_auroc", "open-set AUROC"), ("open_set_ece", "open-set ECE"),
]


def cell(summary: dict, key: str) -> str:
    if key not in summary:
        return "-"
    return f"{summary[key]['mean']:.3f} ± {summary[key]['sd']:.3f}"


def markdown(runs: dict, keys: list[str] | None = None) -> str:
    keys = keys or list(runs)
    head = "| run | " + " | ".join(label for _, label in COLUMNS) + " |"
    lines = [head, "|" + "---|" * (len(COLUMNS) + 1)]
    for key in keys:
        summary = runs[key]["summary"]
        lines.append(f"| {key} | " + " | ".join(cell(summary, c) for c, _ in COLUMNS) + " |")
    return "\n".join(lines)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("path", nargs="?", default=str(Path(__file__).resolve().parent / "results" / "accuracy.json"))
    p.add_argument("--runs", nargs="*", help="run keys in this order (default: all)")
    args = p.parse_args()
    runs = json.loads(Path(args.path).read_text())["runs"]
    print(markdown(runs, args.runs))


if __name__ == "__main__":
    main()
