"""query_images: a calibrated probability per likely artist and an `unknown` per result."""

from __future__ import annotations

import shutil

import pytest

from engine.calibrate.attribution import AttributionCalibration
from engine.model.checkpoint import read_checkpoint, update_calibration
from indexer.pipeline import index_folder
from indexer.search import query_images
from indexer_kit import CALIBRATION

NO_COPIES = 0.9999  # the untrained test model puts distinct paintings of one colour above the default duplicate cosine


def _by_hand(w_best: float, w_vote: float, bias: float) -> tuple[dict[str, float], float]:
    """engine.calibrate.attribution's documented rule for matches [A 0.9, B 0.85, B 0.84]:
    best_A = 0.9, best_B = 0.85; votes 0.9 and 1.69 of 2.59; z = w_best best + w_vote vote + bias;
    P(a) = exp(z_a) / (1 + sum exp z), P(unknown) = 1 / (1 + sum exp z)."""
    import math

    z_a = w_best * 0.9 + w_vote * 0.9 / 2.59 + bias
    z_b = w_best * 0.85 + w_vote * 1.69 / 2.59 + bias
    norm = 1 + math.exp(z_a) + math.exp(z_b)
    return {"A": math.exp(z_a) / norm, "B": math.exp(z_b) / norm}, 1 / norm


MATCHES = [{"path": "/a/1.jpg", "artist": "A", "similarity": 0.9}, {"path": "/b/1.jpg", "artist": "B", "similarity": 0.85},
           {"path": "/b/2.jpg", "artist": "B", "similarity": 0.84}]


def test_probabilities_are_attached_to_artists_by_name():
    """B wins the vote while A holds the nearest painting (first seen) and the higher probability: each
    probability must follow its artist, not the position, and the list follows the probability."""
    from indexer.search import rank_artists, with_probabilities

    cal = AttributionCalibration(w_best=20.0, w_vote=1.0, bias=-15.0, k=10)
    expected, unknown = _by_hand(20.0, 1.0, -15.0)
    assert abs(expected["A"] - expected["B"]) > 0.1  # a swap would show
    assert [r["artist"] for r in rank_artists(MATCHES)] == ["B", "A"]  # by vote
    ranked, got_unknown = with_probabilities(rank_artists(MATCHES), MATCHES, cal)
    assert expected["A"] > expected["B"] and [r["artist"] for r in ranked] == ["A", "B"]  # by probability
    assert {r["artist"]: r["probability"] for r in ranked} == pytest.approx(expected, abs=1e-6)
    assert got_unknown == pytest.approx(unknown, abs=1e-6)


def test_query_answer_attaches_probabilities_by_name():
    """The same through one result of the query answer (catalog rows stand in as views)."""
    from types import SimpleNamespace

    import numpy as np

    from indexer.search import _result

    cal = AttributionCalibration(w_best=20.0, w_vote=1.0, bias=-15.0, k=10)
    views = {i: SimpleNamespace(path=m["path"], artist=m["artist"]) for i, m in enumerate(MATCHES, start=7)}
    result = _result("q.jpg", np.array([0.9, 0.85, 0.84]), np.array([7, 8, 9]), views, attribution=cal, duplicate_threshold=0.99)
    expected, unknown = _by_hand(20.0, 1.0, -15.0)
    assert [r["artist"] for r in result["artists"]] == ["A", "B"]  # by probability, though B has the larger vote
    assert result["artists"][1]["vote"] > result["artists"][0]["vote"]
    assert {r["artist"]: r["probability"] for r in result["artists"]} == pytest.approx(expected, abs=1e-6)
    assert result["unknown"] == pytest.approx(unknown, abs=1e-6)


