"""prepare_dataset on generated folders: every input layout and every drop reason."""

import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from prepare_kit import artist_folders, painting, pbn_folder, save_painting, write_csv

from engine.data.labels import LabelRecord
from engine.data.manifest import COLUMNS, read_manifest
from engine.prepare.pipeline import PrepareConfig, prepare_dataset
from engine.prepare.select import Selection, check_invariants
from engine.prepare.worker import FileFacts
from engine.data.sources import SourceItem

FAST = PrepareConfig(size=32, min_side=16, workers=1)


def two_tone(width, height):
    arr = np.zeros((height, width, 3), np.uint8)
    arr[: height // 2] = (255, 0, 0)
    arr[height // 2 :] = (0, 0, 255)
    return Image.fromarray(arr, "RGB")


def build_zoo(root: Path) -> Path:
    """Subfolder layout with one file of every kind; see `test_drop_reasons` for the verdicts."""
    artist_folders(root, {"Monet": 4, "Degas": 4, "Manet": 3, "Solo": 1})
    monet = root / "Monet"
    shutil.copy(monet / "000.jpg", monet / "exact_copy.jpg")
    painting(1).resize((72, 60)).save(monet / "near_copy.jpg", quality=50)  # re-encode of Monet/001.jpg
    shutil.copy(root / "Degas" / "000.jpg", root / "Manet" / "stolen.jpg")  # same image, two artists
    good = (monet / "002.jpg").read_bytes()
    (monet / "truncated.jpg").write_bytes(good[: len(good) * 2 // 3])
    (monet / "zero.jpg").write_bytes(b"")
    (monet / "text.jpg").write_text("hello, I am not a JPEG")
    (monet / "notes.txt").write_text("notes")
    Image.new("RGB", (1, 1)).save(monet / "dot.png")
    Image.new("L", (3000, 3000)).save(monet / "bomb.png")
    painting(50, (40, 40)).convert("CMYK").save(monet / "cmyk.jpg", quality=95)
    Image.fromarray((np.asarray(painting(51, (40, 40)).convert("L"), np.uint16) * 257)).save(monet / "deep16.png")
    pal = painting(52, (40, 40)).convert("P", palette=Image.Palette.ADAPTIVE, colors=16)
    pal.save(monet / "palette.png", transparency=0)
    exif = Image.Exif()
    exif[0x0112] = 6
    two_tone(40, 80).transpose(Image.Transpose.ROTATE_90).save(monet / "rotated.jpg", quality=95, exif=exif)
    save_painting(root / "stray.jpg", 99)
    (root / "Degas" / ".DS_Store").write_bytes(b"\x00junk")
    return root


def test_drop_reasons(tmp_path):
    src = build_zoo(tmp_path / "src")
    report = prepare_dataset(src, out=tmp_path / "out", config=PrepareConfig(size=32, min_side=16, workers=1, max_pixels=1_000_000))
    reasons = {Path(d["source"]).relative_to(src).as_posix(): d["reason"] for d in report["dropped_files"]}
    assert reasons == {
        "Monet/exact_copy.jpg": "duplicate",
        "Monet/near_copy.jpg": "near_duplicate",
        "Degas/000.jpg": "conflicting_duplicate",
        "Manet/stolen.jpg": "conflicting_duplicate",
        "Monet/truncated.jpg": "truncated",
        "Monet/zero.jpg": "empty",
        "Monet/text.jpg": "not_an_image",
        "Monet/notes.txt": "not_an_image",
        "Monet/dot.png": "too_small",
        "Monet/bomb.png": "too_large",
        "Solo/000.jpg": "too_few_images",
        "stray.jpg": "no_artist",
    }
    assert report["dropped"]["conflicting_duplicate"] == 2
    frame = read_manifest(tmp_path / "out")
    assert list(frame.columns[:-1]) == COLUMNS
    kept = {Path(s).relative_to(src).as_posix() for s in frame["source"]}
    assert {"Monet/cmyk.jpg", "Monet/deep16.png", "Monet/palette.png", "Monet/rotated.jpg", "Monet/000.jpg"} <= kept
    assert report["per_artist"] == {"Degas": {"split": report["per_artist"]["Degas"]["split"], "images": 3},
                                    "Manet": {"split": report["per_artist"]["Manet"]["split"], "images": 3},
                                    "Monet": {"split": report["per_artist"]["Monet"]["split"], "images": 8}}
    for path in frame["abspath"]:
        with Image.open(path) as im:
            assert im.size == (32, 32) and im.mode == "RGB" and im.format == "JPEG"


def test_rotated_and_converted_images(tmp_path):
    src = build_zoo(tmp_path / "src")
    prepare_dataset(src, out=tmp_path / "out", config=PrepareConfig(size=32, min_side=16, workers=1, max_pixels=1_000_000))
    frame = read_manifest(tmp_path / "out").set_index("source")
    rotated = frame.loc[str(src / "Monet" / "rotated.jpg")]
    assert (rotated["width"], rotated["height"]) == ("40", "80")  # as displayed, not as stored
    arr = np.asarray(Image.open(rotated["abspath"])).astype(int)
    assert arr[3, 16, 0] > 200 and arr[3, 16, 2] < 60  # top red
    assert arr[28, 16, 2] > 200 and arr[28, 16, 0] < 60  # bottom blue
    cmyk = np.asarray(Image.open(frame.loc[str(src / "Monet" / "cmyk.jpg")]["abspath"])).astype(int)
    expected = np.asarray(painting(50, (40, 40)).resize((32, 32))).astype(int)
    assert np.abs(cmyk.mean(axis=(0, 1)) - expected.mean(axis=(0, 1))).max() < 15


def test_pbn_train_info_layout(tmp_path):
    src, rows = pbn_folder(tmp_path / "train", {"A": 3, "B": 3, "C": 3})
    rows = [[name, artist, f"title {name}", "Impressionism", "portrait", "1890"] for name, artist in rows]
    csv_path = write_csv(tmp_path / "train_info.csv", ["filename", "artist", "title", "style", "genre", "date"],
                         rows + [["gone.jpg", "A", "", "", "", ""]])
    save_painting(src / "extra.jpg", 777)
    report = prepare_dataset(src, out=tmp_path / "out", labels=csv_path, config=FAST)
    assert report["layout"] == "labels" and report["labels"]["file_column"] == "filename"
    assert report["dropped"] == {"missing": 1, "unlabelled": 1}
    frame = read_manifest(tmp_path / "out")
    assert len(frame) == 9 and frame["artist"].nunique() == 3
    row = frame[frame["source"] == str(src / rows[0][0])].iloc[0]
    assert (row["title"], row["style"], row["genre"], row["date"]) == (f"title {rows[0][0]}", "Impressionism", "portrait", "1890")
    assert sorted(frame.groupby("split")["artist"].nunique().to_dict().items()) == [("test", 1), ("train", 1), ("val", 1)]


def test_all_data_info_layout_finds_files_by_name(tmp_path):
    root = tmp_path / "pbn"
    _, rows = pbn_folder(root / "train", {"A": 2, "B": 2, "C": 2, "D": 2})
    header = ["artist", "date", "genre", "pixelsx", "pixelsy", "size_bytes", "source", "style", "title",
              "artist_group", "in_train", "new_filename"]
    lines = [[artist, "", "", "96", "80", "1", "wikiart", "", "", "train_only", "True", name] for name, artist in rows]
    lines.append(["A", "", "", "", "", "", "", "", "", "", "False", "99999.jpg"])  # in the (absent) test folder
    csv_path = write_csv(tmp_path / "all_data_info.csv", header, lines)
    report = prepare_dataset(root, out=tmp_path / "out", labels=csv_path, config=FAST)
    assert report["images"] == 8 and report["artists"] == 4
    assert report["dropped"] == {"missing": 1}


def test_custom_columns_layout(tmp_path):
    src = tmp_path / "src"
    rows = []
    for k in range(6):
        save_painting(src / "deep" / f"p{k}.png", 300 + k)
        rows.append([f"deep/p{k}.png", "Ann" if k % 2 else "Bob", "x"])
    csv_path = write_csv(tmp_path / "mine.csv", ["img", "who", "notes"], rows)
    config = PrepareConfig(size=32, min_side=16, workers=1, file_column="img", artist_column="who", test_fraction=0.0)
    report = prepare_dataset(src, out=tmp_path / "out", labels=csv_path, config=config)
    assert report["images"] == 6 and report["labels"]["artist_column"] == "who"
    assert report["splits"]["test"] == {"artists": 0, "images": 0}


def test_subfolder_layout_splits(tmp_path):
    src = artist_folders(tmp_path / "src", {f"artist{i}": 2 for i in range(10)})
    report = prepare_dataset(src, out=tmp_path / "out", config=PrepareConfig(size=32, min_side=16, workers=1, val_fraction=0.2, test_fraction=0.2))
    assert {s: c["artists"] for s, c in report["splits"].items()} == {"train": 6, "val": 2, "test": 2}
    frame = read_manifest(tmp_path / "out")
    assert (frame.groupby("artist")["split"].nunique() == 1).all()
    assert frame["sha256"].is_unique
    assert all((tmp_path / "out" / p).is_file() for p in frame["path"])


def test_invariant_check_catches_cross_split_duplicates():
    items = [SourceItem(Path(f"/x/{a}.jpg"), f"{a}.jpg", LabelRecord(f"{a}.jpg", a)) for a in ("a", "b")]
    facts = [FileFacts("1" * 64, "0" * 16, 9, 9), FileFacts("2" * 64, "0" * 15 + "3", 9, 9)]
    with pytest.raises(AssertionError, match="near duplicates across splits"):
        check_invariants(items, facts, Selection([0, 1], {"a": "train", "b": "test"}), 4)
    check_invariants(items, facts, Selection([0, 1], {"a": "train", "b": "test"}), 1)
