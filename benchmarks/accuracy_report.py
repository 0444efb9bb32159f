"""Markdown table (mean ± sd over folds x seeds) of the runs stored by benchmarks/accuracy.py.

    .venv/bin/python benchmarks/accuracy_report.py [benchmarks/results/accuracy.json] [--runs KEY ...]
    .venv/bin/python benchmarks/accuracy_report.py --by-source --runs KEY ... --names NAME ... [--write README.md]

--by-source: one row per run and source (each source's test painters, then the mean of the sources, the
selection criterion) for runs of `accuracy.py --pool sources`. --write FILE replaces the block between
`<!-- accuracy-by-source -->` and `<!-- /accuracy-by-source -->` in FILE with the table and the command
that made it (the README's results table is generated, not typed). --own-collection: the columns of
`accuracy.py --own-collection` instead, in the `<!-- accuracy-own-collection -->` block. --transfer: one
row per `accuracy.py --transfer A:B` run, in the `<!-- accuracy-transfer -->` block.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

COLUMNS = [
    ("roc_auc", "ROC-AUC"), ("accuracy", "acc"), ("eer", "EER"), ("triplet_accuracy", "triplet"),
    ("top1", "top-1 (10-NN)"), ("centroid_top1", "centroid top-1"), ("precision_at_1", "P@1"),
    ("map_at_r", "MAP@R"), ("ece", "ECE"), ("ece_over_folds", "ECE over all folds"),
    ("known_correct", "open-set known"), ("unknown_correct", "open-set unknown"), ("open_set_auroc", "open-set AUROC"), ("open_set_ece", "open-set ECE"),
    ("band_coverage", "verify answers (outside the uncertain band)"), ("band_accuracy", "verify right when it answers"),
]
SOURCE_COLUMNS = [
    ("roc_auc", "ROC-AUC"), ("accuracy", "acc"), ("top1", "top-1 (10-NN)"), ("precision_at_1", "P@1"), ("map_at_r", "MAP@R"),
    ("ece", "ECE per fold"), ("known_correct", "open-set known"), ("unknown_correct", "open-set unknown"),
    ("open_set_auroc", "open-set AUROC"), ("band_coverage", "verify answers"), ("band_accuracy", "verify right when it answers"),
]
# --own-collection: the calibration refitted on half of a source's test painters, scored on the other half
# (accuracy.py --own-collection), against the fold's own rule on the same half
OWN_COLUMNS = [
    ("own_ece_before", "ECE, fold's rule"), ("own_ece", "ECE, refitted"),
    ("own_open_set_auroc_before", "open-set AUROC, fold's rule"), ("own_open_set_auroc", "open-set AUROC, refitted"),
    ("own_known_correct_before", "open-set known, fold's rule"), ("own_known_correct", "open-set known, refitted"),
    ("own_unknown_correct_before", "open-set unknown, fold's rule"), ("own_unknown_correct", "open-set unknown, refitted"),
]
BEGIN, END = "<!-- accuracy-by-source -->", "<!-- /accuracy-by-source -->"
TRANSFER_BEGIN, TRANSFER_END = "<!-- accuracy-transfer -->", "<!-- /accuracy-transfer -->"
OWN_BEGIN, OWN_END = "<!-- accuracy-own-collection -->", "<!-- /accuracy-own-collection -->"


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


def run_sources(run: dict) -> list[str]:
    """The column prefixes of a --pool sources run: each source in sorted order, then "mean"."""
    return sorted(run.get("sources", {})) + ["mean"]


def by_source_markdown(runs: dict, keys: list[str], names: list[str] | None = None, *, columns=None) -> str:
    """One row per (run, source) and per run the mean of its sources; `names` label the runs (default: their keys);
    `columns` (default SOURCE_COLUMNS): (metric, label) pairs."""
    names = _labels(keys, names)
    columns = columns or SOURCE_COLUMNS
    lines = _head(["model", "painters", "folds"], columns)
    for key, name in zip(keys, names):
        run = runs[key]
        summary = run["summary"]
        folds = summary.get("roc_auc", {}).get("n", "-")
        for source in run_sources(run):
            label = "**source mean**" if source == "mean" else f"{source} ({run['sources'][source]})"
            cells = " | ".join(cell(summary, f"{source}/{c}") for c, _ in columns)
            lines.append(f"| {name} | {label} | {folds} | {cells} |")
    return "\n".join(lines)


def transfer_markdown(runs: dict, keys: list[str], names: list[str] | None = None) -> str:
    """One row per `accuracy.py --transfer A:B` run: trained on source A's painters alone, tested on all of B's."""
    names = _labels(keys, names)
    lines = _head(["model", "trained on", "tested on"], SOURCE_COLUMNS)
    for key, name in zip(keys, names):
        run = runs[key]
        if not isinstance(run.get("transfer"), list):
            raise ValueError(f"{key!r} is not a --transfer run")
        a, b = run["transfer"]
        counts = run.get("sources", {})
        cells = " | ".join(cell(run["summary"], c) for c, _ in SOURCE_COLUMNS)
        lines.append(f"| {name} | {a} ({counts.get(a, '?')}) | {b} ({counts.get(b, '?')}) | {cells} |")
    return "\n".join(lines)


def _labels(keys: list[str], names: list[str] | None) -> list[str]:
    """One label per run: `names`, or the run keys themselves."""
    names = names or keys
    if len(names) != len(keys):
        raise ValueError(f"{len(names)} names for {len(keys)} runs")
    return names


def _head(first: list[str], columns) -> list[str]:
    """A markdown table's header and rule: the `first` fixed columns, then each (metric, label)'s label."""
    labels = first + [label for _, label in columns]
    return ["| " + " | ".join(labels) + " |", "|" + "---|" * len(labels)]


def replace_block(text: str, table: str, command: str, *, begin: str = BEGIN, end: str = END) -> str:
    """`text` with the block between `begin` and `end` replaced by the command and the table."""
    pattern = re.compile(re.escape(begin) + r".*?" + re.escape(end), re.S)
    if not pattern.search(text):
        raise ValueError(f"no {begin} ... {end} block to replace")
    block = f"{begin}\n<!-- made by: {command} -->\n\n{table}\n\n{end}"
    return pattern.sub(lambda _: block, text, count=1)


def write_stored_block(target: str | Path, stored: str | Path, render, *, script: str, begin: str, end: str) -> None:
    """Replace `target`'s begin..end block with `render`(the JSON result stored at `stored`) and the command that
    made it (`python benchmarks/<script> --write <target's name>`); the probes' `--write` (nothing is recomputed)."""
    target = Path(target)
    table = render(json.loads(Path(stored).read_text()))
    command = f"python benchmarks/{script} --write {target.name}"
    target.write_text(replace_block(target.read_text(), table, command, begin=begin, end=end))