def test_vote_scores_by_hand_ties_by_name_and_six_places():
    from indexer.search import rank_artists

    matches = [{"artist": "Zed", "similarity": 0.5}, {"artist": "Amy", "similarity": 0.25}, {"artist": "", "similarity": 0.9},
               {"artist": "Amy", "similarity": 0.25}, {"artist": "Max", "similarity": 0.5}]
    # votes: Zed 0.5, Amy 0.5, Max 0.5 of 1.5 (the unlabelled match takes no part): a three-way tie, by name
    assert rank_artists(matches) == [{"artist": "Amy", "vote": 0.333333, "score": 0.333333}, {"artist": "Max", "vote": 0.333333, "score": 0.333333},
                                     {"artist": "Zed", "vote": 0.333333, "score": 0.333333}]
    lopsided = [{"artist": "B", "similarity": 0.2}, {"artist": "A", "similarity": 0.1}, {"artist": "B", "similarity": 0.4}]
    assert rank_artists(lopsided) == [{"artist": "B", "vote": round(0.6 / 0.7, 6), "score": round(0.6 / 0.7, 6)}, {"artist": "A", "vote": round(0.1 / 0.7, 6), "score": round(0.1 / 0.7, 6)}]
    negative = [{"artist": "B", "similarity": -0.2}, {"artist": "A", "similarity": 0.0}]
    assert rank_artists(negative) == [{"artist": "A", "vote": 0.0, "score": 0.0}, {"artist": "B", "vote": 0.0, "score": 0.0}]
    assert rank_artists([]) == [] and rank_artists([{"artist": None, "similarity": 0.9}]) == []


def test_without_a_calibration_every_probability_and_the_unknown_are_null():
    from indexer.search import rank_artists, with_probabilities

    ranked, unknown = with_probabilities(rank_artists(MATCHES), MATCHES, None)
    assert ranked == [{"artist": "B", "vote": round(1.69 / 2.59, 6), "score": round(1.69 / 2.59, 6), "probability": None},
                      {"artist": "A", "vote": round(0.9 / 2.59, 6), "score": round(0.9 / 2.59, 6), "probability": None}] and unknown is None


def test_an_artist_beyond_the_calibrations_k_gets_probability_zero_rounded_to_six_places():
    import math

    from indexer.search import rank_artists, with_probabilities

    matches = [{"artist": "A", "similarity": 0.8}, {"artist": "C", "similarity": 0.7}]
    cal = AttributionCalibration(w_best=3.0, w_vote=2.0, bias=-1.0, k=1)  # only the first match feeds the rule
    ranked, unknown = with_probabilities(rank_artists(matches), matches, cal)
    z = 3.0 * 0.8 + 2.0 * 1.0 - 1.0  # A: best 0.8, the whole vote of the one match seen
    assert ranked == [{"artist": "A", "vote": round(0.8 / 1.5, 6), "score": round(0.8 / 1.5, 6), "probability": round(math.exp(z) / (1 + math.exp(z)), 6)},
                      {"artist": "C", "vote": round(0.7 / 1.5, 6), "score": round(0.7 / 1.5, 6), "probability": 0.0}]
    assert unknown == round(1 / (1 + math.exp(z)), 6)


def test_a_result_skips_empty_slots_and_rows_gone_and_rounds_similarities():
    from types import SimpleNamespace

    import numpy as np

    from indexer.search import _result

    views = {3: SimpleNamespace(path="/x/3.jpg", artist="A"), 5: SimpleNamespace(path="/x/5.jpg", artist=None)}
    sims, ids = np.array([0.91234567, 0.5, 0.4, 0.3]), np.array([3, 4, 5, -1])  # 4: deleted meanwhile; -1: no neighbour
    result = _result("q.jpg", sims, ids, views, with_ids=True, duplicate_threshold=0.95)
    assert result == {"query": "q.jpg", "in_collection": None,
                      "matches": [{"path": "/x/3.jpg", "artist": "A", "similarity": 0.912346, "duplicate": False, "id": 3},
                                  {"path": "/x/5.jpg", "artist": None, "similarity": 0.4, "duplicate": False, "id": 5}],
                      "artists": [{"artist": "A", "vote": 1.0, "score": 1.0, "probability": None}], "unknown": None,
                      "likeliest": {"artist": "A", "probability": None}}  # no calibration: the top vote, no probability
    assert "id" not in _result("q.jpg", sims, ids, views)["matches"][0]




