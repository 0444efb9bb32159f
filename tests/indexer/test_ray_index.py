"""`index_folder --cluster ray` on a real local Ray (2 CPUs): the same catalog, vectors and neighbours
as the single-process path; Ray is shut down and leaves no process behind."""

from __future__ import annotations

import contextlib
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from engine.base.errors import EngineError
from indexer.config import IndexConfig
from indexer.pipeline import index_folder
from indexer.ray_embed import _reason, actor_pool, assembled_chunks, import_ray
from indexer.search import query_images
from indexer_kit import catalog_state, gallery, stored_vectors

# a hang guard, not a speed bound: at load 4-5 on 2 cores one test (three index runs, two of them starting a Ray
# cluster whose 2 actors each load the model) took over 300 s (one Ray run alone 126 s), so the suite-wide 600 s
pytestmark = pytest.mark.timeout(600)
REPO = Path(__file__).resolve().parents[2]
RAY_NAMES = ("raylet", "gcs_server", "ray::", "default_worker.py", "log_monitor.py", "dashboard", "runtime_env", "monitor.py")


def _cmdline(pid: int) -> str:
    with open(f"/proc/{pid}/cmdline", "rb") as fh:
        return fh.read().replace(b"\0", b" ").decode(errors="replace")


def _parent(pid: int) -> int:
    with open(f"/proc/{pid}/stat") as fh:
        return int(fh.read().rsplit(")", 1)[1].split()[1])


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def our_ray_processes() -> set[int]:
    """Ray daemons and workers descended from this process (other users' Ray on the machine is not ours)."""
    me, found = os.getpid(), set()
    for pid in map(int, filter(str.isdigit, os.listdir("/proc"))):
        try:
            if not any(name in _cmdline(pid) for name in RAY_NAMES):
                continue
            ancestor = pid
            while ancestor > 1 and ancestor != me:
                ancestor = _parent(ancestor)
        except OSError:
            continue
        if ancestor == me:
            found.add(pid)
    return found


class RayWatch:
    """Collects, every 0.5 s while the block runs, the Ray processes this test process started."""

    def __enter__(self) -> "RayWatch":
        self.seen: set[int] = set()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)
        self._thread.start()
        return self

    def _poll(self) -> None:
        while not self._stop.wait(0.5):
            self.seen |= our_ray_processes()

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()

    def left_behind(self, wait_s: float = 20.0) -> dict[int, str]:
        """{pid: command line} of the processes seen that are still alive after `wait_s`."""
        deadline = time.monotonic() + wait_s
        while (left := {p for p in self.seen if _alive(p)}) and time.monotonic() < deadline:
            time.sleep(0.5)
        out = {}
        for pid in left:
            with contextlib.suppress(OSError):
                out[pid] = _cmdline(pid)[:120]
        return out


def _rows(home) -> dict:
    return {os.path.basename(p): artist for p, (_, artist) in catalog_state(home).items()}


def test_ray_gives_the_single_process_catalog_and_vectors(art, tmp_path, tiny_model):
    (art / "Ann Red" / "broken.jpg").write_bytes(b"not an image")
    plain = index_folder(art, home=tmp_path / "plain", model=tiny_model, config=IndexConfig(commit_every=5))
    with RayWatch() as ray:
        on_ray = index_folder(art, home=tmp_path / "ray", model=tiny_model,
                              config=IndexConfig(cluster="ray", cluster_cpus=2, commit_every=5, batch_size=4))
    assert len(ray.seen) >= 3  # gcs_server, raylet, workers: the watch does see them
    assert ray.left_behind() == {}

    assert on_ray["inference"]["actors"] == 2 and on_ray["inference"]["cluster"] == "ray"
    for key in ("added", "total", "embedded", "skipped"):
        assert on_ray[key] == plain[key], key
    assert on_ray["added"] == 12 and [s["reason"] for s in on_ray["skipped"]] == [plain["skipped"][0]["reason"]]
    assert catalog_state(tmp_path / "ray") == catalog_state(tmp_path / "plain")  # same paths, ids (commit order), artists
    a, b = stored_vectors(tmp_path / "plain"), stored_vectors(tmp_path / "ray")
    assert sorted(a) == sorted(b)
    np.testing.assert_allclose(np.stack([b[p] for p in a]), np.stack([a[p] for p in a]), rtol=0, atol=1e-5)

    queries = [str(art / "Bob Green" / "1.jpg"), str(art / "Cid Blue" / "3.jpg")]
    hits = [[[m["path"] for m in r["matches"]] for r in query_images(queries, home=tmp_path / h, k=5)["results"]]
            for h in ("plain", "ray")]
    assert hits[0] == hits[1]

    again = index_folder(art, home=tmp_path / "ray", model=tiny_model, config=IndexConfig(cluster="ray"))
    assert (again["embedded"], again["added"], again["total"]) == (0, 0, 12)  # committed rows are not embedded again


