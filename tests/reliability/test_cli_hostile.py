"""The hostile corpus through the real CLI: `python -m cli prepare | index | query | verify`.

One full pass runs as subprocesses (what users run: exit codes, stdout JSON, no traceback on stderr);
the per-file query/verify cases run in-process through `cli.app.main` to stay fast.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from catalog_audit import audit_home
from cli.app import main

ROOT = Path(__file__).resolve().parents[2]


def engine(*args: str, timeout: int = 180) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "200"}
    proc = subprocess.run([sys.executable, "-m", "cli", *map(str, args)], capture_output=True, text=True,
                          timeout=timeout, cwd=ROOT, env=env)
    assert "Traceback" not in proc.stderr, proc.stderr[-3000:]
    return proc


def _one_line_error(stderr: str) -> None:
    lines = [line for line in stderr.strip().splitlines() if line.startswith("engine: error:")]
    assert len(lines) == 1, stderr
    assert "internal error" not in lines[0], lines[0]


@pytest.fixture
def cached_model(monkeypatch):
    """Load each model.pt once for the in-process CLI calls below (everything else runs for real)."""
    import functools

    import engine.inference.model_cache
    from engine.model.checkpoint import load_model

    cached = functools.lru_cache(maxsize=4)(lambda path, device=None: load_model(path, device=device))
    # query and verify load through engine.inference.model_cache; this cache also outlives its per-file entries
    monkeypatch.setattr(engine.inference.model_cache, "load_model", lambda path, **kw: cached(Path(path), **kw))


@pytest.fixture(scope="module")
def cli_pass(tmp_path_factory, tiny_model):
    """prepare + index of the hostile source, each as a subprocess."""
    from conftest import build_source

    root = tmp_path_factory.mktemp("cli-hostile")
    src = build_source(root / "source")
    home, out = root / "home", root / "prepared"
    runs = {
        "prepare": engine("prepare", src.root, "--out", out, "--size", "32", "--min-side", "1", "--workers", "1", "--json"),
        "index": engine("index", src.root, "--home", home, "--model", tiny_model, "--json"),
    }
    return src, home, out, runs


@pytest.mark.slow
def test_prepare_via_cli(cli_pass):
    src, _, out, runs = cli_pass
    proc = runs["prepare"]
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout)
    report = json.loads((out / "report.json").read_text())  # the per-file drop list lives there
    assert summary["images"] == report["images"] and summary["dropped"] == report["dropped"]
    drops = {Path(d["source"]).name: d["reason"] for d in report["dropped_files"]}
    for case in src.bad:
        if not case.name.startswith("symlink_loop"):
            assert drops.get(case.path.name) in case.reasons, case.name
    assert report["images"] == len(src.good) + len(src.plain)
    assert (out / "manifest.csv").is_file()


@pytest.mark.slow
def test_index_via_cli(cli_pass):
    src, home, _, runs = cli_pass
    proc = runs["index"]
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert {"added", "updated", "removed", "skipped", "total", "images_per_second"} <= set(result)
    skipped = {Path(s["path"]).name: s["reason"] for s in result["skipped"]}
    for case in src.bad:
        assert skipped.get(case.path.name) in case.reasons, case.name
    assert result["added"] == result["total"] == len(src.good) + len(src.plain)
    assert audit_home(home).consistent


@pytest.mark.slow
def test_index_check_via_cli(cli_pass, capsys):
    src, home, _, _ = cli_pass
    assert main(["index", str(src.root), "--home", str(home), "--check", "--json"]) == 0
    check = json.loads(capsys.readouterr().out)["check"]
    assert check["consistent"] and check["rows_without_file"] == 0


@pytest.mark.slow
def test_query_and_verify_via_cli(cli_pass, tiny_model):
    src, home, _, _ = cli_pass
    good = [c.path for c in src.good]
    proc = engine("query", *good, "--home", home, "--model", tiny_model, "-k", "3", "--json")
    assert proc.returncode == 0, proc.stderr
    results = json.loads(proc.stdout)["results"]
    assert [r["query"] for r in results] == [str(p) for p in good]
    assert all(len(r["matches"]) == 3 for r in results)
    by_name = {c.name: c.path for c in src.cases}
    proc = engine("verify", by_name["cmyk_jpeg"], by_name["png_16bit"], "--home", home, "--model", tiny_model, "--json")
    assert proc.returncode == 0, proc.stderr
    assert set(json.loads(proc.stdout)) >= {"similarity", "probability", "same_artist", "threshold"}


@pytest.mark.slow
def test_every_bad_file_is_a_clear_query_and_verify_error(cli_pass, tiny_model, capsys, cached_model):
    src, home, _, _ = cli_pass
    good = src.good[0].path
    for case in src.bad:
        assert main(["query", str(case.path), "--home", str(home), "--model", str(tiny_model), "--json"]) == 1, case.name
        captured = capsys.readouterr()
        assert captured.out == "", case.name
        _one_line_error(captured.err)
        assert main(["verify", str(case.path), str(good), "--home", str(home), "--model", str(tiny_model), "--json"]) == 1
        _one_line_error(capsys.readouterr().err)


@pytest.mark.slow
def test_every_good_file_finds_itself(cli_pass, tiny_model, capsys, cached_model):
    src, home, _, _ = cli_pass
    paths = [str(c.path) for c in src.good]
    assert main(["query", *paths, "--home", str(home), "--model", str(tiny_model), "-k", "1", "--json"]) == 0
    for case, result in zip(src.good, json.loads(capsys.readouterr().out)["results"]):
        assert result["in_collection"]["path"] == str(case.path.resolve()), case.name  # found by its bytes, not its own match
        assert all(m["path"] != str(case.path.resolve()) for m in result["matches"]), case.name
