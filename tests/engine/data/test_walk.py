"""walk_folder: the one walk of prepare and index (links, loops, special files, hidden, exclude)."""

from __future__ import annotations

import os

from engine.data.walk import walk_folder


def _tree(root):
    (root / "a" / "deep").mkdir(parents=True)
    (root / ".hidden").mkdir()
    for rel in ("top.jpg", "a/1.jpg", "a/deep/2.jpg", ".hidden/3.jpg", "a/.dot.jpg"):
        (root / rel).write_bytes(b"x" * len(rel))
    outside = root.parent / "outside"
    outside.mkdir()
    (outside / "o.jpg").write_bytes(b"o")
    (root / "linkdir").symlink_to(root / "a", target_is_directory=True)  # inside: same folder, second name
    (root / "a" / "loop").symlink_to(root, target_is_directory=True)
    (root / "out").symlink_to(outside, target_is_directory=True)
    (root / "alias.jpg").symlink_to(root / "a" / "1.jpg")
    (root / "escape.jpg").symlink_to(outside / "o.jpg")
    (root / "broken.jpg").symlink_to(root / "nowhere.jpg")
    os.mkfifo(root / "pipe.jpg")
    return root


def test_links_are_followed_inside_only_and_every_bad_entry_has_its_reason(tmp_path):
    walk = walk_folder(_tree(tmp_path / "art"), follow_dir_links=True)
    rels = [f.rel for f in walk.files]
    assert rels == sorted(rels)
    assert set(rels) == {"top.jpg", "a/1.jpg", "a/deep/2.jpg", ".hidden/3.jpg", "a/.dot.jpg", "alias.jpg"}
    reasons = {os.path.basename(p): r for p, r in walk.skipped}
    assert reasons == {"loop": "symlink_loop", "out": "outside_folder", "escape.jpg": "outside_folder",
                       "broken.jpg": "broken_symlink", "pipe.jpg": "not_a_file"}
    alias = next(f for f in walk.files if f.rel == "alias.jpg")
    assert alias.real == str((tmp_path / "art" / "a" / "1.jpg").resolve()) and alias.size == len("a/1.jpg")


def test_prepare_rules_leave_linked_folders_hidden_entries_and_the_excluded_folder_alone(tmp_path):
    root = _tree(tmp_path / "art")
    walk = walk_folder(root, follow_dir_links=False, skip_hidden=True, exclude=root / "a" / "deep")
    assert [f.rel for f in walk.files] == ["a/1.jpg", "alias.jpg", "top.jpg"]
    assert {os.path.basename(p) for p, _ in walk.skipped} == {"escape.jpg", "broken.jpg", "pipe.jpg"}


def test_accept_filters_names_silently(tmp_path):
    root = _tree(tmp_path / "art")
    (root / "notes.txt").write_text("x")
    walk = walk_folder(root, accept=lambda name: name.endswith(".txt"))
    assert [f.rel for f in walk.files] == ["notes.txt"]
    assert sorted(reason for _, reason in walk.skipped) == ["outside_folder", "symlink_loop"]  # folders still report
