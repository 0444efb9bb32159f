"""`PixelBudget`: decoding is bounded by the pixels in flight, not by a count of requests.

A request learns what its uploads will cost from their headers alone (engine.data.imageio.decoded_pixels:
a JPEG counts at its draft size, a PNG at its full size) and holds that many pixels of the budget while
its work runs. Small images pass while a large one waits for room (no first-come order: a queue of large
uploads cannot hold up ordinary queries); the wait holds no thread, only the event loop's bookkeeping.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator


class PixelBudget:
    """At most `capacity` pixels held at once, over all requests of one event loop."""

    def __init__(self, capacity: int) -> None:
        if capacity < 1:
            raise ValueError(f"a pixel budget needs a positive capacity, not {capacity}")
        self.capacity = capacity
        self.in_use = 0
        self._room: asyncio.Condition | None = None  # made in the serving loop, on first use

    @contextlib.asynccontextmanager
    async def hold(self, pixels: int) -> AsyncIterator[None]:
        """Wait until `pixels` (at most the capacity) fit beside those held, hold them for the block."""
        pixels = max(0, min(int(pixels), self.capacity))
        if pixels == 0:
            yield
            return
        room = self._room = self._room or asyncio.Condition()
        async with room:
            await room.wait_for(lambda: self.in_use + pixels <= self.capacity)
            self.in_use += pixels
        try:
            yield
        finally:
            self.in_use -= pixels  # first: one event loop, no lock needed, and right even if the notify is cancelled
            async with room:
                room.notify_all()
