"""What a model was trained on: the prepared dataset's painters, paintings, collections and fingerprint.

`engine train` stores `training_provenance(DATA_DIR)` in model.pt as "trained_on", so every model says
whether it learnt from generated paintings (`engine demo`) or real ones, from how many painters of
which collections, and which exact data (the fingerprint: sha256 over the manifest's sorted
(sha256, artist, split) rows, so it does not depend on where the files lie).

A folder of generated paintings holds SYNTHETIC_MARKER (engine.synthetic.gallery writes it); a file is
"synthetic" when one of its folders holds it.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pandas as pd

from engine.data.manifest import REPORT_NAME, read_manifest

SYNTHETIC_MARKER = ".engine-synthetic"  # in a folder of generated paintings (engine.synthetic.gallery, engine demo)


def data_fingerprint(frame: pd.DataFrame) -> str:
    """sha256 over the sorted (sha256, artist, split) rows of a manifest."""
    rows = sorted(zip(frame["sha256"].astype(str), frame["artist"].astype(str), frame["split"].astype(str)))
    digest = hashlib.sha256()
    for row in rows:
        digest.update(("|".join(row) + "\n").encode("utf-8"))
    return digest.hexdigest()


def training_provenance(data_dir: str | Path) -> dict:
    """{"fingerprint", "painters", "paintings", "synthetic", "collections": [{"name", "painters", "paintings"}]}
    of a prepared dataset (its train and val splits: what training sees)."""
    data_dir = Path(data_dir)
    frame = read_manifest(data_dir)
    used = frame[frame["split"].isin(["train", "val"])]
    roots = _collection_roots(data_dir)
    collections = []
    for root in roots:
        mine = used[[_under(s, root) for s in used["source"]]] if "source" in used.columns else used.iloc[:0]
        collections.append({"name": _collection_name(root), "painters": int(mine["artist"].nunique()),
                            "paintings": int(len(mine)), "synthetic": is_synthetic(root)})
    return {
        "fingerprint": data_fingerprint(frame),
        "painters": int(used["artist"].nunique()),
        "paintings": int(len(used)),
        "synthetic": bool(collections) and all(c["synthetic"] for c in collections),
        "collections": collections,
    }


def mark_synthetic(folder: str | Path) -> None:
    """Mark `folder` as holding generated paintings (every file under it is then synthetic)."""
    (Path(folder) / SYNTHETIC_MARKER).write_text("generated paintings (artwork-engine)\n", encoding="utf-8")


def is_synthetic(path: str | Path) -> bool:
    """True when `path` or one of its folders holds SYNTHETIC_MARKER (a generated gallery)."""
    path = Path(path).expanduser().absolute()
    folders = [path] if path.is_dir() else []
    return any(_holds_marker(str(folder)) for folder in folders + list(path.parents))


def _holds_marker(folder: str) -> bool:
    return (Path(folder) / SYNTHETIC_MARKER).is_file()


def _collection_roots(data_dir: Path) -> list[str]:
    try:
        report = json.loads((data_dir / REPORT_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    listed = report.get("collections") or ([{"source": report["source"]}] if report.get("source") else [])
    return [str(c["source"]) for c in listed if isinstance(c, dict) and c.get("source")]


def _under(source: str, root: str) -> bool:
    return str(Path(source)).startswith(str(Path(root)) + "/")


def _collection_name(root: str) -> str:
    """`.../shared/artdata/train` -> "artdata/train": the folder and its parent, enough to tell collections apart."""
    parts = Path(root).resolve().parts
    return "/".join(parts[-2:]) if len(parts) >= 2 else str(root)