def test_chunks_commit_in_plan_order_whatever_the_arrival_order():
    rows = [{"index": np.array([3, 0]), "vector": np.eye(4, dtype=np.float32)[[3, 0]], "error": np.array(["", ""], dtype=object)},
            {"index": np.array([2, 1]), "vector": np.eye(4, dtype=np.float32)[[2, 1]], "error": np.array(["", "unreadable"], dtype=object)}]
    chunks = list(assembled_chunks(iter(rows), 4, 2))
    assert [(lo, hi) for lo, hi, _ in chunks] == [(0, 2), (2, 4)]
    first, second = chunks[0][2], chunks[1][2]
    assert first.ok == [0] and first.errors == [(1, "unreadable")] and np.array_equal(first.vectors, np.eye(4)[[0]])
    assert second.ok == [0, 1] and np.array_equal(second.vectors, np.eye(4)[[2, 3]])
    with pytest.raises(EngineError, match="1 of 2 embeddings"):
        list(assembled_chunks(iter([{"index": [0], "vector": [np.zeros(2)], "error": [""]}]), 2, 1))


def test_bad_cluster_address_is_one_line():
    with pytest.raises(EngineError, match="--cluster must be"):
        IndexConfig(cluster="spark://x")


def test_actor_pool_is_one_actor_per_gpu_else_per_threads_cores():
    assert actor_pool({"CPU": 16.0, "GPU": 2.0}, threads=None) == {
        "actors": 2, "cpus_per_actor": 8, "gpus_per_actor": 1, "decode_workers": 7}
    assert actor_pool({"CPU": 8.0}, threads=2) == {"actors": 4, "cpus_per_actor": 2, "gpus_per_actor": 0, "decode_workers": 0}
    assert actor_pool({"CPU": 1.0}, threads=4)["actors"] == 1


def test_missing_ray_is_one_line_naming_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` now raises ImportError
    with pytest.raises(EngineError, match=r"artwork-engine\[distributed\]"):
        import_ray()


def test_an_actor_failure_reports_the_actors_own_line():
    report = ("The actor died because of an error raised in its creation task, \x1b[36mray::MapWorker\x1b[39m\n"
              "  File \"...\", line 3\nengine.base.errors.EngineError: model not found: /m.pt; pass --model PATH\n")
    assert _reason(RuntimeError(report)) == "model not found: /m.pt; pass --model PATH"
    assert _reason(RuntimeError("\x1b[31mObjectLostError\x1b[0m: x\ntraceback")) == "ObjectLostError: x"


def _committed(home) -> int:
    try:
        with sqlite3.connect(f"file:{home / 'catalog.sqlite'}?mode=ro", uri=True, timeout=1) as conn:
            return int(conn.execute("SELECT count(*) FROM paintings").fetchone()[0])
    except sqlite3.Error:
        return 0


@pytest.mark.slow
def test_sigkill_of_the_ray_driver_keeps_committed_rows_and_leaves_no_process(tmp_path, tiny_model):
    gallery(tmp_path / "art", per_artist=10)  # 30 paintings: the run is still embedding at the kill
    home = tmp_path / "home"
    command = [sys.executable, "-m", "cli", "index", str(tmp_path / "art"), "--home", str(home), "--model",
               str(tiny_model), "--cluster", "ray", "--commit-every", "2", "--batch-size", "2", "--json"]
    with RayWatch() as ray:
        child = subprocess.Popen(command, cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)},
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 180
        while child.poll() is None and _committed(home) < 4 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert child.poll() is None, "the run ended before it could be killed"
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
        time.sleep(1.0)  # the watch sees what the kill left
    # Ray's daemons and workers share the driver's fate; its two agents exit once they give up on the
    # dead raylet and GCS (about a minute), so they get longer
    waited = time.monotonic()
    assert len(ray.seen) >= 3 and ray.left_behind(wait_s=150) == {}
    print(f"\nRay processes gone {time.monotonic() - waited:.0f} s after the driver's SIGKILL")
    before = stored_vectors(home)
    assert 4 <= len(before) < 30

    rerun = index_folder(tmp_path / "art", home=home, model=tiny_model, config=IndexConfig())
    assert (rerun["embedded"], rerun["total"]) == (30 - len(before), 30)  # committed rows are not embedded again
    after = stored_vectors(home)
    assert all(np.array_equal(after[p], v) for p, v in before.items())
    assert len(catalog_state(home)) == 30  # one row per file, catalog and index file agree
