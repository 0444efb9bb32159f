"""Benchmark: `engine serve` under a bounded load, on an index of real paintings.

Reference: the warm library call `indexer.search.query_images([IMAGE])` in a live process, measured in
this run on the same images, interleaved with the sequential HTTP calls (A B C A B C ...): as called
(torch's default threads) and with one torch thread, as each of the server's inference workers runs.
1. sequential: one client, `POST /api/query` with the same images -> p50/p95 over the library's (target <= 1.5).
2. load: `clients` concurrent clients for `seconds` on 127.0.0.1 -> errors, p50/p95 (as ratios), requests/s.
3. during index: the same load while `engine index` adds paintings -> 0 errors, and the new paintings are
   found by the next query (no restart).
The server is a real `engine serve` process; the clients are threads of this process (httpx).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks.bench_indexing import subset_folder
from benchmarks.common import ARTDATA, REPO, artdata_images, log, percentile, run_script, save_result, table
from benchmarks.models import current_or_new_model

NAME = "serve"
SIZES = {
    "toy": {"indexed": 16, "queries": 4, "added": 16, "library_runs": 8, "clients": 2, "seconds": 3},
    "quick": {"indexed": 256, "queries": 20, "added": 128, "library_runs": 20, "clients": 4, "seconds": 10},
    "full": {"indexed": 512, "queries": 40, "added": 256, "library_runs": 40, "clients": 4, "seconds": 30},
}
K = 10
STARTUP_S = 180


def build_home(work: Path, size: dict) -> tuple[Path, str, list[Path], Path]:
    """(home, model origin, query images, folder of paintings to add later): disjoint subsets of artdata."""
    from indexer.pipeline import index_folder

    source = artdata_images(size["indexed"] + size["queries"] + size["added"])
    if len(source) < size["indexed"] + size["queries"] + size["added"]:
        raise SystemExit(f"bench_serve needs {ARTDATA}/train with real paintings")
    indexed, queries = source[: size["indexed"]], source[size["indexed"] : size["indexed"] + size["queries"]]
    home = work / "home"
    _, origin = current_or_new_model(home)
    log(f"serve: indexing {len(indexed)} paintings into {home}")
    index_folder(subset_folder(indexed, work / "indexed"), home=home, labels=ARTDATA / "train_info.csv")
    added = subset_folder(source[size["indexed"] + size["queries"] :], work / "added")
    return home, origin, queries, added


def wait_healthy(proc: subprocess.Popen, url: str, http, *, log_tail) -> float:
    """Seconds until `engine serve` at `url` answers /api/health; RuntimeError with the end of `log_tail()` if it exits."""
    start = time.perf_counter()
    while time.perf_counter() - start < STARTUP_S:
        if proc.poll() is not None:
            raise RuntimeError(f"engine serve exited {proc.returncode}: {log_tail()[-1000:]}")
        try:
            if http.get(f"{url}/api/health").status_code == 200:
                return time.perf_counter() - start
        except Exception:  # not listening yet
            pass
        time.sleep(0.2)
    raise RuntimeError("engine serve did not answer /api/health in time")


class Server:
    """`engine serve --home H --port P` in its own process."""

    def __init__(self, home: Path, port: int) -> None:
        self.url = f"http://127.0.0.1:{port}"
        env = {**os.environ, "PYTHONPATH": str(REPO)}
        argv = [sys.executable, "-m", "cli", "serve", "--home", str(home), "--port", str(port)]
        self.proc = subprocess.Popen(argv, env=env, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)

    def wait_ready(self, http) -> float:
        return wait_healthy(self.proc, self.url, http, log_tail=lambda: self.proc.stderr.read())

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def http_query(http, url: str, image: Path, payload: bytes) -> float:
    start = time.perf_counter()
    response = http.post(f"{url}/api/query", params={"k": K}, files={"image": (image.name, payload, "image/jpeg")})
    seconds = time.perf_counter() - start
    response.raise_for_status()
    if not response.json()["results"][0]["matches"]:
        raise RuntimeError("an answer without matches")
    return seconds


def interleaved_reference(home: Path, url: str, queries: list[Path], runs: int) -> dict[str, list[float]]:
    """Seconds of the library call (default threads, one thread) and of sequential HTTP, call by call alternating."""
    import httpx

    from engine.base.runtime import torch_threads
    from indexer.search import query_images

    def library_call(image: Path, threads: int | None) -> float:
        with torch_threads(threads):
            start = time.perf_counter()
            query_images([str(image)], home=home, k=K)
            return time.perf_counter() - start

    payloads = {q: q.read_bytes() for q in queries}
    times: dict[str, list[float]] = {"library": [], "library_1_thread": [], "sequential": []}
    with httpx.Client(timeout=120) as http:
        for image in queries[:2]:  # warm all three: model load, caches
            library_call(image, None), library_call(image, 1), http_query(http, url, image, payloads[image])
        for i in range(runs):
            image = queries[i % len(queries)]
            times["library"].append(library_call(image, None))
            times["library_1_thread"].append(library_call(image, 1))
            times["sequential"].append(http_query(http, url, image, payloads[image]))
    return times


def load(url: str, queries: list[Path], *, clients: int, seconds: float, until: threading.Event | None = None) -> dict:
    """`clients` threads post queries round robin for `seconds` (and, with `until`, until it is set)."""
    import httpx

    payloads = [(q, q.read_bytes()) for q in queries]
    latencies: list[float] = []
    errors: list[str] = []
    stop_at = time.perf_counter() + seconds

    def running() -> bool:
        return time.perf_counter() < stop_at or (until is not None and not until.is_set())

    def client(n: int) -> None:
        with httpx.Client(timeout=120) as http:
            i = n
            while running():
                image, payload = payloads[i % len(payloads)]
                i += clients
                try:
                    latencies.append(http_query(http, url, image, payload))
                except Exception as exc:  # counted, the load goes on
                    errors.append(f"{type(exc).__name__}: {str(exc)[:200]}")

    start = time.perf_counter()
    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - start
    return {"requests": len(latencies) + len(errors), "errors": len(errors), "error_samples": errors[:5],
            "seconds": round(wall, 2), "requests_per_second": round(len(latencies) / wall, 2),
            "p50_ms": 1000 * percentile(latencies, 50) if latencies else None,
            "p95_ms": 1000 * percentile(latencies, 95) if latencies else None}


def load_while_indexing(home: Path, url: str, queries: list[Path], added: Path, size: dict) -> tuple[dict, dict]:
    """The load while `engine index ADDED` runs (at least `seconds`, until the index run ends)."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    argv = [sys.executable, "-m", "cli", "index", str(added), "--home", str(home), "--labels", str(ARTDATA / "train_info.csv"), "--json"]
    finished = threading.Event()
    outcome: dict = {}

    def index_run() -> None:
        start = time.perf_counter()
        proc = subprocess.run(argv, env=env, cwd=REPO, capture_output=True, text=True)
        outcome.update(returncode=proc.returncode, seconds=round(time.perf_counter() - start, 2), stderr=proc.stderr[-500:])
        finished.set()

    indexer = threading.Thread(target=index_run)
    indexer.start()
    result = load(url, queries, clients=size["clients"], seconds=size["seconds"], until=finished)
    indexer.join()
    return result, outcome


