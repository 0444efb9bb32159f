"""`engine prepare`: clean, normalise, de-duplicate and split a raw collection artist-disjointly."""
