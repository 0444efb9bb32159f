"""prepare_dataset re-runs (cache), per-artist limits, worker processes and output-folder safety."""

import os
from pathlib import Path

import pytest
from PIL import Image
from prepare_kit import artist_folders, save_painting

import engine.prepare.facts as prepare_facts
from engine.base.errors import EngineError
from engine.data.manifest import read_manifest
from engine.prepare.pipeline import PrepareConfig, prepare_dataset

FAST = PrepareConfig(size=32, min_side=16, workers=1)


@pytest.fixture
def decode_counter(monkeypatch):
    """Counts calls of the per-file worker (in-process with workers=1)."""
    calls = []
    real = prepare_facts.process_file

    def counting(job):
        calls.append(Path(job.source).name)
        return real(job)

    monkeypatch.setattr(prepare_facts, "process_file", counting)
    return calls


def image_mtimes(out: Path) -> dict[str, int]:
    return {p.name: p.stat().st_mtime_ns for p in (out / "images").glob("*/*.jpg")}


def test_rerun_is_incremental_and_byte_identical(tmp_path, decode_counter):
    src = artist_folders(tmp_path / "src", {"A": 3, "B": 3, "C": 3})
    Image.new("RGB", (1, 1)).save(src / "A" / "dot.png")
    out = tmp_path / "out"
    first = prepare_dataset(src, out=out, config=FAST)
    assert first["decoded"] == len(decode_counter) == 10
    manifest, mtimes = (out / "manifest.csv").read_bytes(), image_mtimes(out)
    decode_counter.clear()

    second = prepare_dataset(src, out=out, config=FAST)
    assert decode_counter == [] and second["decoded"] == 0 and second["cached"] == 10
    assert (out / "manifest.csv").read_bytes() == manifest
    assert image_mtimes(out) == mtimes

    save_painting(src / "B" / "001.jpg", 4242)  # new content at an old path
    os.utime(src / "B" / "001.jpg", ns=(1, 1))  # and a different mtime for sure
    third = prepare_dataset(src, out=out, config=FAST)
    assert decode_counter == ["001.jpg"] and third["decoded"] == 1
    assert len(image_mtimes(out)) == 9  # the replaced picture's old copy was removed


def test_size_limits_are_rejudged_from_the_cache(tmp_path, decode_counter):
    src = artist_folders(tmp_path / "src", {"A": 3, "B": 3, "C": 3})
    save_painting(src / "A" / "small.jpg", 555, size=(40, 40))
    Image.new("RGB", (1, 1)).save(src / "A" / "dot.png")
    out = tmp_path / "out"
    prepare_dataset(src, out=out, config=FAST)
    decode_counter.clear()
    stricter = prepare_dataset(src, out=out, config=PrepareConfig(size=32, min_side=50, workers=1))
    assert decode_counter == [] and stricter["dropped"] == {"too_small": 2}
    looser = prepare_dataset(src, out=out, config=PrepareConfig(size=32, min_side=1, workers=1))
    assert decode_counter == ["dot.png"] and looser["images"] == 11
    resized = prepare_dataset(src, out=out, config=PrepareConfig(size=24, min_side=1, workers=1))
    assert resized["decoded"] == 11  # another --size invalidates the cached copies
    with Image.open(read_manifest(out)["abspath"][0]) as im:
        assert im.size == (24, 24)


def test_worker_processes_give_the_same_manifest(tmp_path):
    src = artist_folders(tmp_path / "src", {"A": 4, "B": 4, "C": 4})
    (src / "A" / "bad.jpg").write_bytes(b"\xff\xd8\xff garbage")
    one = prepare_dataset(src, out=tmp_path / "one", config=FAST)
    two = prepare_dataset(src, out=tmp_path / "two", config=PrepareConfig(size=32, min_side=16, workers=2))
    assert two["workers"] == 2 and two["dropped"] == one["dropped"] == {"not_an_image": 1}
    assert (tmp_path / "one" / "manifest.csv").read_text() == (tmp_path / "two" / "manifest.csv").read_text()


def test_max_per_artist_caps_big_artists_and_keeps_small_ones(tmp_path):
    src = artist_folders(tmp_path / "src", {"Big": 8, "Mid": 4, "Small": 2, "Tiny": 1})
    config = PrepareConfig(size=32, min_side=16, workers=1, max_per_artist=3, min_per_artist=2, seed=7)
    report = prepare_dataset(src, out=tmp_path / "a", config=config)
    assert {a: v["images"] for a, v in report["per_artist"].items()} == {"Big": 3, "Mid": 3, "Small": 2}
    assert report["dropped"] == {"artist_cap": 6, "too_few_images": 1}
    again = prepare_dataset(src, out=tmp_path / "b", config=config)
    assert [d["source"] for d in again["dropped_files"]] == [d["source"] for d in report["dropped_files"]]
    other_seed = prepare_dataset(src, out=tmp_path / "c", config=PrepareConfig(**{**config.__dict__, "seed": 8}))
    assert other_seed["per_artist"]["Big"]["images"] == 3


def test_split_is_deterministic_by_seed(tmp_path):
    src = artist_folders(tmp_path / "src", {f"artist{i}": 2 for i in range(12)})
    runs = [prepare_dataset(src, out=tmp_path / f"o{k}", config=PrepareConfig(size=32, min_side=16, workers=1, seed=s))
            for k, s in enumerate((3, 3, 4))]
    split_of = [{a: v["split"] for a, v in r["per_artist"].items()} for r in runs]
    assert split_of[0] == split_of[1] and split_of[0] != split_of[2]
    assert (tmp_path / "o0" / "manifest.csv").read_bytes() == (tmp_path / "o1" / "manifest.csv").read_bytes()


