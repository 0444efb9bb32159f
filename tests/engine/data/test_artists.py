"""Artist identity: one key per painter whatever the case, accents and spacing; a stable display name."""

from engine.data.artists import artist_key, display_names, merged_spellings


def test_case_accents_and_spacing_do_not_make_two_painters():
    spellings = ["Albrecht Dürer", "albrecht durer", "ALBRECHT  DÜRER", " Albrecht_Durer ", "Albrecht-Du\u0308rer", "Albrecht\tDurer"]
    assert {artist_key(s) for s in spellings} == {"albrechtdurer"}
    assert artist_key("Claude Monet") != artist_key("Claude Manet")
    assert artist_key("Straße") == artist_key("STRASSE")  # case folding, not just lower()


def test_display_name_comes_from_the_first_collection_that_names_the_painter():
    first = ["Albrecht Dürer", "Albrecht Dürer", "albrecht durer", "Ann Red"]
    second = ["ALBRECHT DURER"] * 5 + ["ann red", "Bob Green"]
    mapping = display_names([first, second])
    assert mapping == {"Albrecht Dürer": "Albrecht Dürer", "albrecht durer": "Albrecht Dürer", "ALBRECHT DURER": "Albrecht Dürer",
                       "Ann Red": "Ann Red", "ann red": "Ann Red", "Bob Green": "Bob Green"}
    assert display_names([second, first])["Albrecht Dürer"] == "ALBRECHT DURER"  # order given decides
    assert display_names([["b x", "B X"]])["b x"] == "B X"  # a tie goes to the alphabetically first
    assert merged_spellings(mapping) == {"Albrecht Dürer": ["ALBRECHT DURER", "albrecht durer"], "Ann Red": ["ann red"]}
