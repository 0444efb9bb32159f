"""Several collections into one prepared set (issue 18): a painter spelled differently in two
collections is one artist, in one split, trained under one label; copies across collections are kept once."""

from __future__ import annotations

import json
import shutil

import pandas as pd
import pytest

from cli.app import main
from engine.base.errors import EngineError
from engine.model.checkpoint import read_checkpoint
from engine.prepare.collections import pair_collections
from engine.prepare.pipeline import PrepareConfig, prepare_dataset
from engine.prepare.split import split_artists
from engine.train.data import load_train_data
from engine.train.trainer import make_config, train_model
from prepare_kit import artist_folders, pbn_folder, write_csv
from train_kit import TINY, register_tiny

register_tiny()
CONFIG = PrepareConfig(size=32, min_side=16, workers=1, val_fraction=0.34, test_fraction=0.17)
DURER = "Albrecht Dürer"


@pytest.fixture
def collections(tmp_path):
    """A: one subfolder per artist; B: a flat folder + labels CSV naming Dürer differently, and
    holding an exact copy of one of A's Dürer files."""
    museum = artist_folders(tmp_path / "museum", {DURER: 4, "Ann Red": 3, "Bob Green": 3}, seed=0)
    flat, rows = pbn_folder(tmp_path / "pbn", {"albrecht  DURER": 4, "Cid Blue": 3, "Dan Grey": 3, "Eve White": 3}, seed=1)
    shutil.copy(museum / DURER / "000.jpg", flat / "copy.jpg")
    rows.append(["copy.jpg", "ALBRECHT_DÜRER"])
    csv = write_csv(tmp_path / "pbn.csv", ["filename", "artist"], rows)
    return museum, flat, csv


def test_a_painter_spelled_differently_is_one_artist_in_one_split(collections, tmp_path):
    museum, flat, csv = collections
    out = tmp_path / "out"
    report = prepare_dataset([museum, flat], labels=[None, csv], out=out, config=CONFIG)
    frame = pd.read_csv(out / "manifest.csv", keep_default_na=False)
    assert sorted(set(frame["artist"])) == sorted([DURER, "Ann Red", "Bob Green", "Cid Blue", "Dan Grey", "Eve White"])
    durer = frame[frame["artist"] == DURER]
    assert len(durer) == 8 and report["dropped"] == {"duplicate": 1}  # the copy in B is kept once
    assert {str(museum) in s for s in durer["source"]} == {True, False}  # from both collections
    assert frame.groupby("artist")["split"].nunique().max() == 1  # artist-disjoint over the union
    assert set(frame["split"]) == {"train", "val", "test"}
    expected = split_artists(frame["artist"], val_fraction=0.34, test_fraction=0.17, seed=0)
    assert dict(zip(frame["artist"], frame["split"])) == expected
    assert report["merged_spellings"] == {DURER: ["ALBRECHT_DÜRER", "albrecht  DURER"]}
    assert [c["layout"] for c in report["collections"]] == ["folders", "labels"]
    assert report["source"] == [str(museum), str(flat)]


def test_the_merged_painter_trains_under_one_label(collections, tmp_path):
    museum, flat, csv = collections
    out = tmp_path / "out"
    prepare_dataset([flat, museum], labels=[csv, "none"], out=out, config=CONFIG)
    data = load_train_data(out)
    split = data.train if "albrecht  DURER" in data.train.artists else data.val
    assert DURER not in data.train.artists + data.val.artists  # B came first: its spelling is the name
    ids = {int(label) for label, artist in zip(split.labels, split.artists) if artist == "albrecht  DURER"}
    assert len(ids) == 1 and sum(a == "albrecht  DURER" for a in split.artists) == 8
    config = make_config("default", mode="frozen", epochs=1, backbone=TINY, weights="none", batch_size=6, per_artist=2,
                         views=1, val_pairs=30, val_triplets=60, threads=1, workers=0)
    summary = train_model(out, config=config, out=tmp_path / "model", home=tmp_path / "home")
    record = read_checkpoint(summary["model_path"])["attribution"]  # open-set calibration fit on val
    assert record["method"] == "open-set-logit" and record["k"] == 10


def test_cli_takes_several_source_and_labels_pairs(collections, tmp_path, capsys):
    museum, flat, csv = collections
    args = ["prepare", str(museum), str(flat), "--labels", "none", "--labels", str(csv), "--out", str(tmp_path / "out"),
            "--size", "32", "--min-side", "16", "--workers", "1", "--val-fraction", "0.34", "--test-fraction", "0.17", "--json"]
    assert main(args) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["artists"] == 6 and report["images"] == 23
    assert main(args[:3] + ["--labels", str(csv)] + args[7:]) == 1
    assert "2 SOURCE folders but 1 --labels" in capsys.readouterr().err


def test_single_source_form_is_unchanged(collections, tmp_path):
    museum, _, _ = collections
    report = prepare_dataset(museum, out=tmp_path / "out", config=CONFIG)
    assert report["source"] == str(museum) and report["layout"] == "folders" and report["labels"] is None
    assert report["merged_spellings"] == {} and len(report["collections"]) == 1


def test_pairing_rules(tmp_path):
    assert [c.labels for c in pair_collections(["a", "b"], None)] == [None, None]
    assert [c.labels for c in pair_collections(["a", "b"], ["none", "x.csv"])] == [None, tmp_path.__class__("x.csv")]
    with pytest.raises(EngineError, match="same SOURCE folder"):
        pair_collections(["a", "./a"], None)
    with pytest.raises(EngineError, match="no SOURCE"):
        pair_collections([], None)
