"""benchmarks/accuracy.py: the run key of a partial CV (--max-folds)."""

from __future__ import annotations

from benchmarks import accuracy


def test_a_partial_cv_says_so_in_its_run_key_and_a_full_one_does_not():
    full = accuracy.parse(["--data", "d", "--pool", "sources", "--pooling", "gram"])
    partial = accuracy.parse(["--data", "d", "--pool", "sources", "--pooling", "gram", "--max-folds", "2"])
    assert accuracy.run_key(full, "new_default") == "new_default pool=sources k=5 seeds=1 gram"
    assert accuracy.run_key(partial, "new_default") == "new_default pool=sources k=5 first 2 folds seeds=1 gram"
    assert accuracy.run_key(accuracy.parse(["--data", "d", "--max-folds", "5"]), "x") == "x pool=first k=5 seeds=1"
