"""benchmarks/accuracy.py: the run key of a partial CV (--max-folds)."""

from __future__ import annotations

from benchmarks import accuracy


def test_a_partial_cv_says_so_in_its_run_key_and_a_full_one_does_not():
    full = accuracy.parse(["--data", "d", "--pool", "sources", "--pooling", "gram"])
    partial = accuracy.parse(["--data", "d", "--pool", "sources", "--pooling", "gram", "--max-folds", "2"])
    assert accuracy.run_key(full, "new_default") == "new_default pool=sources k=5 seeds=1 gram"
    assert accuracy.run_key(partial, "new_default") == "new_default pool=sources k=5 first 2 folds seeds=1 gram"
    assert accuracy.run_key(accuracy.parse(["--data", "d", "--max-folds", "5"]), "x") == "x pool=first k=5 seeds=1"


def test_the_cut_and_the_views_are_in_the_run_key():
    args = accuracy.parse(["--data", "d", "--pool", "sources", "--pooling", "gram", "--finetune-from", "blocks.6", "--views", "4"])
    assert accuracy.run_key(args, "tail_b6") == "tail_b6 pool=sources k=5 seeds=1 gram cut=blocks.6 views=4"


def test_recipes_refuse_features_they_cannot_read():
    import pytest

    from benchmarks.accuracy_recipes import RECIPES, needed_cut, needed_views
    from engine.model.network import NetworkConfig

    network = NetworkConfig(pooling="gram")
    needed_views(RECIPES["new_default"](network), 2)
    with pytest.raises(SystemExit, match="--views 4"):
        needed_views(RECIPES["new_default_views4"](network), 2)
    needed_views(RECIPES["new_default_views4"](network), 4)
    needed_cut("tail_b6", "blocks.6")
    needed_cut("trunk", "blocks.6")
    with pytest.raises(SystemExit, match="--finetune-from blocks.6"):
        needed_cut("tail_head", None)
    with pytest.raises(SystemExit, match="without --finetune-from"):
        needed_cut("new_default", "blocks.6")
