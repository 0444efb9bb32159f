"""benchmarks/accuracy_report.py: the per-source table and the generated README block."""

from __future__ import annotations

import json

import pytest

from benchmarks import accuracy_report


def _run(auc: dict) -> dict:
    summary = {f"{s}/roc_auc": {"mean": v, "sd": 0.01, "n": 3} for s, v in auc.items()}
    summary["roc_auc"] = {"mean": 0.5, "sd": 0.0, "n": 3}
    return {"sources": {"artdata": 35, "wikiart": 223}, "summary": summary}


def test_by_source_rows_give_each_source_then_the_mean_with_painters_and_folds():
    runs = {"k": _run({"artdata": 0.81, "wikiart": 0.9, "mean": 0.855})}
    lines = accuracy_report.by_source_markdown(runs, ["k"], ["default"]).splitlines()
    assert len(lines) == 2 + 3
    assert lines[2].startswith("| default | artdata (35) | 3 | 0.810 ± 0.010 | - |")
    assert lines[3].startswith("| default | wikiart (223) | 3 | 0.900 ± 0.010 |")
    assert lines[4].startswith("| default | **source mean** | 3 | 0.855 ± 0.010 |")
    with pytest.raises(ValueError):
        accuracy_report.by_source_markdown(runs, ["k"], ["a", "b"])


def test_write_replaces_only_the_marked_block_and_records_the_command(tmp_path):
    results = tmp_path / "accuracy.json"
    results.write_text(json.dumps({"runs": {"k": _run({"artdata": 0.7, "wikiart": 0.8, "mean": 0.75})}}))
    readme = tmp_path / "README.md"
    readme.write_text(f"before\n{accuracy_report.BEGIN}\nold table\n{accuracy_report.END}\nafter\n")
    assert accuracy_report.main([str(results), "--by-source", "--runs", "k", "--names", "x", "--write", str(readme)]) == 0
    text = readme.read_text()
    assert text.startswith("before\n") and text.endswith("after\n") and "old table" not in text
    assert "| x | **source mean** | 3 | 0.750 ± 0.010 |" in text
    assert '--runs "k" --names "x"' in text
    assert accuracy_report.main([str(results), "--by-source", "--runs", "nope"]) == 2
    (tmp_path / "plain.md").write_text("no block")
    assert accuracy_report.main([str(results), "--by-source", "--runs", "k", "--write", str(tmp_path / "plain.md")]) == 2


def test_the_docs_per_source_tables_are_what_the_stored_results_generate():
    """README.md and BENCHMARKS.md quote the generated table (not typed): re-running the recorded command matches."""
    import re
    import shlex
    from pathlib import Path

    repo = Path(accuracy_report.__file__).resolve().parents[1]
    runs = json.loads((repo / "benchmarks" / "results" / "accuracy.json").read_text())["runs"]
    for doc in ("README.md", "BENCHMARKS.md"):
        text = (repo / doc).read_text()
        blocks = ((accuracy_report.BEGIN, accuracy_report.END, "--by-source"), (accuracy_report.OWN_BEGIN, accuracy_report.OWN_END, "--own-collection"),
                  (accuracy_report.TRANSFER_BEGIN, accuracy_report.TRANSFER_END, "--transfer"))
        for begin, end, kind in blocks:
            made_by = re.search(re.escape(begin) + r"\n<!-- made by: python benchmarks/accuracy_report.py (.*?) --write \S+ -->\n\n(.*?)\n\n"
                                + re.escape(end), text, re.S)
            if made_by is None:
                continue  # no generated block yet
            args = shlex.split(made_by.group(1))
            assert kind in args, doc
            keys = args[args.index("--runs") + 1: args.index("--names")] if "--names" in args else args[args.index("--runs") + 1:]
            names = args[args.index("--names") + 1:] if "--names" in args else None
            if kind == "--transfer":
                assert made_by.group(2) == accuracy_report.transfer_markdown(runs, keys, names), doc
                continue
            columns = accuracy_report.OWN_COLUMNS if kind == "--own-collection" else None
            assert made_by.group(2) == accuracy_report.by_source_markdown(runs, keys, names, columns=columns), doc


def test_own_collection_tables_go_to_their_own_block_with_their_columns(tmp_path):
    run = _run({"artdata": 0.7, "wikiart": 0.8, "mean": 0.75})
    run["summary"].update({f"{s}/own_ece": {"mean": v, "sd": 0.0, "n": 3} for s, v in (("artdata", 0.03), ("wikiart", 0.02), ("mean", 0.025))})
    results = tmp_path / "accuracy.json"
    results.write_text(json.dumps({"runs": {"k": run}}))
    readme = tmp_path / "README.md"
    readme.write_text(f"{accuracy_report.BEGIN}\nsources\n{accuracy_report.END}\n{accuracy_report.OWN_BEGIN}\nold\n{accuracy_report.OWN_END}\n")
    assert accuracy_report.main([str(results), "--by-source", "--own-collection", "--runs", "k", "--write", str(readme)]) == 0
    text = readme.read_text()
    assert "sources" in text and "\nold\n" not in text and "--own-collection --runs" in text
    assert "| k | artdata (35) | 3 | - | 0.030 ± 0.000 |" in text and "ECE, refitted" in text


def test_transfer_rows_name_the_training_and_test_source(tmp_path):
    run = {"transfer": ["artdata", "wikiart"], "sources": {"artdata": 35, "wikiart": 223},
           "summary": {"roc_auc": {"mean": 0.8, "sd": 0.0, "n": 1}}}
    results = tmp_path / "accuracy.json"
    results.write_text(json.dumps({"runs": {"t": run, "k": _run({"artdata": 0.7, "wikiart": 0.8, "mean": 0.75})}}))
    table = accuracy_report.transfer_markdown({"t": run}, ["t"], ["default"])
    assert table.splitlines()[2].startswith("| default | artdata (35) | wikiart (223) | 0.800 ± 0.000 | - |")
    doc = tmp_path / "B.md"
    doc.write_text(f"{accuracy_report.TRANSFER_BEGIN}\nold\n{accuracy_report.TRANSFER_END}\n")
    assert accuracy_report.main([str(results), "--transfer", "--runs", "t", "--write", str(doc)]) == 0
    assert "| t | artdata (35) | wikiart (223) |" in doc.read_text() and "--transfer --runs" in doc.read_text()
    assert accuracy_report.main([str(results), "--transfer", "--runs", "k"]) == 2  # not a transfer run
