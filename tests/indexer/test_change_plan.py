"""plan_changes: unchanged / restat / move / copy / change / new / gone, by content hash."""

from __future__ import annotations

from pathlib import Path

from db.records import FileState
from indexer.change_plan import plan_changes
from engine.data.walk import WalkedFile

ROOT = Path("/art")


def _f(name: str, size: int = 10, mtime: int = 1) -> WalkedFile:
    return WalkedFile(f"/art/{name}", f"/art/{name}", name, size, mtime)


def _s(pid: int, name: str, sha: str, size: int = 10, mtime: int = 1, root: str = "/art") -> FileState:
    return FileState(pid, f"{root}/{name}", sha, size, mtime)


def test_classification(tmp_path):
    shas = {"/art/same.jpg": "S", "/art/touched.jpg": "T", "/art/changed.jpg": "NEW-C", "/art/moved-to.jpg": "M",
            "/art/copy.jpg": "S", "/art/new.jpg": "N"}
    files = [_f("same.jpg"), _f("touched.jpg", mtime=2), _f("changed.jpg", size=11), _f("moved-to.jpg"), _f("copy.jpg"), _f("new.jpg")]
    states = [_s(1, "same.jpg", "S"), _s(2, "touched.jpg", "T"), _s(3, "changed.jpg", "C"),
              _s(4, "moved-from.jpg", "M"), _s(5, "gone.jpg", "G"), _s(6, "x.jpg", "X", root="/elsewhere")]
    hashed = []

    def fake_hash(path):
        hashed.append(path)
        return shas[path]

    plan = plan_changes(files, states, root=ROOT, hash_file=fake_hash)
    assert "/art/same.jpg" not in hashed  # size and mtime unchanged: trusted
    assert plan.kept == {"/art/same.jpg": 1, "/art/touched.jpg": 2, "/art/moved-to.jpg": 4}
    assert plan.restat == [(2, "/art/touched.jpg", 10, 2)]
    assert plan.moves == [(4, "/art/moved-to.jpg", 10, 1)]
    assert [(w.file.rel, w.replaces) for w in plan.copies] == [("copy.jpg", None)]
    assert [(w.file.rel, w.sha256, w.replaces) for w in plan.embed] == [("changed.jpg", "NEW-C", 3), ("new.jpg", "N", None)]
    assert plan.gone == [5]  # /elsewhere is not under the folder


def test_a_copy_whose_original_still_exists_is_not_a_move(tmp_path):
    original = tmp_path / "orig.jpg"
    original.write_bytes(b"x")
    files = [WalkedFile(str(tmp_path / "art" / "copy.jpg"), str(tmp_path / "art" / "copy.jpg"), "copy.jpg", 1, 1)]
    states = [FileState(1, str(original), "S", 1, 1)]
    plan = plan_changes(files, states, root=tmp_path / "art", hash_file=lambda p: "S")
    assert plan.moves == [] and len(plan.copies) == 1


def test_unhashable_file_is_skipped():
    def boom(path):
        raise PermissionError("denied")

    plan = plan_changes([_f("a.jpg")], [], root=ROOT, hash_file=boom)
    assert plan.skipped == [("/art/a.jpg", "unreadable")] and not plan.embed