def test_output_folder_safety(tmp_path):
    src = artist_folders(tmp_path / "src", {"A": 2, "B": 2, "C": 2})
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "thesis.docx").write_bytes(b"precious")
    with pytest.raises(EngineError, match="already holds other files"):
        prepare_dataset(src, out=foreign, config=FAST)
    assert [p.name for p in foreign.iterdir()] == ["thesis.docx"]
    (tmp_path / "file").write_text("x")
    with pytest.raises(EngineError, match="is a file"):
        prepare_dataset(src, out=tmp_path / "file", config=FAST)
    with pytest.raises(EngineError, match="source folder itself"):
        prepare_dataset(src, out=src, config=FAST)


def test_output_inside_the_source_is_not_scanned(tmp_path):
    src = artist_folders(tmp_path / "src", {"A": 2, "B": 2, "C": 2})
    first = prepare_dataset(src, out=src / "prepared", config=FAST)
    second = prepare_dataset(src, out=src / "prepared", config=FAST)
    assert first["files"] == second["files"] == 6 and second["dropped"] == {}


def test_bad_source_is_reported_before_anything_is_written(tmp_path):
    out = tmp_path / "out"
    (tmp_path / "empty").mkdir()
    flat = tmp_path / "flat"
    save_painting(flat / "a.jpg", 1)
    for source, message in [(tmp_path / "nope", "not found"), (tmp_path / "empty", "no usable files"),
                            (flat, "artist subfolders")]:
        with pytest.raises(EngineError, match=message):
            prepare_dataset(source, out=out, config=FAST)
    assert not out.exists()


@pytest.mark.parametrize("change, message", [
    ({"size": 4}, "--size"), ({"min_per_artist": 0}, "--min-per-artist"), ({"workers": 0}, "--workers"),
    ({"max_per_artist": 1, "min_per_artist": 2}, "--max-per-artist"), ({"val_fraction": 0.7, "test_fraction": 0.3}, "sum"),
])
def test_bad_options(tmp_path, change, message):
    src = artist_folders(tmp_path / "src", {"A": 2})
    with pytest.raises(EngineError, match=message):
        prepare_dataset(src, out=tmp_path / "out", config=PrepareConfig(**{**FAST.__dict__, **change}))


def test_interrupted_run_keeps_its_work(tmp_path, monkeypatch):
    src = artist_folders(tmp_path / "src", {"A": 3, "B": 3, "C": 3})
    real, calls = prepare_facts.process_file, []

    def interrupted(job):
        if len(calls) == 4:
            raise KeyboardInterrupt
        calls.append(job.source)
        return real(job)

    monkeypatch.setattr(prepare_facts, "process_file", interrupted)
    with pytest.raises(KeyboardInterrupt):
        prepare_dataset(src, out=tmp_path / "out", config=FAST)
    assert not (tmp_path / "out" / "manifest.csv").exists()
    monkeypatch.setattr(prepare_facts, "process_file", real)
    assert prepare_dataset(src, out=tmp_path / "out", config=FAST)["decoded"] == 5


def test_unreadable_cache_is_rebuilt(tmp_path):
    src = artist_folders(tmp_path / "src", {"A": 2, "B": 2, "C": 2})
    prepare_dataset(src, out=tmp_path / "out", config=FAST)
    (tmp_path / "out" / "prepare_cache.json").write_text("{not json")
    assert prepare_dataset(src, out=tmp_path / "out", config=FAST)["decoded"] == 6


def test_links_and_special_files_are_reported_never_opened(tmp_path):
    src = artist_folders(tmp_path / "src", {"A": 2, "B": 3, "C": 2})
    outside = save_painting(tmp_path / "private" / "me.jpg", 999)
    os.symlink(outside, src / "A" / "outside.jpg")
    os.symlink(src / "B" / "000.jpg", src / "A" / "inside.jpg")  # a link within SOURCE is fine
    os.symlink("loop2.jpg", src / "A" / "loop1.jpg")
    os.symlink("loop1.jpg", src / "A" / "loop2.jpg")
    os.symlink("nowhere.jpg", src / "A" / "broken.jpg")
    os.mkfifo(src / "A" / "pipe.jpg")  # opening it would block forever
    report = prepare_dataset(src, out=tmp_path / "out", config=FAST)
    reasons = {Path(d["source"]).name: d["reason"] for d in report["dropped_files"]}
    assert reasons == {"outside.jpg": "outside_folder", "loop1.jpg": "symlink_loop", "loop2.jpg": "symlink_loop",
                       "broken.jpg": "broken_symlink", "pipe.jpg": "not_a_file",
                       "inside.jpg": "conflicting_duplicate", "000.jpg": "conflicting_duplicate"}


def test_full_disk_is_one_line_error(tmp_path, monkeypatch):
    import engine.prepare.worker as worker

    src = artist_folders(tmp_path / "src", {"A": 2, "B": 2, "C": 2})

    def full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(worker, "_save_jpeg", full)
    with pytest.raises(EngineError, match="No space left on device") as info:
        prepare_dataset(src, out=tmp_path / "out", config=FAST)
    assert "\n" not in str(info.value) and not (tmp_path / "out" / "manifest.csv").exists()
