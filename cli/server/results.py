"""`ResultStore`: answers to uploads, kept in memory under a random id while the server runs.

An uploaded image never goes into a URL: the page puts the result's id there instead (`?result=ID`),
so Back, Forward and a copied link show the same answer for as long as this server process lives.
The newest `capacity` results are kept (older ones expire first); ids are unguessable (128 bits).
"""

from __future__ import annotations

import secrets
import threading
from collections import OrderedDict

from cli.server.errors import ApiError

CAPACITY = 500


class ResultStore:
    def __init__(self, capacity: int = CAPACITY) -> None:
        self.capacity = capacity
        self._items: OrderedDict[str, dict] = OrderedDict()
        self._lock = threading.Lock()

    def add(self, answer: dict, images: dict[str, bytes]) -> str:
        """Keep `answer` (JSON) and its images (JPEG bytes by name); returns the new result id."""
        result_id = secrets.token_urlsafe(16)
        with self._lock:
            self._items[result_id] = {"answer": answer, "images": images}
            while len(self._items) > self.capacity:
                self._items.popitem(last=False)
        return result_id

    def answer(self, result_id: str) -> dict:
        return self._get(result_id)["answer"]

    def image(self, result_id: str, name: str) -> bytes:
        image = self._get(result_id)["images"].get(name)
        if image is None:
            raise ApiError(404, f"result {result_id} has no image {name!r}")
        return image

    def _get(self, result_id: str) -> dict:
        with self._lock:
            item = self._items.get(result_id)
        if item is None:
            raise ApiError(404, "this result is no longer kept (the server restarted or it is one of too many old ones); "
                                "search again")
        return item
