"""`engine calibrate --own-painters`: the fit on a collection's own painters, and what it refuses."""

import logging

import numpy as np
import pytest

from engine.base.errors import EngineError
from engine.calibrate.fit import calibrate
from engine.evaluate.recalibrate import calibrate_model
from engine.metrics.pair_sampling import draw_pairs
from tests.engine.evaluate.test_runner import FAST, Fakes, setup  # noqa: F401  (setup: the fake model and dataset fixture)

SPLITS = ("train", "val", "test")


def own_collection(root, painters=("o0", "o1", "o2", "o3", "o4"), per_painter=6):
    """A prepared collection of painters the fake model never trained on, in every split."""
    lines = ["path,artist,split,sha256"]
    for painter in painters:
        lines += [f"images/{painter}_{k}.jpg,{painter},{SPLITS[k % 3]},own{painter}{k}" for k in range(per_painter)]
    root.mkdir(parents=True)
    (root / "manifest.csv").write_text("\n".join(lines) + "\n")
    return root


def test_own_painters_fit_every_painting_of_the_collection_alone_and_store_it(tmp_path, setup):
    _, model, fakes = setup
    own = own_collection(tmp_path / "own")
    result = calibrate_model(model=model, data=own, pairs=80, config=FAST, own_painters=True)
    path, stored = fakes.stored[0]
    assert len(fakes.stored) == 1 and path == model
    assert result["split"] == "all" and result["artists"] == 5 and result["images"] == 30
    assert "own painters" in result["source"] and "held-out" not in result["source"]
    # brute force: the same fit on the collection's embeddings and pairs
    paths = [str(own / f"images/{p}_{k}.jpg") for p in ("o0", "o1", "o2", "o3", "o4") for k in range(6)]
    embedded = Fakes.embed(fakes.trained, paths, batch_size=None)
    labels = [p.split("/")[-1].split("_")[0] for p in paths]
    pairs = draw_pairs(labels, paths, n_pairs=80, per_artist_cap=0, seed=FAST.seed)
    reference = calibrate(embedded.vectors, pairs, source="x", labels=np.array(labels), groups=np.array(paths), seed=FAST.seed)
    assert stored["threshold"] == pytest.approx(reference.threshold)
    assert stored["calibration"]["a"] == pytest.approx(reference.calibration["a"])
    assert set(stored["metrics"]) == {"own_painters_roc_auc", "own_painters_accuracy", "own_painters_eer",
                                      "own_painters_average_precision"}
    assert stored["attribution"] == result["attribution"] is not None


def test_own_painters_refuse_a_painter_the_model_trained_on(tmp_path, setup):
    _, model, fakes = setup
    own = own_collection(tmp_path / "own", painters=("o0", "o1", "t1", "o3"))
    with pytest.raises(EngineError, match=r"1 painter\(s\) of .* trained .*e\.g\. t1"):
        calibrate_model(model=model, data=own, pairs=40, config=FAST, own_painters=True)
    assert fakes.stored == []


def test_own_painters_need_data_and_four_painters(tmp_path, setup):
    _, model, fakes = setup
    with pytest.raises(EngineError, match="--own-painters needs DATA"):
        calibrate_model(model=model, pairs=40, config=FAST, own_painters=True)
    few = own_collection(tmp_path / "few", painters=("o0", "o1", "o2"))
    with pytest.raises(EngineError, match="has 3 labelled painter"):
        calibrate_model(model=model, data=few, pairs=40, config=FAST, own_painters=True)
    assert fakes.stored == []


def test_own_painters_warn_when_the_training_set_cannot_be_read(tmp_path, setup, caplog):
    _, model, fakes = setup
    fakes.trained.config = {"data_dir": str(tmp_path / "gone")}
    own = own_collection(tmp_path / "own")
    with caplog.at_level(logging.WARNING, logger="engine.evaluate.recalibrate"):
        calibrate_model(model=model, data=own, pairs=40, config=FAST, own_painters=True)
    assert "not checked that the painters" in caplog.text and len(fakes.stored) == 1


def test_another_dataset_without_own_painters_is_still_refused_and_says_how(tmp_path, setup):
    _, model, fakes = setup
    with pytest.raises(EngineError, match="or pass --own-painters"):
        calibrate_model(model=model, data=own_collection(tmp_path / "own"), pairs=40, config=FAST)
    assert fakes.stored == []
