"""`?explain=1` of /api/verify and /api/query: engine.inference.explain's maps as small grids of numbers,
and each drawing as a PNG data URL (no state kept on the server)."""

from __future__ import annotations

import base64

from cli.server.errors import ApiError, image_error
from engine.base.errors import EngineError, ImageLoadError
from engine.data.imageio import decode_rgb
from engine.inference.explain import Explanation, explain_images, load_image
from engine.inference.explain_image import explanation_png
from indexer.explain_matches import EXPLAINED_MATCHES


def explanation_json(explanation: Explanation, labels: tuple[str, str]) -> dict:
    """{"method", "similarity", "maps": [grid of a, grid of b], "png": "data:image/png;base64,..."}."""
    png = base64.b64encode(explanation_png(explanation, labels=labels)).decode("ascii")
    return {**explanation.to_dict(), "png": f"data:image/png;base64,{png}"}


def decoded(data: bytes, field: str, max_pixels: int):
    try:
        return decode_rgb(data, max_pixels=max_pixels)
    except ImageLoadError as exc:
        raise image_error(field, exc) from None


def explain_uploads(lm, a: bytes, b: bytes, *, max_pixels: int) -> dict:
    """The explanation of two uploads."""
    return explanation_json(explain_images(lm, decoded(a, "a", max_pixels), decoded(b, "b", max_pixels)), ("a", "b"))


def explain_query_matches(lm, data: bytes, result: dict, *, max_pixels: int, top: int = EXPLAINED_MATCHES,
                          file_of=lambda match: match["path"]) -> None:
    """Add "explained": [{"rank", "id", ...explanation_json}] (the top matches) to each result of a query answer;
    `file_of(match)`: the match's file on this machine (the answer shows paths relative to the indexed folder)."""
    query = decoded(data, "image", max_pixels)
    for item in result["results"]:
        explained = []
        for rank, match in enumerate(item["matches"][:top], 1):
            try:
                explanation = explain_images(lm, query, load_image(lm, file_of(match)))
            except EngineError as exc:
                raise ApiError(422, f"cannot explain match {rank} (painting {match.get('id')}): {exc}") from None
            explained.append({"rank": rank, "id": match.get("id"), **explanation_json(explanation, ("query", f"match {rank}"))})
        item["explained"] = explained

