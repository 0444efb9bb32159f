"""The training splits carry the source folder of each painting (what --balance-sources balances)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from engine.train.data import load_train_data


def test_splits_carry_each_paintings_source_and_subsets_keep_them(tmp_path):
    rows = [(f"images/{k}.jpg", f"artist {k % 4}", "val" if k % 4 == 3 or k % 4 == 2 else "train",
             f"/data/{'artdata' if k % 2 else 'wikiart'}/train/{k}.jpg") for k in range(12)]
    pd.DataFrame(rows, columns=["path", "artist", "split", "source"]).to_csv(tmp_path / "manifest.csv", index=False)
    data = load_train_data(tmp_path)
    assert data.train.sources == ["artdata" if int(p.split("/")[-1][:-4]) % 2 else "wikiart" for p in data.train.paths]
    sub = data.train.subset(np.array([True, False] * (len(data.train) // 2)))
    assert sub.sources == data.train.sources[::2]
