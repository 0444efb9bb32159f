"""No path from a labels CSV or a catalog row reaches outside the folder it belongs to."""

from __future__ import annotations

from pathlib import Path

import pytest

from catalog_audit import audit_home
from hostile import _save, noise_image
from indexer.config import IndexConfig
from indexer.pipeline import index_folder

CONFIG = IndexConfig(num_workers=0)


@pytest.fixture(autouse=True)
def _fast(fast_models):
    """CheapNet instead of the trunk: only the catalog and index writes matter here."""


def _img(path: Path, seed: int) -> Path:
    return _save(path, noise_image((40, 36), seed=seed), "JPEG")


def _artists(home: Path) -> dict[str, str | None]:
    import sqlite3

    con = sqlite3.connect(home / "catalog.sqlite")
    try:
        rows = con.execute("SELECT p.path, a.name FROM paintings p LEFT JOIN artists a ON a.id = p.artist_id")
        return {Path(path).name: name for path, name in rows}
    finally:
        con.close()


def test_escaping_csv_rows_label_nothing_and_add_nothing(tmp_path, tiny_model):
    folder = tmp_path / "folder"
    _img(folder / "inside.jpg", 1)
    _img(folder / "sub" / "deep.jpg", 2)
    _img(tmp_path / "outside.jpg", 3)
    csv = tmp_path / "labels.csv"
    csv.write_text(
        "filename,artist\n"
        "../outside.jpg,Evil\n../inside.jpg,Evil\nsub/../../inside.jpg,Evil\n/etc/passwd,Evil\n"
        f"{tmp_path / 'outside.jpg'},Evil\nsub/deep.jpg,Good\n"
    )
    index_folder(folder, home=tmp_path / "home", model=tiny_model, labels=csv, config=CONFIG)
    audit = audit_home(tmp_path / "home")
    root = folder.resolve()
    assert audit.paths == {str(root / "inside.jpg"), str(root / "sub" / "deep.jpg")}
    assert _artists(tmp_path / "home") == {"inside.jpg": None, "deep.jpg": "Good"}


def test_prune_only_touches_its_own_folder(tmp_path, tiny_model):
    home, a, b = tmp_path / "home", tmp_path / "a", tmp_path / "b"
    a_files = [_img(a / f"a{i}.jpg", i) for i in range(2)]
    b_files = [_img(b / f"b{i}.jpg", 10 + i) for i in range(2)]
    (a / "to_b").symlink_to(b, target_is_directory=True)  # a link inside A naming B
    index_folder(a, home=home, model=tiny_model, config=CONFIG)
    index_folder(b, home=home, model=tiny_model, config=CONFIG)
    a_files[0].unlink()
    result = index_folder(a, home=home, model=tiny_model, prune=True, config=CONFIG)
    assert result["removed"] == 1
    audit = audit_home(home)
    assert audit.consistent
    assert audit.paths == {str(a_files[1].resolve())} | {str(p.resolve()) for p in b_files}


def test_prune_of_a_parent_folder_keeps_rows_elsewhere(tmp_path, tiny_model):
    """`index parent --prune` may remove rows under parent only; a sibling of parent stays."""
    home = tmp_path / "home"
    inner = [_img(tmp_path / "parent" / "x" / "p.jpg", 1)]
    sibling = [_img(tmp_path / "parent-2" / "q.jpg", 2)]  # shares the prefix "parent" as a string
    index_folder(tmp_path / "parent-2", home=home, model=tiny_model, config=CONFIG)
    index_folder(tmp_path / "parent", home=home, model=tiny_model, config=CONFIG)
    inner[0].unlink()
    index_folder(tmp_path / "parent", home=home, model=tiny_model, prune=True, config=CONFIG)
    assert audit_home(home).paths == {str(sibling[0].resolve())}
