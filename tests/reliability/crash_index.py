"""Crash trials for `engine index`: SIGKILL at a random moment, re-run, audit. Run as a script.

    python tests/reliability/crash_index.py --work DIR --model MODEL.pt --trials 20 --seed 0 --budget-s 80
        [--db-server postgresql+psycopg://postgres@127.0.0.1:PORT/postgres]

Trials alternate between a fresh home (first index of a folder) and an update of the previous
home (new, changed and deleted files, `prune`), with random commit sizes, index save intervals and
DataLoader workers. After every kill the home is audited as the crash left it (SQLite integrity,
index file readable), then `index_folder` is re-run to completion and the home must hold exactly
the folder's files, with catalog and index agreeing (our audit and the indexer's `--check`).
With `--db-server`, every fresh home indexes into a new database on that PostgreSQL server (`--db`),
audited with the bare driver; the databases are dropped at the end.
Prints one JSON summary on stdout.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "kits"))

from catalog_audit import audit_home  # noqa: E402
from forking import arm_kill_point, reap_group, run_and_kill, run_to_end  # noqa: E402
from hostile import _save, noise_image  # noqa: E402

LOCK_MESSAGE = "another `engine index` is running"


@dataclass
class Trial:
    kind: str
    delay_s: float
    config: dict
    kill_point: str = ""
    killed: bool = False
    after_kill: dict = field(default_factory=dict)
    rerun: str = ""
    lock_waits: int = 0
    expected: int = 0
    indexed: int = 0
    lost: int = 0
    extra: int = 0
    consistent: bool = False
    check_consistent: bool = False
    temp_files: int = 0
    error: str = ""


class Folder:
    """An image folder whose expected content the harness tracks."""

    def __init__(self, root: Path, rng: random.Random) -> None:
        self.root, self.rng, self.next_seed = root, rng, rng.randrange(10**6)
        root.mkdir(parents=True)

    def add(self, n: int) -> None:
        for _ in range(n):
            self.next_seed += 1
            _save(self.root / f"img {self.next_seed}.jpg", noise_image((40, 36), seed=self.next_seed), "JPEG")

    def mutate(self) -> None:
        """Add 3 files, delete 1, move 1, rewrite 1 in place (new content under an indexed path)."""
        files = sorted(self.root.glob("*.jpg"))
        for path in self.rng.sample(files, 1):
            path.unlink()
        self.next_seed += 1
        moved = self.rng.choice(sorted(self.root.glob("*.jpg")))
        moved.rename(self.root / f"moved {self.next_seed}.jpg")
        self.next_seed += 1
        rewrite = self.rng.choice(sorted(self.root.glob("*.jpg")))
        _save(rewrite, noise_image((40, 36), seed=10**7 + self.next_seed), "JPEG")
        self.add(3)

    def expected(self) -> set[str]:
        return {str(p.resolve()) for p in self.root.glob("*.jpg")}


# (module[:object], attribute, call number, when): SIGKILL the indexer itself right before/after
# that call. Even entries run on a fresh home, odd ones on an update of it (alternating trials).
ADD = ("db.store:CatalogStore", "add_paintings")
REPLACE = ("engine.base.atomic:os", "replace")  # the index file's atomic rename (temp written + fsynced)
RECORD = ("indexer.writer:", "write_record")  # index.json written after the index file
KILL_POINTS = [
    (*ADD, 1, "after"), ("db.store:CatalogStore", "delete", 1, "after"),  # committed, index not yet saved
    (*ADD, 2, "before"), ("db.store:CatalogStore", "move", 1, "after"),
    (*REPLACE, 1, "before"), (*ADD, 1, "after"),
    (*RECORD, 1, "before"), (*REPLACE, 1, "before"),
]


FAST_MODEL: list = []  # [LoadedModel] preloaded in the parent by `preload_fast_model`


def preload_fast_model(path: Path) -> None:
    """Load model.pt once (for real) and swap its network for `tiny_model.CheapNet`.

    The crash trials test the indexer's writes, not convolutions: with the real trunk a run costs
    seconds of CPU, with this one milliseconds, so 20 kills fit in the time budget. The parent
    loads with one torch thread so that no OpenMP pool exists when it forks (a forked child would hang).
    """
    import torch

    from tiny_model import load_fast

    torch.set_num_threads(1)
    FAST_MODEL.append(load_fast(path, device="cpu"))


def index_job(folder: Path, home: Path, model: Path, config: dict, *, db: str | None = None, check: bool = False,
              kill_point=None):
    def job():
        import indexer.pipeline as pipeline
        from indexer.config import IndexConfig
        from indexer.pipeline import index_folder

        if FAST_MODEL:
            pipeline.load_model = lambda *args, **kwargs: FAST_MODEL[0]
        if kill_point:
            arm_kill_point(*kill_point)
        return index_folder(folder, home=home, db=db, model=model, prune=True, check=check, config=IndexConfig(**config))

    return job


def rerun(folder: Path, home: Path, model: Path, config: dict, scratch: Path, trial: Trial, db: str | None) -> dict | None:
    """Re-run to completion (waiting while a killed run's orphaned workers still hold the lock), then --check."""
    for _ in range(60):
        outcome = run_to_end(index_job(folder, home, model, config, db=db), scratch / "rerun.json", timeout_s=120)
        if outcome.status == "error" and LOCK_MESSAGE in outcome.error:
            trial.lock_waits += 1
            time.sleep(0.25)
            continue
        break
    trial.rerun = outcome.status
    if outcome.status != "ok":
        trial.error = outcome.error[-2000:]
        return None
    check = run_to_end(index_job(folder, home, model, config, db=db, check=True), scratch / "check.json", timeout_s=120)
    if check.status != "ok":
        trial.error = check.error[-2000:]
        return None
    return check.result


def random_config(rng: random.Random) -> dict:
    return {
        "batch_size": 2,
        "commit_every": rng.choice([2, 4, 64]),
        "save_every_s": rng.choice([0.0, 120.0]),
        "num_workers": rng.choice([0, 0, 1]),
    }


def audit_after_kill(home: Path, db: str | None) -> dict:
    audit = audit_home(home, db_url=db)
    return {"integrity": audit.integrity, "index_file": audit.index_file, "rows": audit.rows,
            "index_vectors": len(audit.index_ids), "temp_files": len(audit.temp_files)}


def run_trial(i: int, args, rng: random.Random, state: dict, typical_s: float) -> Trial:
    kill_point = KILL_POINTS[i] if i < min(len(KILL_POINTS), args.kill_point_trials) else None
    kind = "fresh" if i % 2 == 0 or "folder" not in state else "update"
    if kind == "fresh":
        home, folder = args.work / f"home{i}", Folder(args.work / f"folder{i}", rng)
        folder.add(args.images)
        state.update(home=home, folder=folder, db=new_database(args))
    else:
        home, folder = state["home"], state["folder"]
        folder.mutate()
    db = state["db"]
    config = random_config(rng)
    if kill_point:  # several batches and an index save after each, so every point is reached
        config.update(commit_every=2, save_every_s=0.0)
    delay = typical_s * 3 if kill_point else round(rng.uniform(0.1, 0.9) * typical_s, 3)
    trial = Trial(kind, delay, config, kill_point=":".join(map(str, kill_point or ())))
    job = index_job(folder.root, home, args.model, config, db=db, kill_point=kill_point)
    killed = run_and_kill(job, args.work / "kill.json", delay_s=trial.delay_s)
    trial.killed = killed.status in ("killed", "crashed")
    trial.after_kill = audit_after_kill(home, db)
    check = rerun(folder.root, home, args.model, config, args.work, trial, db)
    reap_group(killed.pid)
    _score(trial, home, folder, check, db)
    return trial


DATABASES: list[str] = []  # created on --db-server, dropped at the end


def new_database(args) -> str | None:
    if not args.db_server:
        return None
    from catalog_kit import create_database

    DATABASES.append(create_database(args.db_server))
    return DATABASES[-1]


def _score(trial: Trial, home: Path, folder: Folder, check: dict | None, db: str | None) -> None:
    audit, expected = audit_home(home, db_url=db), folder.expected()
    trial.expected, trial.indexed = len(expected), len(audit.paths & expected)
    trial.lost, trial.extra = len(expected - audit.paths), len(audit.paths - expected)
    trial.consistent = audit.consistent
    trial.temp_files = len(audit.temp_files)
    trial.check_consistent = bool(check and check["check"]["consistent"])


def calibrate(args) -> float:
    """Seconds of one complete first run on a folder of the trial size (the kill window)."""
    folder = Folder(args.work / "calibration", random.Random(-1))
    folder.add(args.images)
    job = index_job(folder.root, args.work / "calibration-home", args.model, random_config(random.Random(0)),
                    db=new_database(args))
    outcome = run_to_end(job, args.work / "cal.json", timeout_s=300)
    if outcome.status != "ok":
        raise SystemExit(f"calibration run failed: {outcome.status} {outcome.error}")
    shutil.rmtree(folder.root)
    return outcome.seconds


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--work", type=Path, required=True)
    parser.add_argument("--model", type=Path, required=True)
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--images", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--budget-s", type=float, default=80.0)
    parser.add_argument("--real-model", action="store_true", help="embed with the real network (slow)")
    parser.add_argument("--kill-point-trials", type=int, default=len(KILL_POINTS))
    parser.add_argument("--db-server", help="PostgreSQL server URL: each fresh home gets a new database there")
    args = parser.parse_args()
    import indexer.pipeline  # noqa: F401  (heavy imports once, before any fork)

    if not args.real_model:
        preload_fast_model(args.model)

    started, rng, state = time.monotonic(), random.Random(args.seed), {}
    try:
        typical = calibrate(args)
        trials = []
        for i in range(args.trials):
            if time.monotonic() - started > args.budget_s:
                break
            trials.append(run_trial(i, args, rng, state, typical))
    finally:
        from catalog_kit import drop_database

        for url in DATABASES:
            drop_database(url)
    print(json.dumps({"typical_run_s": round(typical, 2), "seconds": round(time.monotonic() - started, 1),
                      "trials": [asdict(t) for t in trials]}))


if __name__ == "__main__":
    main()
