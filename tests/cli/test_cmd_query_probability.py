"""engine query's table title shows each likely artist's probability and vote, labelled, and the "none of them" one first when it wins."""

from rich.console import Console

from cli.cmd_query import _render

MATCH = {"path": "/a/1.jpg", "artist": "Ann Red", "similarity": 0.9}


def _title(item: dict) -> str:
    console = Console(record=True, width=200)
    _render(console, {"results": [{"query": "q.jpg", "matches": [MATCH], **item}]})
    return " ".join(console.export_text().split())  # the title may wrap


def test_title_shows_probabilities_when_calibrated():
    text = _title({"artists": [{"artist": "Ann Red", "score": 1.0, "probability": 0.7123}], "unknown": 0.2877})
    assert "likely Ann Red p 0.71 (vote 1.00); none of them: p 0.29" in text


def test_title_of_an_uncalibrated_model_is_unchanged():
    text = _title({"artists": [{"artist": "Ann Red", "score": 1.0, "probability": None}], "unknown": None})
    assert "likely Ann Red (vote 1.00)" in text and "none of them" not in text


def test_title_says_none_first_when_unknown_is_likeliest():
    text = _title({"artists": [{"artist": "Paul Klee", "vote": 0.41, "score": 0.41, "probability": 0.10},
                               {"artist": "Ann Red", "vote": 0.59, "score": 0.59, "probability": 0.05}], "unknown": 0.77})
    assert "probably none of the indexed artists (p 0.77); closest: Paul Klee p 0.10 (vote 0.41), Ann Red p 0.05 (vote 0.59)" in text
    assert "likely" not in text


def test_title_names_a_query_in_the_collection_and_flags_copies():
    item = {"artists": [{"artist": "Ann Red", "vote": 1.0, "score": 1.0, "probability": 0.6}], "unknown": 0.4,
            "in_collection": {"id": 3, "path": "/a/0.jpg", "artist": "Ann Red"}}
    console = Console(record=True, width=200)
    _render(console, {"results": [{"query": "q.jpg", "matches": [{**MATCH, "duplicate": True}], **item}]})
    text = " ".join(console.export_text().split())
    assert "in the collection as #3, Ann Red: not counted" in text and "0.900 copy" in text
