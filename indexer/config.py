"""`IndexConfig`: every knob of `engine index` / `engine query` in one frozen dataclass.

The resolved config is saved next to the index (`HOME/index.json`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from engine.base.config import require


@dataclass(frozen=True)
class IndexConfig:
    # The forward pass: None for all three measures the fastest plan (engine.inference.forward_plan); setting any fixes it.
    batch_size: int | None = None  # images per forward pass
    streams: int | None = None  # forward passes at once (threads sharing the model)
    torch_threads: int | None = None  # intra-op threads per forward pass
    num_workers: int | None = None  # DataLoader decoding workers; None: embed_paths decides
    commit_every: int = 1024  # images embedded per catalog transaction (the most a crash can lose; each starts a DataLoader)
    save_every_s: float = 120.0  # seconds between index checkpoints during a long run
    approx_threshold: int = 200_000  # at or above this many vectors, an approximate (IVF) index is built
    nprobe: int = 32  # IVF lists probed per (unfiltered) query
    recall_queries: int = 200  # sample of queries for recall@10 of the approximate index
    reindex: bool = False  # forget vectors of another model and index afresh
    verify_sample: int = 64  # vectors spot-checked against the catalog each time the index is loaded
    measure_forward_s: float = 0.0  # > 0: after embedding, time the bare forward pass this long (the compute limit)
    cluster: str | None = None  # None: this process; "ray": a local Ray; "auto" or "ray://HOST:PORT": join one (indexer.ray_embed)
    cluster_cpus: int | None = None  # --cluster ray: CPUs of the local Ray; None: this machine's cores

    def __post_init__(self) -> None:
        at_least_one = ("batch_size", "streams", "torch_threads", "commit_every", "approx_threshold", "nprobe", "recall_queries",
                        "cluster_cpus")
        require([
            *((getattr(self, name) is None or getattr(self, name) >= 1, f"{name} must be >= 1, got {getattr(self, name)}")
              for name in at_least_one),
            (self.num_workers is None or self.num_workers >= 0, f"num_workers must be >= 0, got {self.num_workers}"),
            (self.cluster in (None, "ray", "auto") or str(self.cluster).startswith("ray://"),
             f"--cluster must be ray, auto or ray://HOST:PORT, got {self.cluster!r}"),
        ])

    def to_dict(self) -> dict:
        return asdict(self)
