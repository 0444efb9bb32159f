"""score_pairs: a Kaggle pairs file -> index,sameArtist, with bad rows and unreadable images."""

from __future__ import annotations

import csv
import itertools
import json

import numpy as np
import pytest

from cli.app import main
from engine.base.errors import EngineError
from engine.calibrate.platt import probability
from engine.inference.embedding import embed_paths
from engine.inference.pairs_file import PairsConfig, score_pairs
from engine.inference.verify import verify_pair
from indexer_kit import CALIBRATION, cached_load_model, painting

FAST = PairsConfig(batch_size=4, num_workers=0)


@pytest.fixture(scope="module")
def pairs_file(tmp_path_factory):
    """test/ holds 6 paintings, one corrupt file and a name that does not exist; the CSV has 3 bad rows."""
    images = tmp_path_factory.mktemp("pairs") / "test"
    names = [painting(images / f"{i}.jpg", colour=(60 * i % 255, 90, 200 - 30 * i), seed=i).name for i in range(6)]
    (images / "corrupt.jpg").write_bytes(b"not a jpeg")
    good = [(a, b) for a, b in itertools.combinations(names, 2)]
    rows = [f"{i},{a},{b}" for i, (a, b) in enumerate(good)]
    rows += [f"{len(good)},0.jpg,missing.jpg", f"{len(good) + 1},corrupt.jpg,1.jpg"]
    bad = ["99,1.jpg,2.jpg,extra", "x7,1.jpg,2.jpg", "98,1.jpg,"]
    path = images / "submission_info.csv"  # image paths are relative to the CSV's folder by default
    path.write_text("index,image1,image2\n" + "\n".join(rows[:4] + bad + rows[4:]) + "\n")
    return path, images, good


def _read(out):
    with open(out, newline="") as fh:
        reader = csv.reader(fh)
        assert next(reader) == ["index", "sameArtist"]
        return {int(i): float(p) for i, p in reader}


@pytest.fixture(scope="module")
def scored(pairs_file, tiny_model, tmp_path_factory):
    out = tmp_path_factory.mktemp("scored") / "out" / "submission.csv"
    return out, score_pairs(pairs_file[0], out=out, model=tiny_model, config=FAST)


def test_scores_match_verify_and_bad_input_is_reported(pairs_file, scored, tiny_model):
    path, images, good = pairs_file
    out, summary = scored
    scores = _read(out)
    assert sorted(scores) == list(range(len(good) + 2))  # every row with a valid index, no bad row
    for i, (a, b) in enumerate(good[:5]):
        assert scores[i] == pytest.approx(verify_pair(images / a, images / b, model=tiny_model)["probability"], abs=2e-5)
    assert scores[len(good)] == scores[len(good) + 1] == pytest.approx(summary["prior"], abs=1e-6)
    assert summary["pairs"] == len(good) + 2 and summary["scored"] == len(good) and summary["prior_pairs"] == 2
    assert summary["bad_rows"] == 3 and len(summary["bad_row_examples"]) == 3
    assert {u["image"] for u in summary["unreadable"]} == {"missing.jpg", "corrupt.jpg"}
    assert summary["images"] == 8


def test_no_readable_image_is_an_error_naming_images_dir(pairs_file, tmp_path, tiny_model):
    path, _, _ = pairs_file
    elsewhere = tmp_path / "p.csv"
    elsewhere.write_text(path.read_text())
    with pytest.raises(EngineError, match="--images-dir"):
        score_pairs(elsewhere, out=tmp_path / "o.csv", model=tiny_model, config=FAST)


def test_prior_is_the_mean_probability_of_random_readable_pairs(pairs_file, scored, tiny_model):
    _, images, _ = pairs_file
    _, summary = scored
    lm = cached_load_model(tiny_model)
    result = embed_paths(lm, sorted(images.glob("[0-9].jpg")), num_workers=0)
    v = result.vectors / np.linalg.norm(result.vectors, axis=1, keepdims=True)
    sims = [float(v[i] @ v[j]) for i in range(len(v)) for j in range(len(v)) if i != j]  # brute force
    assert summary["prior"] == pytest.approx(float(probability(sims, CALIBRATION).mean()), abs=0.01)


def test_small_blocks_give_the_same_file(pairs_file, scored, tmp_path, tiny_model):
    score_pairs(pairs_file[0], out=tmp_path / "b.csv", model=tiny_model,
                config=PairsConfig(batch_size=4, num_workers=0, block_bytes=1024, block_pairs=2))
    assert _read(tmp_path / "b.csv") == _read(scored[0])


def test_strict_refuses_unreadable_images_and_writes_nothing(pairs_file, tmp_path, tiny_model):
    lines = pairs_file[0].read_text().splitlines()
    path = pairs_file[1] / "no_bad_rows.csv"
    path.write_text("\n".join(line for line in lines if line.count(",") == 2 and not line.startswith(("x7", "98,"))) + "\n")
    out = tmp_path / "strict.csv"
    with pytest.raises(EngineError, match="2 image\\(s\\) cannot be read"):
        score_pairs(path, out=out, model=tiny_model, strict=True, config=FAST)
    assert not out.exists()


def test_strict_refuses_bad_rows(pairs_file, tmp_path, tiny_model):
    path, _, _ = pairs_file
    with pytest.raises(EngineError, match="3 bad row"):
        score_pairs(path, out=tmp_path / "s.csv", model=tiny_model, strict=True, config=FAST)


def test_wrong_header_and_missing_file(tmp_path, tiny_model):
    wrong = tmp_path / "w.csv"
    wrong.write_text("a,b\n1,2\n")
    with pytest.raises(EngineError, match="index,image1,image2"):
        score_pairs(wrong, out=tmp_path / "o.csv", model=tiny_model, config=FAST)
    with pytest.raises(EngineError, match="cannot read pairs file"):
        score_pairs(tmp_path / "nope.csv", out=tmp_path / "o.csv", model=tiny_model, config=FAST)


def test_cli_pairs_json_and_images_dir(pairs_file, tmp_path, tiny_model, capsys):
    path, images, good = pairs_file
    moved = tmp_path / "elsewhere.csv"
    moved.write_text(path.read_text())
    out = tmp_path / "cli.csv"
    capsys.readouterr()
    code = main(["verify", "--pairs", str(moved), "--images-dir", str(images), "--out", str(out), "--model", str(tiny_model), "--json"])
    assert code == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["scored"] == len(good) and len(_read(out)) == len(good) + 2


def test_cli_usage_errors(tmp_path, tiny_model, capsys):
    assert main(["verify", "a.jpg", "--pairs", "p.csv", "--out", "o.csv"]) == 2
    assert main(["verify", "--pairs", "p.csv"]) == 2
    assert main(["verify", "a.jpg"]) == 2