def test_likeliest_by_hand():
    from indexer.search import likeliest

    two = [{"artist": "A", "probability": 0.4}, {"artist": "B", "probability": 0.3}]
    assert likeliest(two, 0.2) == {"artist": "A", "probability": 0.4}
    assert likeliest(two, 0.4) == {"artist": None, "probability": 0.4}  # a tie: "none of them" comes first
    assert likeliest(two, 0.5) == {"artist": None, "probability": 0.5}
    assert likeliest([], 0.9) == {"artist": None, "probability": 0.9}
    assert likeliest(two, None) == {"artist": "A", "probability": 0.4}
    assert likeliest([{"artist": "A", "probability": None}], None) == {"artist": "A", "probability": None}
    assert likeliest([], None) == {"artist": None, "probability": None}


class _FixedAttribution:
    """A stand-in calibration: the probabilities it is given, whatever the matches."""

    def __init__(self, named: dict, unknown: float):
        self.named, self.unknown = named, unknown

    def probabilities(self, similarities, artists):
        return self.named, self.unknown


def test_equal_probabilities_rank_by_vote_then_name():
    from indexer.search import with_probabilities

    ranked = [{"artist": "B", "vote": 0.6, "score": 0.6}, {"artist": "A", "vote": 0.4, "score": 0.4},
              {"artist": "C", "vote": 0.4, "score": 0.4}]
    rows, unknown = with_probabilities(ranked, [], _FixedAttribution({"A": 0.3, "B": 0.3, "C": 0.3}, 0.1))
    assert [r["artist"] for r in rows] == ["B", "A", "C"] and unknown == 0.1


def test_a_result_whose_unknown_is_largest_names_no_artist_first():
    from types import SimpleNamespace

    import numpy as np

    from indexer.search import _result

    views = {0: SimpleNamespace(path="/x/0.jpg", artist="A")}  # id 0 is a real slot (-1 is FAISS's empty one)
    result = _result("q.jpg", np.array([0.5]), np.array([0]), views, attribution=_FixedAttribution({"A": 0.2}, 0.7))
    assert [m["path"] for m in result["matches"]] == ["/x/0.jpg"]
    assert result["artists"] == [{"artist": "A", "vote": 1.0, "score": 1.0, "probability": 0.2}] and result["unknown"] == 0.7
    assert result["likeliest"] == {"artist": None, "probability": 0.7}

@pytest.fixture
def indexed(art, home, tiny_model):
    index_folder(art, home=home, model=tiny_model)
    return art, home, tiny_model


def _check_rule(result, cal: AttributionCalibration):
    named, unknown = cal.probabilities([m["similarity"] for m in result["matches"]], [m["artist"] for m in result["matches"]])
    assert result["unknown"] == pytest.approx(unknown, abs=1e-6)
    for row in result["artists"]:
        assert set(row) == {"artist", "vote", "score", "probability"}
        assert row["probability"] == pytest.approx(named.get(row["artist"], 0.0), abs=1e-6)  # 0 beyond the first k
    assert sum(r["probability"] for r in result["artists"]) + result["unknown"] == pytest.approx(1.0, abs=1e-5)


def test_model_without_attribution_calibration_keeps_todays_answer_with_nulls(indexed):
    art, home, model = indexed
    assert read_checkpoint(model).get("attribution") is None  # as every model saved before open-set attribution
    (result,) = query_images([art / "Ann Red" / "1.jpg"], home=home, model=model, k=5, duplicate_threshold=NO_COPIES)["results"]
    assert result["unknown"] is None and result["artists"]
    assert all(r["probability"] is None and r["score"] >= 0 for r in result["artists"])


def test_stored_attribution_calibration_is_used(indexed, tmp_path):
    art, home, model = indexed
    copy = tmp_path / "calibrated" / "model.pt"
    copy.parent.mkdir()
    shutil.copy(model, copy)
    cal = AttributionCalibration(w_best=4.0, w_vote=3.0, bias=-6.0, k=4)
    update_calibration(copy, threshold=0.6, calibration=CALIBRATION, attribution=cal.to_dict())
    (result,) = query_images([art / "Bob Green" / "2.jpg"], home=home, model=copy, k=6, duplicate_threshold=NO_COPIES)["results"]
    _check_rule(result, cal)  # only the first k=4 of the 6 matches feed the rule
    assert len(result["matches"]) == 6
