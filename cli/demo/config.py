"""`DemoConfig`: the size and recipe of `engine demo` (a light module: the CLI imports it for defaults)."""

from __future__ import annotations

from dataclasses import dataclass

from engine.base.config import require


@dataclass(frozen=True)
class DemoConfig:
    """Sized so the synthetic demo ends in ~2-3 minutes on 2 CPU cores (first model load included)."""

    artists: int = 24  # synthetic gallery
    per_artist: int = 30
    image_size: int = 160
    seed: int = 0
    backbone: str = "efficientnet_lite0"
    epochs: int = 15
    views: int = 1  # cached trunk views per training image (frozen mode); 2 measured no better here
    val_fraction: float = 0.15
    test_fraction: float = 0.2
    max_per_artist: int | None = 40  # user data only: cap per artist to keep the demo short; None: all
    pairs: int = 2000
    k: int = 5
    index: str = "held_out"  # "held_out": index the test artists only (quick); "all": every prepared image

    def validate(self) -> "DemoConfig":
        checks = [
            (self.index in ("held_out", "all"), f"unknown demo index choice {self.index!r}; use held_out or all"),
            (self.artists >= 8, f"the demo needs at least 8 synthetic artists (train, val and test), got {self.artists}"),
            (self.per_artist >= 4, f"the demo needs at least 4 paintings per synthetic artist, got {self.per_artist}"),
            (self.epochs >= 1, f"--epochs must be >= 1, got {self.epochs}"),
            (self.max_per_artist is None or self.max_per_artist >= 4, "--max-per-artist must be >= 4 (or unset)"),
            (self.k >= 1, f"-k must be >= 1, got {self.k}"),
        ]
        require(checks)
        return self