def sees_new_paintings(url: str, added: Path, expected_total: int) -> dict:
    """After the index run: /api/health counts the new paintings and a query finds an added one first."""
    import httpx

    image = sorted(added.iterdir())[0]
    with httpx.Client(timeout=120) as http:
        start = time.perf_counter()
        total = http.get(f"{url}/api/health").json()["paintings"]
        top = http.post(f"{url}/api/query", params={"k": 1}, files={"image": (image.name, image.read_bytes(), "image/jpeg")}).json()
        seconds = time.perf_counter() - start
    top_path = top["results"][0]["matches"][0]["path"]
    return {"paintings": total, "expected": expected_total, "added_painting_found_first": Path(top_path).name == image.name,
            "first_answer_ms_after_index_run": round(1000 * seconds, 1)}


def ratio_row(case: str, p50: float, p95: float, library: list[float], requests: int, errors: int) -> dict:
    l50, l95 = percentile(library, 50), percentile(library, 95)
    return {"case": case, "requests": requests, "errors": errors, "p50_ms": 1000 * p50, "p95_ms": 1000 * p95,
            "p50_over_library_p50": p50 / l50, "p95_over_library_p95": p95 / l95}


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run(*, scale: str = "full", results_dir: Path | None = None) -> dict:
    import httpx

    size = SIZES[scale]
    work = Path(tempfile.mkdtemp(prefix="bench-serve-"))
    server = None
    try:
        home, origin, queries, added = build_home(work, size)
        server = Server(home, free_port())
        with httpx.Client(timeout=10) as http:
            startup = server.wait_ready(http)
        log("serve: sequential HTTP vs the library call, interleaved")
        times = interleaved_reference(home, server.url, queries, size["library_runs"])
        library, sequential = times["library"], times["sequential"]
        log(f"serve: {size['clients']} clients for {size['seconds']} s")
        steady = load(server.url, queries, clients=size["clients"], seconds=size["seconds"])
        log("serve: the same load while `engine index` adds paintings")
        during, index_run = load_while_indexing(home, server.url, queries, added, size)
        seen = sees_new_paintings(server.url, added, size["indexed"] + size["added"])
    finally:
        if server is not None:
            server.stop()
        shutil.rmtree(work, ignore_errors=True)
    rows = [
        ratio_row("sequential: 1 client", percentile(sequential, 50), percentile(sequential, 95), library, len(sequential), 0),
        {**ratio_row("sequential: 1 client, vs the 1-thread library call", percentile(sequential, 50), percentile(sequential, 95),
                     times["library_1_thread"], len(sequential), 0)},
        ratio_row(f"load: {size['clients']} clients x {steady['seconds']:.0f} s", steady["p50_ms"] / 1000, steady["p95_ms"] / 1000,
                  library, steady["requests"], steady["errors"]),
        ratio_row(f"load during `engine index` (+{size['added']} paintings)", during["p50_ms"] / 1000, during["p95_ms"] / 1000,
                  library, during["requests"], during["errors"]),
    ]
    result = {
        "scale": scale, "config": {**size, "k": K}, "model": origin, "server_startup_s": round(startup, 2),
        "reference": "warm indexer.search.query_images([IMAGE]) in a live process, interleaved with the sequential HTTP calls",
        "library_p50_ms": 1000 * percentile(library, 50), "library_p95_ms": 1000 * percentile(library, 95),
        "library_1_thread_p50_ms": 1000 * percentile(times["library_1_thread"], 50),
        "rows": rows, "load": steady, "during_index": during, "index_run": index_run, "after_index": seen,
        "throughput_over_sequential_library": steady["requests_per_second"] * percentile(library, 50),
        "raw_s": times,
    }
    print(table(rows))
    print(f"load: {steady['requests_per_second']} requests/s = {result['throughput_over_sequential_library']:.2f}x "
          f"one sequential library caller; after the index run: {seen}")
    save_result(NAME, result, results_dir=results_dir)
    return result


def main(argv=None) -> None:
    run_script(run, __doc__, argv)


if __name__ == "__main__":
    main()