def probe_parser(doc: str, result_name: str) -> argparse.ArgumentParser:
    """The options every probe with a generated block shares: --data, --write (render the stored result into a
    file's block, compute nothing), --cache (the CV's feature cache), --out (benchmarks/results/<result_name>)."""
    p = argparse.ArgumentParser(description=doc.splitlines()[0])
    p.add_argument("--data", nargs="+")
    p.add_argument("--write", help="render the stored --out result into this file's block (computes nothing)")
    p.add_argument("--cache", default="/tmp/accuracy-cache")
    p.add_argument("--out", default=str(Path(__file__).resolve().parent / "results" / result_name))
    return p


def written_instead(parser: argparse.ArgumentParser, args, render, *, script: str, begin: str, end: str) -> bool:
    """A probe's --write: render the stored result into the file's block and say so (True); without it, --data
    is needed (the parser exits with its error when absent) and the probe runs (False)."""
    if args.write:
        write_stored_block(args.write, args.out, render, script=script, begin=begin, end=end)
        return True
    if not args.data:
        parser.error("--data is required (or --write)")
    return False


def generated_table(text: str, begin: str, end: str) -> str | None:
    """The table of `text`'s begin..end block (as replace_block wrote it), None when there is none."""
    found = re.search(re.escape(begin) + r"\n<!-- made by: .*? -->\n\n(.*?)\n\n" + re.escape(end), text, re.S)
    return None if found is None else found.group(1)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("path", nargs="?", default=str(Path(__file__).resolve().parent / "results" / "accuracy.json"))
    p.add_argument("--runs", nargs="*", help="run keys in this order (default: all)")
    p.add_argument("--by-source", action="store_true", help="rows per source and the source mean (--pool sources runs)")
    p.add_argument("--own-collection", action="store_true",
                   help="with --by-source: the own-collection recalibration columns (accuracy.py --own-collection runs)")
    p.add_argument("--transfer", action="store_true", help="one row per --transfer run (trained on one source, tested on another)")
    p.add_argument("--names", nargs="*", help="with --by-source or --transfer: a label per run (default: the run keys)")
    p.add_argument("--write", help="with --by-source: replace the table block in this file instead of printing")
    args = p.parse_args(argv)
    runs = json.loads(Path(args.path).read_text())["runs"]
    missing = [k for k in args.runs or [] if k not in runs]
    if missing:
        print(f"error: no stored run {missing[0]!r} in {args.path}", file=sys.stderr)
        return 2
    if not args.by_source and not args.transfer:
        print(markdown(runs, args.runs))
        return 0
    try:
        if args.transfer:
            table = transfer_markdown(runs, args.runs or list(runs), args.names)
        else:
            table = by_source_markdown(runs, args.runs or list(runs), args.names, columns=OWN_COLUMNS if args.own_collection else None)
    except (ValueError, KeyError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if not args.write:
        print(table)
        return 0
    target = Path(args.write)
    kind = "--transfer " if args.transfer else "--by-source " + ("--own-collection " if args.own_collection else "")
    command = "python benchmarks/accuracy_report.py " + kind
    command += "--runs " + " ".join(f'"{k}"' for k in args.runs or runs)
    command += (" --names " + " ".join(f'"{n}"' for n in args.names)) if args.names else ""
    try:
        begin, end = (TRANSFER_BEGIN, TRANSFER_END) if args.transfer else (OWN_BEGIN, OWN_END) if args.own_collection else (BEGIN, END)
        target.write_text(replace_block(target.read_text(), table, command + f" --write {target.name}", begin=begin, end=end))
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
