"""The mutation report's arithmetic: equivalent mutants leave the denominator, stale entries are named."""

from __future__ import annotations

from benchmarks.mutation import changed_lines, score_row
from benchmarks.report_sections import mutation_section

STATUS = {"engine.a.x_f__mutmut_1": "survived", "engine.a.x_f__mutmut_2": "survived", "engine.a.x_f__mutmut_3": "killed"}
LISTED = {"engine.a.x_f__mutmut_1": "a label never read", "engine.a.x_f__mutmut_3": "was thought equivalent",
          "engine.a.x_g__mutmut_9": "gone", "engine.ab.x_f__mutmut_1": "another module"}


def test_score_leaves_equivalent_mutants_out_of_the_denominator_and_names_stale_entries():
    row = score_row("engine/a.py", {"killed": 7, "survived": 2, "timeout": 1}, STATUS,
                    {"engine.a.x_f__mutmut_1": ["- x = 1", "+ x = 2"]}, LISTED)
    assert (row["killed"], row["total"]) == (8, 10)
    assert row["score"] == round(8 / 9, 4)
    assert row["equivalent"] == {"engine.a.x_f__mutmut_1": {"reason": "a label never read", "change": ["- x = 1", "+ x = 2"]}}
    assert row["survivors"] == [{"name": "engine.a.x_f__mutmut_2", "change": []}]
    assert row["stale_equivalent"] == ["engine.a.x_f__mutmut_3", "engine.a.x_g__mutmut_9"]


def test_changed_lines_keep_only_the_edited_source():
    diff = "--- a/x.py\n+++ b/x.py\n@@ -1 +1 @@\n-    return a / b\n+    return a * b\n \n"
    assert changed_lines(diff) == ["- return a / b", "+ return a * b"]


def test_section_shows_killed_total_equivalent_with_reasons_and_the_score():
    row = {"tests": ["tests/t.py"], **score_row("engine/a.py", {"killed": 7, "timeout": 1, "survived": 2}, STATUS,
                                                {"engine.a.x_f__mutmut_1": ["- x = 1", "+ x = 2"]}, LISTED)}
    text = mutation_section({"modules": {"engine/a.py": row}})
    assert "| `engine/a.py` | `tests/t.py` | 8 / 10 | 1 | 1 | 88.9% | NO | 1 |" in text
    assert "- `x_f__mutmut_1`: `x = 1` -> `x = 2`: a label never read" in text
    assert "`engine.a.x_g__mutmut_9`" in text


def test_section_names_the_modules_not_measured_yet():
    from benchmarks.mutation import MODULES

    some = sorted(MODULES)[0]
    row = {"tests": ["tests/t.py"], **score_row(some, {"killed": 1, "survived": 0}, {}, {}, {})}
    text = mutation_section({"modules": {some: row}})
    assert "Not measured yet (no row above): " + ", ".join(f"`{m}`" for m in sorted(MODULES)[1:]) + "." in text


def test_rescore_moves_a_newly_listed_survivor_out_of_the_denominator():
    from benchmarks.mutation import rescore

    row = {"tests": ["tests/t.py"], **score_row("engine/a.py", {"killed": 7, "survived": 2, "timeout": 1}, STATUS,
                                                {"engine.a.x_f__mutmut_2": ["- y", "+ z"]}, {})}
    assert row["score"] == 0.8 and len(row["survivors"]) == 2
    again = rescore("engine/a.py", row, {"engine.a.x_f__mutmut_2": "now known equivalent"})
    assert (again["killed"], again["total"], again["score"]) == (8, 10, round(8 / 9, 4))
    assert again["equivalent"] == {"engine.a.x_f__mutmut_2": {"reason": "now known equivalent", "change": ["- y", "+ z"]}}
    assert [s["name"] for s in again["survivors"]] == ["engine.a.x_f__mutmut_1"] and again["stale_equivalent"] == []
    assert rescore("engine/a.py", again, {}) == {**row, "no_tests": again["no_tests"]}
