"""`engine query --explain DIR`: for each query, a PNG per top match of which regions carry their similarity
(engine.inference.explain), written as DIR/<n>-<query name>-match-<rank>.png."""

from __future__ import annotations

import os
from pathlib import Path

from engine.base.errors import EngineError
from engine.inference.explain import explain_paths
from engine.inference.explain_image import write_explanation_png
from engine.model.checkpoint import LoadedModel

EXPLAINED_MATCHES = 3  # top matches explained per query


def explain_matches(lm: LoadedModel, result: dict, out_dir: str | os.PathLike[str], *, top: int = EXPLAINED_MATCHES) -> dict:
    """Add "explained": [{"rank", "path", "png", "method", "similarity", "maps"}] to each result of a query answer."""
    folder = Path(out_dir)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise EngineError(f"cannot create --explain folder {folder} ({exc.strerror}); pass a writable folder") from None
    for n, item in enumerate(result["results"], 1):
        explained = []
        for rank, match in enumerate(item["matches"][:top], 1):
            png = folder / f"{n}-{Path(item['query']).stem}-match-{rank}.png"
            explanation = explain_paths(lm, item["query"], match["path"])
            write_explanation_png(explanation, png, labels=(Path(item["query"]).name, f"#{rank} {Path(match['path']).name}"))
            explained.append({"rank": rank, "path": match["path"], "png": str(png), **explanation.to_dict()})
        item["explained"] = explained
    return result
