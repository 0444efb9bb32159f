import datetime
import json
import multiprocessing
from pathlib import Path

import pandas as pd
import pytest

from cli.demo.tour import CATALOG_OWNER, DemoConfig, run_demo
from cli.demo.briefs import evaluate_brief, query_brief, verify_brief
from cli.demo.probes import Probes, build_library, data_probes, held_out_artists, synthetic_probes
from engine.base.errors import EngineError
from engine.base.home import Home
from engine.data.labels import read_labels
from engine.synthetic.gallery import artist_styles, generate_gallery
from tests.conftest import make_image

STAGES = ("generate", "prepare", "train", "evaluate", "index", "query", "verify")


def _frame(tmp_path: Path, spec: dict[str, tuple[str, int]], *, with_sources: bool = True) -> pd.DataFrame:
    """A manifest-like frame: {artist: (split, n images)}, prepared copies under tmp_path/prepared."""
    rows = []
    for a, (artist, (split, n)) in enumerate(spec.items()):
        for i in range(n):
            sha = f"{a:02d}{i:02d}" + "0" * 60
            copy = make_image(tmp_path / "prepared" / "images" / f"{sha}.jpg", seed=a * 100 + i)
            source = make_image(tmp_path / "originals" / f"{artist.replace('/', '-')}_{i}.jpg", seed=a * 100 + i) if with_sources else ""
            rows.append({"path": f"images/{sha}.jpg", "artist": artist, "split": split, "sha256": sha,
                         "source": str(source), "abspath": str(copy), "title": f"t{i}", "style": "", "genre": "", "date": ""})
    return pd.DataFrame(rows)


def test_held_out_artists_are_test_artists_biggest_first(tmp_path):
    frame = _frame(tmp_path, {"A": ("train", 3), "B": ("test", 2), "C": ("test", 4), "D": ("val", 3)})
    assert held_out_artists(frame) == ["C", "B"]
    assert held_out_artists(frame[frame.split != "test"]) == ["D"]
    with pytest.raises(EngineError, match="no held-out"):
        held_out_artists(frame[frame.split == "train"])


def test_library_links_held_out_images_with_labels(tmp_path):
    frame = _frame(tmp_path, {"A": ("train", 2), "Van/Gogh": ("test", 3)})
    excluded = frame.sha256[frame.artist == "Van/Gogh"].iloc[0]
    images, labels = build_library(frame, tmp_path / "lib", artists=["Van/Gogh"], exclude_sha256={excluded})
    files = sorted(p.relative_to(images).as_posix() for p in images.rglob("*.jpg"))
    assert files == ["Van_Gogh/Van-Gogh_1.jpg", "Van_Gogh/Van-Gogh_2.jpg"]  # the query's content is left out
    records = read_labels(labels)
    assert {r.artist for r in records.values()} == {"Van/Gogh"} and set(records) == set(files)
    linked = images / files[0]
    assert linked.read_bytes() == Path(frame.abspath[frame.source.str.endswith("Van-Gogh_1.jpg")].iloc[0]).read_bytes()
    images2, _ = build_library(frame, tmp_path / "lib", artists=["A"], exclude_sha256=set())  # rebuilt, not merged
    assert sorted(p.parent.name for p in images2.rglob("*.jpg")) == ["A", "A"]
    assert all(Path(p).is_file() for p in frame.abspath)  # prepared copies untouched


def test_library_names_never_clash(tmp_path):
    frame = _frame(tmp_path, {"A": ("test", 2)})
    frame["source"] = "/elsewhere/same.jpg"
    images, labels = build_library(frame, tmp_path / "lib", artists=["A"], exclude_sha256=set())
    assert len(list(images.rglob("*.jpg"))) == 2 and len(read_labels(labels)) == 2


def test_data_probes(tmp_path):
    frame = _frame(tmp_path, {"A": ("train", 3), "B": ("test", 4), "C": ("test", 3)})
    probes = data_probes(frame)
    assert probes.query_artist == "B" and probes.query.parent.name == "originals"
    assert probes.query_sha256 in set(frame.sha256[frame.artist == "B"])
    (a1, a2, same), (b1, c1, different) = probes.pairs
    assert same and not different and a1 == b1 and probes.query not in (a1, a2)
    assert c1.name.startswith("C_")
    without = data_probes(_frame(tmp_path / "copies", {"B": ("test", 3), "C": ("test", 3)}, with_sources=False))
    assert without.query.parent.name == "images"  # originals gone: the prepared copies
    with pytest.raises(EngineError, match="fewer than 3"):
        data_probes(_frame(tmp_path / "few", {"A": ("train", 3), "B": ("test", 2)}))


def test_synthetic_probes_are_new_works_of_held_out_hands(tmp_path):
    root = generate_gallery(tmp_path / "g", artists=4, per_artist=3, size=64)
    names = [s.name for s in artist_styles(artists=4)]
    frame = pd.DataFrame({"artist": names, "split": ["train", "test", "val", "test"], "path": names, "abspath": names})
    probes = synthetic_probes(tmp_path / "probes", frame, artists=4, per_artist=3, size=64, seed=0)
    assert probes.query_artist == names[1] and probes.query.name == f"{names[1]}-003.jpg"
    assert all(p.is_file() and root not in p.parents for pair in probes.pairs for p in pair[:2])
    assert [truth for _, _, truth in probes.pairs] == [True, False]
    assert probes.pairs[1][1].name.startswith(names[3])


