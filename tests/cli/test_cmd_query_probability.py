"""engine query's table title shows each likely artist's probability and the "none of them" one."""

from rich.console import Console

from cli.cmd_query import _render

MATCH = {"path": "/a/1.jpg", "artist": "Ann Red", "similarity": 0.9}


def _title(item: dict) -> str:
    console = Console(record=True, width=200)
    _render(console, {"results": [{"query": "q.jpg", "matches": [MATCH], **item}]})
    return " ".join(console.export_text().split())  # the title may wrap


def test_title_shows_probabilities_when_calibrated():
    text = _title({"artists": [{"artist": "Ann Red", "score": 1.0, "probability": 0.7123}], "unknown": 0.2877})
    assert "likely Ann Red (1.00, p 0.71); none of them: p 0.29" in text


def test_title_of_an_uncalibrated_model_is_unchanged():
    text = _title({"artists": [{"artist": "Ann Red", "score": 1.0, "probability": None}], "unknown": None})
    assert "likely Ann Red (1.00)" in text and "none of them" not in text
