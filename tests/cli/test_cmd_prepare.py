"""`engine prepare` through the CLI: output forms, bad input (exit 1, one line), real paintings."""

import csv
import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "kits"))
from prepare_kit import artist_folders, pbn_folder, save_painting, write_csv  # noqa: E402

from cli.app import main  # noqa: E402

FAST = ["--size", "32", "--min-side", "16", "--workers", "1"]


def run(capsys, *args):
    code = main(["prepare", *map(str, args)])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_human_summary(tmp_path, capsys):
    src = artist_folders(tmp_path / "src", {"A": 2, "B": 2, "C": 2})
    (src / "A" / "zero.jpg").write_bytes(b"")
    code, out, _ = run(capsys, src, "--out", tmp_path / "out", *FAST)
    assert code == 0
    assert "train" in out and "test" in out and "empty" in out and "images/s" in out


def test_json_summary(tmp_path, capsys):
    src = artist_folders(tmp_path / "src", {"A": 2, "B": 2, "C": 2, "D": 1})
    code, out, _ = run(capsys, src, "--out", tmp_path / "out", "--json", "--seed", "3", *FAST)
    assert code == 0
    doc = json.loads(out)
    assert doc["images"] == 6 and doc["artists"] == 3 and doc["dropped"] == {"too_few_images": 1}
    assert sum(s["artists"] for s in doc["splits"].values()) == 3
    assert doc["config"]["seed"] == 3 and "dropped_files" not in doc
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert report["dropped_files"][0]["reason"] == "too_few_images"


def bad_inputs(tmp_path: Path) -> dict[str, list]:
    src, rows = pbn_folder(tmp_path / "train", {"A": 2, "B": 2, "C": 2})
    good_csv = write_csv(tmp_path / "good.csv", ["filename", "artist"], rows)
    (tmp_path / "empty").mkdir()
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "keep.txt").write_text("mine")
    return {
        "missing source": [tmp_path / "nope", "--out", tmp_path / "o"],
        "empty source": [tmp_path / "empty", "--out", tmp_path / "o"],
        "source is a file": [good_csv, "--out", tmp_path / "o"],
        "no subfolders": [src, "--out", tmp_path / "o"],
        "missing csv": [src, "--labels", tmp_path / "nope.csv", "--out", tmp_path / "o"],
        "csv without columns": [src, "--labels", write_csv(tmp_path / "c.csv", ["name", "who"], rows), "--out", tmp_path / "o"],
        "wrong column option": [src, "--labels", good_csv, "--artist-column", "painter", "--out", tmp_path / "o"],
        "csv names only missing files": [
            src, "--labels", write_csv(tmp_path / "m.csv", ["filename", "artist"], [["x.jpg", "A"], ["y.jpg", "B"]]),
            "--out", tmp_path / "o"],
        "foreign output folder": [src, "--labels", good_csv, "--out", foreign],
        "fractions": [src, "--labels", good_csv, "--out", tmp_path / "o", "--val-fraction", "0.6", "--test-fraction", "0.5"],
        "max below min": [src, "--labels", good_csv, "--out", tmp_path / "o", "--max-per-artist", "1"],
    }


def test_bad_input_exits_1_with_one_line(tmp_path, capsys):
    for name, args in bad_inputs(tmp_path).items():
        code, out, err = run(capsys, *args, *FAST)
        assert code == 1, name
        assert out == "", name
        lines = err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("engine: error: "), (name, err)
    assert not (tmp_path / "o").exists()
    assert [p.name for p in (tmp_path / "foreign").iterdir()] == ["keep.txt"]
    assert (tmp_path / "foreign" / "keep.txt").read_text() == "mine"


def test_usage_errors_exit_2(tmp_path, capsys):
    assert main(["prepare", str(tmp_path)]) == 2  # no --out
    assert main(["prepare", str(tmp_path), "--out", str(tmp_path / "o"), "--size", "big"]) == 2


def test_failed_rerun_keeps_previous_output(tmp_path, capsys):
    src = artist_folders(tmp_path / "src", {"A": 2, "B": 2, "C": 2})
    out = tmp_path / "out"
    assert run(capsys, src, "--out", out, *FAST)[0] == 0
    before = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    code, _, err = run(capsys, src, "--out", out, "--labels", tmp_path / "nope.csv", *FAST)
    assert code == 1 and "labels file not found" in err
    assert {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()} == before


@pytest.mark.artdata
def test_real_paintings_subset(artdata, tmp_path, capsys):
    """Eight real artists, six paintings each, through the Painter-by-Numbers CSV path."""
    with open(artdata / "train_info.csv", newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    artists = list(dict.fromkeys(row["artist"] for row in rows))[:8]
    chosen = [[r["filename"], r["artist"], r["style"]] for a in artists for r in [x for x in rows if x["artist"] == a][:6]]
    labels = write_csv(tmp_path / "subset.csv", ["filename", "artist", "style"], chosen)
    code, out, _ = run(capsys, artdata / "train", "--labels", labels, "--out", tmp_path / "out", "--json", "--workers", "1")
    assert code == 0
    doc = json.loads(out)
    assert doc["artists"] == 8 and doc["dropped"].get("unlabelled", 0) > 5000
    assert all(doc["splits"][s]["artists"] >= 1 for s in ("train", "val", "test"))
    assert all(v["images"] >= 5 for v in doc["per_artist"].values())


LOCK_HOLDER = """
import sys, time
from pathlib import Path
from engine.prepare.pipeline import prepare_lock
lock = prepare_lock(Path(sys.argv[1])).__enter__()
print("held", flush=True)
time.sleep(60)
"""


def test_second_prepare_on_the_same_out_is_refused(tmp_path, capsys):
    """Another process is preparing into --out: exit 1 with one line naming it; once it is gone, prepare runs."""
    import subprocess

    src = artist_folders(tmp_path / "src", {"A": 2, "B": 2, "C": 2})
    out = tmp_path / "out"
    out.mkdir()
    holder = subprocess.Popen([sys.executable, "-c", LOCK_HOLDER, str(out)], stdout=subprocess.PIPE, text=True,
                              cwd=Path(__file__).resolve().parents[2])
    try:
        assert holder.stdout.readline().strip() == "held"
        code, stdout, err = run(capsys, src, "--out", out, *FAST)
        assert code == 1 and stdout == ""
        assert err.count("\n") == 1 and f"another `engine prepare` is writing to {out} (pid {holder.pid})" in err
        assert not (out / "manifest.csv").exists()
    finally:
        holder.kill()  # dies like a kill -9: the kernel drops its lock, the lock file stays behind
        holder.wait()
    code, _, err = run(capsys, src, "--out", out, *FAST)
    assert code == 0, err
    assert (out / "manifest.csv").is_file()


def test_prepare_lock_is_refused_within_one_process(tmp_path, capsys):
    from engine.prepare.pipeline import prepare_lock

    src = artist_folders(tmp_path / "src", {"A": 2, "B": 2, "C": 2})
    (tmp_path / "out").mkdir()
    with prepare_lock(tmp_path / "out"):
        code, _, err = run(capsys, src, "--out", tmp_path / "out", *FAST)
    assert code == 1 and "another `engine prepare` is writing to" in err
