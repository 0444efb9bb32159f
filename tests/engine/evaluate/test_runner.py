import json
import zlib
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from engine.calibrate.platt import PairCalibration
from engine.evaluate import data as evaluate_data
from engine.base.errors import EngineError
from engine.evaluate.recalibrate import calibrate_model
from engine.evaluate.runner import EvaluateConfig, evaluate_model
from tests.conftest import make_image

ARTISTS = {"train": ["t0", "t1", "t2"], "val": ["v0", "v1", "v2"], "test": ["x0", "x1", "x2", "x3"]}
FAST = EvaluateConfig(bootstrap=50, triplets=300, grid_queries=2, grid_neighbours=3)
CLI_KEYS = {
    "verification": {"roc_auc", "accuracy", "threshold", "eer", "average_precision", "pairs"},
    "attribution": {"top1", "top5", "centroid_top1"},
    "retrieval": {"precision_at_1", "map_at_r"},
}


def make_dataset(root: Path, per_artist: int = 8, images: bool = False) -> Path:
    lines = ["path,artist,split,sha256"]
    for split, artists in ARTISTS.items():
        for a, artist in enumerate(artists):
            for k in range(per_artist):
                rel = f"images/{artist}_{k}.jpg"
                if images:
                    make_image(root / rel, size=(32, 32), color=(40 * a, 90, 200 - 40 * a), seed=k)
                lines.append(f"{rel},{artist},{split},sha{artist}{k}")
    root.mkdir(parents=True, exist_ok=True)
    (root / "manifest.csv").write_text("\n".join(lines) + "\n")
    return root


def _vector(path: str, signal: float) -> np.ndarray:
    name = Path(path).stem
    artist, k = name.split("_")
    rng = np.random.default_rng(zlib.crc32(name.encode()))  # the same in every process (hash() is salted per process)
    centre = np.random.default_rng(sum(map(ord, artist))).normal(size=16)
    return (signal * centre + rng.normal(size=16)).astype(np.float32)


class Fakes:
    """Stand-ins for engine.model.checkpoint / engine.inference.embedding: vectors with artist signal `signal`."""

    def __init__(self, data_dir, threshold=None, calibration=None):
        self.stored = []
        self.trained = SimpleNamespace(
            backbone="resnet34", fingerprint="f" * 64, pair_calibration=PairCalibration.from_stored(threshold, calibration),
            config={"data_dir": str(data_dir)}, signal=3.0,
        )
        self.baseline = SimpleNamespace(backbone="resnet34", fingerprint="baseline:resnet34:imagenet", signal=0.7)

    def install(self, monkeypatch):
        monkeypatch.setattr(evaluate_data, "load_trained", lambda path, device=None: self.trained)
        monkeypatch.setattr(evaluate_data, "load_untrained", lambda backbone, weights="imagenet", device=None: self.baseline)
        monkeypatch.setattr(evaluate_data, "embed_rows", self.embed)
        monkeypatch.setattr(evaluate_data, "store_calibration", lambda path, **kw: self.stored.append((path, kw)))

    @staticmethod
    def embed(lm, paths, *, batch_size, progress=None):
        ok = [k for k, p in enumerate(paths) if "broken" not in p]
        vectors = np.stack([_vector(paths[k], lm.signal) for k in ok])
        return SimpleNamespace(vectors=vectors, ok=ok, errors=[(k, "truncated") for k in range(len(paths)) if k not in ok])


@pytest.fixture
def setup(tmp_path, monkeypatch):
    data = make_dataset(tmp_path / "data")
    model = tmp_path / "model.pt"
    model.write_bytes(b"fake")
    fakes = Fakes(data)
    fakes.install(monkeypatch)
    return data, model, fakes


def _check_keys(block):
    for key, inner in CLI_KEYS.items():
        assert inner <= set(block[key]), key
    assert isinstance(block["triplet_accuracy"], float)
    for key in ("verification", "attribution", "retrieval"):
        for name in CLI_KEYS[key] - {"pairs", "threshold"}:
            assert 0.0 <= block[key][name] <= 1.0


def test_val_reports_in_sample_and_stores_nothing(setup):
    data, model, fakes = setup
    result = evaluate_model(model=model, split="val", pairs=100, config=FAST)
    assert result["split"] == "val" and result["artists"] == 3 and result["images"] == 24
    _check_keys(result)
    _check_keys(result["baseline"])
    assert "optimistic" in result["verification"]["threshold_source"]
    assert "calibration_stored" not in result and fakes.stored == []  # evaluate only reads (`engine calibrate` writes)
    assert result["verification"]["roc_auc"] > result["baseline"]["verification"]["roc_auc"]


def test_calibrate_stores_the_val_fit_that_evaluate_reports(setup):
    data, model, fakes = setup
    reported = evaluate_model(model=model, split="val", pairs=100, config=FAST)
    result = calibrate_model(model=model, pairs=100, config=FAST)
    path, stored = fakes.stored[0]
    assert len(fakes.stored) == 1 and path == model
    assert stored["threshold"] == result["threshold"] == reported["verification"]["threshold"]
    assert stored["calibration"] == result["calibration"]
    assert {k: stored["calibration"][k] for k in ("a", "b")} == {k: reported["calibration"][k] for k in ("a", "b")}
    assert stored["calibration"]["method"] == "platt"
    # anchored at the stored threshold: verify's probability and decision can never disagree
    assert stored["calibration"]["anchor"] == stored["threshold"]
    assert stored["calibration"]["b"] == -stored["calibration"]["a"] * stored["threshold"]
    assert stored["metrics"]["val_roc_auc"] == reported["verification"]["roc_auc"]
    assert stored["attribution"] == result["attribution"] and result["attribution"] is not None
    assert result["images"] == 24 and result["data"] == str(data)
    json.dumps(result)