def test_briefs():
    block = {"verification": {"roc_auc": 0.9, "accuracy": 0.8, "eer": 0.1}, "triplet_accuracy": 0.85,
             "attribution": {"top1": 0.7}, "retrieval": {"precision_at_1": 0.6}}
    brief = evaluate_brief({"split": "test", "artists": 5, "images": 50, **block,
                            "baseline": {**block, "verification": {"roc_auc": 0.7}}, "report": "/r"})
    assert brief["trained"]["roc_auc"] == 0.9 and brief["baseline"]["roc_auc"] == 0.7
    assert brief["baseline"]["accuracy"] is None and "0.900 trained vs 0.700" in brief["line"]
    probes = Probes(Path("/q.jpg"), "A", ((Path("a"), Path("b"), True), (Path("a"), Path("c"), False)))
    query = {"results": [{"query": "/q.jpg", "matches": [{"path": "/x", "artist": "A", "similarity": 0.9}],
                          "artists": [{"artist": "A", "score": 1.0}]}]}
    assert query_brief(query, probes)["correct"] is True
    verdicts = [{"similarity": 0.9, "probability": 0.95, "same_artist": True, "threshold": 0.5},
                {"similarity": 0.6, "probability": 0.55, "same_artist": True, "threshold": 0.5}]
    assert verify_brief(verdicts, probes)["line"].endswith("(1/2 right)")


@pytest.mark.parametrize("kwargs, message", [
    (dict(labels="x.csv"), "--labels needs --data"),
    (dict(data="no/such/folder"), "not a folder"),
    (dict(config=DemoConfig(index="some")), "index choice"),
    (dict(config=DemoConfig(artists=3)), "at least 8"),
])
def test_bad_input_fails_before_any_work(tmp_path, kwargs, message):
    with pytest.raises(EngineError, match=message):
        run_demo(home=tmp_path / "home", **kwargs)
    assert not (tmp_path / "home" / "demo" / "synthetic").exists()


def test_a_foreign_catalog_is_never_touched(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    (home / "catalog.sqlite").write_bytes(b"my catalog")
    (home / "index.json").write_text(json.dumps({"model": {"path": str(home / "models" / "mine" / "model.pt")}}))
    with pytest.raises(EngineError, match="--home NEW_FOLDER"):
        run_demo(home=home)
    assert (home / "catalog.sqlite").read_bytes() == b"my catalog" and not (home / "demo").exists()


class _FrozenClock(datetime.datetime):
    """Every run starts at the same second."""

    @classmethod
    def now(cls, tz=None):
        return cls(2026, 1, 2, 3, 4, 5)


def test_two_demos_started_in_the_same_second_get_their_own_model_folders(tmp_path, monkeypatch):
    import cli.demo.tour as demo
    import engine.train.trainer

    monkeypatch.setattr(datetime, "datetime", _FrozenClock)
    outs = []
    monkeypatch.setattr(engine.train.trainer, "train_model", lambda prepared, *, out, **kwargs: outs.append(Path(out)))
    home = Home.resolve(tmp_path / "home")
    for _ in range(3):
        demo._train(tmp_path / "prepared", home, DemoConfig(), progress=None)
    assert [p.name for p in outs] == ["demo-20260102-030405", "demo-20260102-030405-2", "demo-20260102-030405-3"]
    assert all(p.is_dir() and p.parent == home.models_dir for p in outs)


def _claim_model_dir(root, queue):
    queue.put(str(Home(root).new_model_dir("demo-")))


def test_model_folders_claimed_by_concurrent_processes_are_distinct(tmp_path, monkeypatch):
    """The claim is an exclusive mkdir, so it also holds across processes (forked with the frozen clock)."""
    monkeypatch.setattr(datetime, "datetime", _FrozenClock)
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    procs = [ctx.Process(target=_claim_model_dir, args=(tmp_path / "home", queue)) for _ in range(4)]
    for proc in procs:
        proc.start()
    names = sorted(Path(queue.get(timeout=30)).name for _ in procs)
    for proc in procs:
        proc.join(timeout=30)
    assert len(set(names)) == 4 and all(n.startswith("demo-20260102-030405") for n in names)


@pytest.mark.slow
def test_demo_end_to_end_trained_beats_baseline(tmp_path):
    """The real flow, a smaller gallery: every stage leaves its artefact; trained > ImageNet on held-out artists."""
    home = tmp_path / "home"
    result = run_demo(home=home, config=DemoConfig(artists=16, per_artist=16))
    steps = result["steps"]
    assert list(steps) == list(STAGES)
    held_out = steps["evaluate"]
    assert held_out["split"] == "test" and held_out["artists"] >= 3
    assert held_out["trained"]["roc_auc"] > held_out["baseline"]["roc_auc"] + 0.01
    art = result["artefacts"]
    for key in ("gallery", "dataset", "model", "training_metrics", "loss_plot", "report", "index", "summary", "library"):
        assert Path(art[key]).exists(), key
    assert {Path(p).name for p in art["plots"]} >= {"roc.png", "similarity_histogram.png"}
    assert (Path(art["dataset"]) / "manifest.csv").is_file() and (home / "catalog.sqlite").is_file()
    assert Path(art["model"]).parent.parent == home / "models"
    assert steps["index"]["total"] == steps["prepare"]["splits"]["test"]["images"]
    query = steps["query"]  # a new painting by a held-out artist: the tour's right answer is that artist
    assert query["true_artist"] in held_out_artists(pd.read_csv(Path(art["dataset"]) / "manifest.csv"))
    assert query["top_artist"] == query["true_artist"] and query["correct"] is True, query["line"]
    assert [p["truly_same"] for p in steps["verify"]["pairs"]] == [True, False]
    assert all(0 <= p["probability"] <= 1 for p in steps["verify"]["pairs"])
    assert json.loads(Path(art["summary"]).read_text())["steps"]["evaluate"] == json.loads(json.dumps(held_out))
    assert (home / "demo" / CATALOG_OWNER).is_file()
