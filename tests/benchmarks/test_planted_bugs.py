"""benchmarks/planted_bugs.py: every planted bug still finds its line, and the report names the failing tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks.planted_bugs import BUGS
from benchmarks.report_sections import planted_bugs_section

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("bug", BUGS, ids=[b.name for b in BUGS])
def test_each_bug_replaces_one_line_of_todays_source_and_names_existing_tests(bug):
    assert (REPO / bug.file).read_text().count(bug.old) == 1, f"{bug.name}: its line moved; update BUGS"
    assert bug.new != bug.old and all((REPO / t).is_file() for t in bug.tests)


def test_section_shows_caught_missed_and_broken_rows():
    res = {"bugs": {
        "a": {"what": "leak", "file": "x.py", "caught": True, "failing_tests": ["tests/t.py::test_one", "tests/t.py::test_two"]},
        "b": {"what": "swap", "file": "y.py", "caught": False, "failing_tests": []},
        "c": {"what": "moved", "error": "x.py holds the planted line 0 times, not once"}}}
    text = planted_bugs_section(res)
    assert "| leak | `x.py` | yes | `test_one`, `test_two` |" in text
    assert "| swap | `y.py` | NO |  |" in text
    assert "| moved | `-` | error: x.py holds the planted line 0 times, not once |  |" in text
