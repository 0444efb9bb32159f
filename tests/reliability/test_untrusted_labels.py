"""Untrusted labels CSVs: formulas, quotes, huge cells, odd encodings and escaping paths are read safely."""

from __future__ import annotations

import pytest

from engine.base.errors import EngineError
from engine.data.labels import load_label_table, read_labels

FORMULA_STARTS = ("=", "+", "@", "|", "\t", "\r")
ESCAPING = [
    "../../etc/passwd",
    "/etc/passwd",
    "sub/../../outside.jpg",
    "..\\..\\windows\\win.ini",
    "C:\\Windows\\win.ini",
    "C:/Windows/win.ini",
    "\\\\server\\share\\x.jpg",
    "..",
]


def _write(tmp_path, text: str, encoding: str = "utf-8"):
    path = tmp_path / "labels.csv"
    path.write_bytes(text.encode(encoding))
    return path


def _all_values(records):
    for rec in records.values():
        yield from (rec.artist, rec.title, rec.style, rec.genre, rec.date)


def test_formula_cells_are_plain_text_and_defused(tmp_path):
    csv_text = (
        "filename,artist,title,style,genre,date\n"
        "a.jpg,=cmd|' /C calc'!A0,+HYPERLINK(\"http://x\"),@SUM(1),-2+3,=1+1\n"
        "b.jpg,Monet,Water Lilies,Impressionism,landscape,-1890\n"
    )
    records = read_labels(_write(tmp_path, csv_text))
    assert set(records) == {"a.jpg", "b.jpg"}
    for value in _all_values(records):
        assert not value.startswith(FORMULA_STARTS), value
    assert "cmd|" in records["a.jpg"].artist  # kept as text, not dropped or evaluated
    assert records["b.jpg"].artist == "Monet"


def test_quotes_commas_and_newlines_in_cells(tmp_path):
    csv_text = (
        'filename,artist,title\n'
        '"a, b.jpg","Bruegel, Pieter ""the Elder""","Line one\nline two"\n'
        'c.jpg,O\'Keeffe,"""Quoted"""\n'
    )
    records = read_labels(_write(tmp_path, csv_text))
    assert records["a, b.jpg"].artist == 'Bruegel, Pieter "the Elder"'
    assert "line two" in records["a, b.jpg"].title
    assert records["c.jpg"].artist == "O'Keeffe"


def test_huge_cell_skips_only_its_row(tmp_path, monkeypatch):
    """A 10 MB cell: that row is rejected with a reason, the other rows' labels are kept; fast: only the
    cell's length is looked at, it never reaches the per-cell cleaning (a spy, not a wall-clock bound)."""
    import engine.data.labels as labels

    cleaned: list[int] = []
    real = labels.defuse
    monkeypatch.setattr(labels, "defuse", lambda value: cleaned.append(len(value)) or real(value))
    csv_text = "filename,artist,title\na.jpg,Smith," + "x" * 10_000_000 + "\nb.jpg,Jones,ok\n"
    path = _write(tmp_path, csv_text)
    table = load_label_table(path)
    assert cleaned and max(cleaned) <= labels.MAX_FIELD_CHARS, cleaned  # Jones's row was cleaned, the huge one not
    assert set(table.records) == {"b.jpg"} and table.records["b.jpg"].artist == "Jones"
    assert table.rejected == [("a.jpg", "cell_too_long")]
    assert all(len(v) <= 1_000_000 for v in _all_values(table.records))


@pytest.mark.parametrize(
    "encoding", ["latin-1", "cp1252", "utf-8-sig", "utf-16", "utf-16-le-bom", "utf-16-be-bom"]
)
def test_encodings(tmp_path, encoding):
    text = "filename,artist\ndürer.jpg,Albrecht Dürer\nb.jpg,Édouard Manet\n"
    if encoding.endswith("-bom"):
        codec = encoding[: -len("-bom")]
        bom = "\ufeff".encode(codec)
        path = tmp_path / "labels.csv"
        path.write_bytes(bom + text.encode(codec))
    else:
        path = _write(tmp_path, text, encoding)
    records = read_labels(path)
    assert records["dürer.jpg"].artist == "Albrecht Dürer"
    assert records["b.jpg"].artist == "Édouard Manet"


def test_cyrillic_utf16(tmp_path):
    path = _write(tmp_path, "filename,artist\nрепин.jpg,Илья Репин\n", "utf-16")
    assert read_labels(path)["репин.jpg"].artist == "Илья Репин"


@pytest.mark.parametrize("bad", ESCAPING)
def test_escaping_paths_are_dropped(tmp_path, bad):
    quoted = '"' + bad.replace('"', '""') + '"'
    path = _write(tmp_path, f"filename,artist\n{quoted},Evil\nok.jpg,Good\n")
    records = read_labels(path)
    assert set(records) == {"ok.jpg"}


@pytest.mark.parametrize(
    "content",
    [b"", b"\x00\x01\x02binary\x00" * 50, b"\xff\xd8\xff\xe0" + b"\x00" * 100, b"just one line without columns\n"],
    ids=["empty", "binary", "jpeg_bytes", "no_columns"],
)
def test_garbage_files_are_engine_errors(tmp_path, content):
    path = tmp_path / "labels.csv"
    path.write_bytes(content)
    with pytest.raises(EngineError) as info:
        read_labels(path)
    assert "\n" not in str(info.value)


def test_ragged_rows(tmp_path):
    text = "filename,artist,title\na.jpg,Monet\nb.jpg\nc.jpg,Degas,t,extra,cells\n"
    path = _write(tmp_path, text)
    records = read_labels(path)
    assert records["a.jpg"].artist == "Monet"
    assert "b.jpg" not in records  # no artist
    assert records["c.jpg"].artist == "Degas"
