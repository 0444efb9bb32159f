import unicodedata
from pathlib import Path

import pytest

from db.records import Labels
from indexer.pipeline import index_folder
from indexer_kit import catalog_state, painting
from indexer.labelling import is_per_artist_layout, resolve_labels
from engine.data.walk import WalkedFile

ROOT = Path("/art")


def _files(*rels):
    return [WalkedFile(f"/art/{r}", f"/art/{r}", r, 1, 1) for r in rels]


def test_csv_by_relative_path_then_by_name(tmp_path):
    csv = tmp_path / "l.csv"
    csv.write_text("filename,artist,title,date\nmonet/1.jpg,Claude Monet,Water Lilies,1906\n2.jpg,Berthe Morisot,,\n"
                   "x/dup.jpg,A,,\ny/dup.jpg,B,,\n", encoding="utf-8")
    files = _files("monet/1.jpg", "other/2.jpg", "z/dup.jpg", "free/3.jpg")
    labels = resolve_labels(ROOT, files, csv)
    assert labels["/art/monet/1.jpg"] == Labels("Claude Monet", "Water Lilies", None, None, "1906")
    assert labels["/art/other/2.jpg"].artist == "Berthe Morisot"
    assert labels["/art/z/dup.jpg"].artist == "z"  # ambiguous name in the CSV: folder layout instead
    assert labels["/art/free/3.jpg"].artist == "free"


def test_layout_detection():
    assert is_per_artist_layout(_files("a/1.jpg", "b/c/2.jpg"))
    assert not is_per_artist_layout(_files("a/1.jpg", "2.jpg"))
    assert not is_per_artist_layout([])
    labels = resolve_labels(ROOT, _files("a/1.jpg", "2.jpg"), None)
    assert labels == {"/art/a/1.jpg": Labels(), "/art/2.jpg": Labels()}


NFC = unicodedata.normalize("NFC", "Egon Schiele — Bildnis Frau Schröder.jpg")
NFD = unicodedata.normalize("NFD", NFC)


@pytest.mark.parametrize(("on_disk", "in_csv"), [(NFD, NFC), (NFC, NFD)], ids=["disk-NFD", "disk-NFC"])
def test_index_labels_a_file_whatever_the_normal_form(tmp_path, tiny_model, on_disk, in_csv):
    folder = tmp_path / "scans"
    painting(folder / on_disk, colour=(200, 40, 40), seed=1)
    painting(folder / "plain.jpg", colour=(40, 40, 200), seed=2)
    csv = tmp_path / "labels.csv"
    csv.write_text(f"filename,artist\n{in_csv},Egon Schiele\nplain.jpg,Someone Else\n", encoding="utf-8")
    index_folder(folder, home=tmp_path / "home", model=tiny_model, labels=csv)
    artists = {Path(path).name: artist for path, (_, artist) in catalog_state(tmp_path / "home").items()}
    assert artists == {on_disk: "Egon Schiele", "plain.jpg": "Someone Else"}