def test_calibrate_on_a_copy_stores_but_on_another_dataset_is_refused(tmp_path, setup):
    data, model, fakes = setup
    copy = make_dataset(tmp_path / "copy")
    assert calibrate_model(model=model, data=copy, pairs=40, config=FAST)["data"] == str(copy)
    other = tmp_path / "other"
    other.mkdir()
    (other / "manifest.csv").write_text("path,artist,split,sha256\n" + "".join(f"o{k % 2}_{k}.jpg,o{k % 2},val,z{k}\n" for k in range(8)))
    with pytest.raises(EngineError, match="is not the dataset"):
        calibrate_model(model=model, data=other, pairs=20, config=FAST)
    assert len(fakes.stored) == 1
    with pytest.raises(EngineError, match="too small"):
        calibrate_model(model=model, pairs=1, config=FAST)


def test_test_split_uses_stored_val_threshold_and_baseline_calibrated_on_val(tmp_path, monkeypatch):
    data = make_dataset(tmp_path / "data")
    fakes = Fakes(data, threshold=0.123, calibration={"method": "platt", "a": 10.0, "b": -3.0})
    fakes.install(monkeypatch)
    (tmp_path / "m.pt").write_bytes(b"x")
    result = evaluate_model(model=tmp_path / "m.pt", split="test", pairs=200, config=FAST)
    v = result["verification"]
    assert v["threshold"] == 0.123 and v["threshold_source"] == "val (stored in the model)"
    assert result["baseline"]["verification"]["threshold_source"] == "val"
    assert v["roc_auc_ci"][0] <= v["roc_auc"] <= v["roc_auc_ci"][1]
    assert v["accuracy_ci"][0] <= v["accuracy"] <= v["accuracy_ci"][1]
    assert result["calibration"]["a"] == 10.0 and 0 <= result["calibration"]["ece"] <= 1
    assert not fakes.stored
    assert result["artists"] == 4 and result["images"] == 32
    assert v["pairs"] % 2 == 0 and v["pairs"] > 100
    json.dumps(result)  # plain JSON


def test_results_are_deterministic(setup):
    data, model, fakes = setup
    first = evaluate_model(model=model, split="test", pairs=100, config=FAST)
    second = evaluate_model(model=model, split="test", pairs=100, config=FAST)
    assert first["verification"] == second["verification"] and first["attribution"] == second["attribution"]


def test_other_dataset_split_all_and_unreadable_images(tmp_path, monkeypatch):
    trained_on = make_dataset(tmp_path / "data")
    other = tmp_path / "other"
    other.mkdir()
    rows = ["path,artist,split,sha256"] + [f"img/o{a}_{k}.jpg,o{a},train,s{a}{k}" for a in range(3) for k in range(6)]
    rows.append("img/o0_broken.jpg,o0,train,sbroken")
    (other / "manifest.csv").write_text("\n".join(rows) + "\n")
    fakes = Fakes(trained_on, threshold=0.2, calibration={"method": "platt", "a": 5.0, "b": -1.0})
    fakes.install(monkeypatch)
    (tmp_path / "m.pt").write_bytes(b"x")
    result = evaluate_model(model=tmp_path / "m.pt", data=other, split="all", pairs=60, config=FAST)
    assert result["images"] == 18 and result["skipped"] == [{"path": str(other / "img/o0_broken.jpg"), "reason": "truncated"}]
    assert result["verification"]["threshold_source"] == "val (stored in the model)"
    assert result["baseline"]["verification"]["threshold_source"] == "val"  # the training dataset's val split
    assert not any("optimistic" in n for n in result["notes"])


def test_report_writes_files(tmp_path, monkeypatch):
    data = make_dataset(tmp_path / "data", per_artist=5, images=True)
    fakes = Fakes(data)
    fakes.install(monkeypatch)
    (tmp_path / "m.pt").write_bytes(b"x")
    out = tmp_path / "report"
    result = evaluate_model(model=tmp_path / "m.pt", split="test", pairs=60, report=out, config=FAST)
    names = {p.name for p in out.iterdir()}
    assert {"metrics.json", "roc.png", "similarity_histogram.png", "reliability.png", "neighbours.png"} <= names
    stored = json.loads((out / "metrics.json").read_text())
    assert stored["verification"] == json.loads(json.dumps(result["verification"]))
    assert len(stored["neighbours"]) == 2 and len(stored["neighbours"][0]["neighbours"]) == 3


def test_errors_are_one_line_engine_errors(tmp_path, monkeypatch, setup):
    data, model, fakes = setup
    with pytest.raises(EngineError, match="model not found"):
        evaluate_model(model=tmp_path / "missing.pt")
    with pytest.raises(EngineError, match="not a prepared dataset"):
        evaluate_model(model=model, data=tmp_path / "nowhere")
    with pytest.raises(EngineError, match="unknown split"):
        evaluate_model(model=model, split="train")
    lonely = tmp_path / "lonely"
    lonely.mkdir()
    (lonely / "manifest.csv").write_text("path,artist,split,sha256\na.jpg,a,test,1\nb.jpg,a,test,2\n")
    with pytest.raises(EngineError, match="at least 2"):
        evaluate_model(model=model, data=lonely, split="test")
    monkeypatch.setattr("engine.inference.model_choice.shipped_model", lambda: None)  # a build without the shipped model
    with pytest.raises(EngineError, match="no trained model"):
        evaluate_model()
