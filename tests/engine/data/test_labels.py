from pathlib import Path

import pytest

from engine.base.errors import EngineError
from engine.data.labels import LabelRecord, artist_from_folder, defuse, is_safe_relative, load_label_table, read_labels


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


def test_train_info_csv(tmp_path):
    csv = write(tmp_path / "train_info.csv", "filename,artist,title,style,genre,date\n"
                "1.jpg,Claude Monet,Water Lilies,Impressionism,landscape,1906\n2.jpg,Edgar Degas,,,,\n")
    labels = read_labels(csv)
    assert labels == {
        "1.jpg": LabelRecord("1.jpg", "Claude Monet", "Water Lilies", "Impressionism", "landscape", "1906"),
        "2.jpg": LabelRecord("2.jpg", "Edgar Degas"),
    }


def test_all_data_info_csv_uses_new_filename(tmp_path):
    csv = write(tmp_path / "all_data_info.csv",
                "artist,date,genre,pixelsx,pixelsy,size_bytes,source,style,title,artist_group,in_train,new_filename\n"
                "Barnett Newman,1955,abstract,15530,6911,9201912,wikiart,Color Field,Uriel,train_only,True,102257.jpg\n")
    table = load_label_table(csv)
    assert table.file_column == "new_filename"
    assert table.records["102257.jpg"].artist == "Barnett Newman"
    assert table.records["102257.jpg"].style == "Color Field"


def test_custom_columns_case_insensitive_and_semicolons(tmp_path):
    csv = write(tmp_path / "x.csv", "Image;Who\nimg/a.png;Ann\n")
    assert read_labels(csv, file_column="image", artist_column="WHO") == {"img/a.png": LabelRecord("img/a.png", "Ann")}


@pytest.mark.parametrize("header, kwargs, missing", [
    ("name,painter\n", {}, "file column"),
    ("filename,who\n", {}, "artist column"),
    ("filename,artist\n", {"file_column": "nope"}, "'nope'"),
])
def test_missing_columns_are_engine_errors(tmp_path, header, kwargs, missing):
    csv = write(tmp_path / "x.csv", header + "a.jpg,A\n")
    with pytest.raises(EngineError, match=missing):
        read_labels(csv, **kwargs)


@pytest.mark.parametrize("content", [b"", b"\n\n", b"\x00\x01\x02binary\x00"])
def test_empty_or_binary_csv(tmp_path, content):
    path = tmp_path / "x.csv"
    path.write_bytes(content)
    with pytest.raises(EngineError):
        read_labels(path)


def test_missing_csv_and_folder(tmp_path):
    with pytest.raises(EngineError, match="not found"):
        read_labels(tmp_path / "nope.csv")
    with pytest.raises(EngineError, match="folder"):
        read_labels(tmp_path)


def test_quotes_newlines_huge_fields_and_formulas(tmp_path):
    huge = "x" * 300_000
    csv = write(tmp_path / "x.csv", 'filename,artist,title,date\n'
                f'"a,b.jpg","Doe, ""Jr""","multi\nline {huge}",-1500\n'
                'c.jpg,=HYPERLINK("http://evil"),@SUM(A1),+1\n')
    labels = read_labels(csv)
    assert labels["a,b.jpg"].artist == 'Doe, "Jr"'
    assert labels["a,b.jpg"].title.startswith("multi\nline xxx") and len(labels["a,b.jpg"].title) > 300_000
    assert labels["a,b.jpg"].date == "-1500"
    assert labels["c.jpg"].artist == "'=HYPERLINK(\"http://evil\")"
    assert labels["c.jpg"].title == "'@SUM(A1)"


@pytest.mark.parametrize("encoding", ["utf-8-sig", "cp1252", "latin-1", "utf-16"])
def test_encodings(tmp_path, encoding):
    csv = write(tmp_path / "x.csv", "filename,artist\nd.jpg,Albrecht Dürer\n", encoding)
    assert read_labels(csv)["d.jpg"].artist == "Albrecht Dürer"


def test_unsafe_paths_rejected(tmp_path):
    csv = write(tmp_path / "x.csv", "filename,artist\n/etc/passwd,A\n../up.jpg,A\nsub/../../x.jpg,A\n"
                "C:\\\\win.jpg,A\nok/in.jpg,A\n..hidden.jpg,A\n")
    table = load_label_table(csv)
    assert set(table.records) == {"ok/in.jpg", "..hidden.jpg"}
    assert sorted(r for _, r in table.rejected) == ["unsafe_path"] * 4


def test_rows_without_artist_and_conflicting_labels(tmp_path):
    csv = write(tmp_path / "x.csv", "filename,artist\na.jpg,\nb.jpg,X\nb.jpg,Y\nb.jpg,X\nc.jpg,Z\nc.jpg,Z\n,Q\n")
    table = load_label_table(csv)
    assert set(table.records) == {"c.jpg"}
    reasons = sorted(r for _, r in table.rejected)
    assert reasons == ["conflicting_label"] * 3 + ["no_artist", "no_file_name"]


def test_defuse():
    assert defuse(" =1+1 ") == "'=1+1"
    assert defuse("-12.5") == "-12.5"
    assert defuse("-") == "-"
    assert defuse("-cmd") == "'-cmd"
    assert defuse("Monet") == "Monet"


def test_is_safe_relative():
    assert is_safe_relative("a/b.jpg")
    assert not is_safe_relative("")
    assert not is_safe_relative("\\\\server\\share.jpg")
    assert not is_safe_relative("a\\..\\..\\b.jpg")


def test_artist_from_folder(tmp_path):
    assert artist_from_folder(tmp_path, tmp_path / "Monet" / "a.jpg") == "Monet"
    assert artist_from_folder(tmp_path, tmp_path / "Monet" / "sub" / "a.jpg") == "Monet"
    assert artist_from_folder(tmp_path, tmp_path / "a.jpg") is None
    assert artist_from_folder(tmp_path / "x", tmp_path / "y" / "a.jpg") is None


def test_over_long_cells_skip_only_their_rows(tmp_path):
    """A cell over MAX_FIELD_CHARS (in any column, even the file name or an unknown one) rejects its row only."""
    import csv as csv_module

    from engine.data.labels import MAX_FIELD_CHARS

    long = "y" * (MAX_FIELD_CHARS + 1)
    limit_before = csv_module.field_size_limit()
    csv = write(tmp_path / "x.csv", "filename,artist,notes\n"
                f"a.jpg,Ann,{long}\n"
                f'"{long}.jpg",Bob,\n'
                f'c.jpg,"Cid\n{long}",\n'
                "d.jpg,Dee,fine\n")
    table = load_label_table(csv)
    assert set(table.records) == {"d.jpg"} and table.records["d.jpg"].artist == "Dee"
    reasons = [(name[:5], reason) for name, reason in table.rejected]
    assert reasons == [("a.jpg", "cell_too_long"), ("yyyyy", "cell_too_long"), ("c.jpg", "cell_too_long")]
    assert all(len(name) < 300 for name, _ in table.rejected)  # a huge file name is cut in the report
    assert csv_module.field_size_limit() == limit_before  # the process-wide csv limit is restored


def test_cell_at_the_limit_is_kept(tmp_path):
    from engine.data.labels import MAX_FIELD_CHARS

    csv = write(tmp_path / "x.csv", f"filename,artist,title\na.jpg,Ann,{'t' * MAX_FIELD_CHARS}\n")
    assert len(read_labels(csv)["a.jpg"].title) == MAX_FIELD_CHARS
