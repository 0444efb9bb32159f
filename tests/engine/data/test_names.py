"""NameLookup, and prepare matching CSV names to files whatever their Unicode normal form."""

from __future__ import annotations

import unicodedata

import pandas as pd
import pytest

from engine.data.names import NameLookup, name_key
from engine.prepare.pipeline import PrepareConfig, prepare_dataset
from prepare_kit import save_painting, write_csv

NFC = unicodedata.normalize("NFC", "Egon Schiele — Bildnis Frau Schröder.jpg")
NFD = unicodedata.normalize("NFD", NFC)


def test_name_key_folds_normal_forms_and_separators():
    assert NFC != NFD and name_key(NFC) == name_key(NFD) == NFC
    assert name_key("a\\b/../c.jpg") == "a/c.jpg"


def test_lookup_by_path_then_unique_base_name():
    lookup = NameLookup([("monet/1.jpg", "m1"), ("x/dup.jpg", "A"), ("y/dup.jpg", "B"), ("z/same.jpg", "S"), ("w/same.jpg", "S")])
    assert lookup.find("monet/1.jpg") == "m1" and lookup.find("other/1.jpg") == "m1"
    assert lookup.find("x/dup.jpg") == "A" and lookup.find("q/dup.jpg") is None  # ambiguous by name
    assert lookup.find("q/same.jpg") == "S"  # two names, one value: not ambiguous
    assert lookup.find("missing.jpg") is None


@pytest.mark.parametrize(("on_disk", "in_csv"), [(NFD, NFC), (NFC, NFD)], ids=["disk-NFD", "disk-NFC"])
def test_prepare_labels_a_file_whatever_the_normal_form(tmp_path, on_disk, in_csv):
    src = tmp_path / "src"
    rows = []
    for artist in ("Egon Schiele", "B", "C"):
        for k in range(3):
            name = f"{artist[0]}{k}-{on_disk}"
            save_painting(src / name, seed=len(rows))
            rows.append([f"{artist[0]}{k}-{in_csv}", artist])
    csv = write_csv(tmp_path / "labels.csv", ["filename", "artist"], rows)
    report = prepare_dataset(src, labels=csv, out=tmp_path / "out", config=PrepareConfig(size=32, min_side=16, workers=1, min_per_artist=1))
    manifest = pd.read_csv(tmp_path / "out" / "manifest.csv")
    assert report["images"] == 9 and sorted(manifest["artist"].value_counts().to_dict().items()) == [
        ("B", 3), ("C", 3), ("Egon Schiele", 3)]
    assert not [d for d in report["dropped_files"] if d["reason"] in {"missing", "unlabelled"}]
