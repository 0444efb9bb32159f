"""Benchmark: `engine serve` soaked by hostile clients (issue 27), on an index of real paintings, on 127.0.0.1.

Good clients (threads of this process, httpx) post real paintings to /api/query for `seconds`, while
`engine index` adds paintings (started LEAD_IN_S before, so its start-up falls in no window). The soak
is cut into windows of `window_s` that alternate calm / hostile
(C H C H ...): in hostile windows `hostile` client processes attack; in calm ones nobody does. The good
clients' latencies are split by the window their request started in, so the two sides see the same
machine load, the same index run and the same drift (the reference is measured in the same run).
Hostile attacks, round robin, each bounded: a 249.6-MP PNG (15800 x 15800, ~240 kB: a decompression bomb
under every byte limit), a PNG at the pixel limit (decoded: the pixel budget's case), a body that declares
2 GB, bodies sent slowly or never finished (slowloris: up to `slow_held` held open per process until the
window ends), headers never finished, garbage multipart, and a flood of cheap requests (`flood` at once);
each hostile process sends each attack from its own thread (the slow ones share one), again as soon as it is answered.
Reported: the good clients' errors (goal 0), p50/p95 calm and hostile (goal: hostile p95 <= 2x calm p95),
the server's peak RSS during the soak against its idle RSS (goal: < idle + 1 GiB), what each attack got.
"""

from __future__ import annotations

import collections
import io
import multiprocessing
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks.bench_serve import build_home, free_port, http_query, wait_healthy
from benchmarks.common import ARTDATA, REPO, log, percentile, run_script, save_result, table

NAME = "serve_soak"
SIZES = {
    "toy": {"indexed": 16, "queries": 4, "added": 16, "clients": 2, "hostile": 1, "seconds": 10, "window_s": 2.5,
            "slow_held": 4, "flood": 10},
    "quick": {"indexed": 128, "queries": 16, "added": 100, "clients": 8, "hostile": 2, "seconds": 30, "window_s": 5,
              "slow_held": 12, "flood": 25},
    "full": {"indexed": 256, "queries": 32, "added": 300, "clients": 8, "hostile": 2, "seconds": 60, "window_s": 5,
             "slow_held": 12, "flood": 25},
}
K = 10
INDEX_RUN_S = 900  # the `engine index` run is waited for at most this long after the soak
GIB = 1 << 30
P95_GOAL, RSS_GOAL_GIB = 2.0, 1.0
BOMB_SIDE, LIMIT_SIDE = 15_800, 7_900  # 249.6 MP (refused: over --max-pixels 64 MP); 62.4 MP (decoded)
SOCKET_S = 30
LEAD_IN_S = 15
SERVER_ARGS: tuple[str, ...] = ()  # `engine serve` runs with its defaults; a comparison run may set options here


class Server:
    """`engine serve --home H --port P` in its own process, its log in a file (a pipe could fill and block it)."""

    def __init__(self, home: Path, port: int, log_file: Path) -> None:
        self.url, self.port, self.log_file = f"http://127.0.0.1:{port}", port, log_file
        env = {**os.environ, "PYTHONPATH": str(REPO)}
        argv = [sys.executable, "-m", "cli", "serve", "--home", str(home), "--port", str(port), *SERVER_ARGS]
        self._log = open(log_file, "w")
        self.proc = subprocess.Popen(argv, env=env, cwd=REPO, stdout=subprocess.DEVNULL, stderr=self._log)

    def wait_ready(self, http) -> float:
        return wait_healthy(self.proc, self.url, http, log_tail=self.log_file.read_text)

    def rss(self, field: str = "VmRSS") -> int:
        """Bytes of the server process's resident memory (VmHWM: its peak so far)."""
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) * 1024
        raise RuntimeError(f"no {field} for pid {self.proc.pid}")

    def internal_errors(self) -> int:
        return self.log_file.read_text(errors="replace").count("internal error on")

    def reloads(self) -> int:
        """Snapshots loaded after the first (each catalog change seen by a request reloads model and index)."""
        return self.log_file.read_text(errors="replace").count("serving ") - 1

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self._log.close()


class RssSampler:
    """The server's RSS every `interval` s in a thread; `peak` is the largest seen."""

    def __init__(self, server: Server, interval: float = 0.05) -> None:
        self.server, self.interval, self.peak = server, interval, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> "RssSampler":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.peak = max(self.peak, self.server.rss())
            except (OSError, RuntimeError):  # the process is gone
                return
            self._stop.wait(self.interval)


def windows(start: float, seconds: float, window_s: float) -> list[tuple[float, float, bool]]:
    """(begin, end, hostile) on time.monotonic(), alternating calm / hostile, calm first."""
    count = max(2, round(seconds / window_s))
    return [(start + i * window_s, start + (i + 1) * window_s, i % 2 == 1) for i in range(count)]


def window_of(t: float, plan: list[tuple[float, float, bool]]) -> bool | None:
    return next((hostile for begin, end, hostile in plan if begin <= t < end), None)


# --- good clients -------------------------------------------------------------------------------------

def good_clients(url: str, queries: list[Path], plan, clients: int) -> list[tuple[float, float | None, str]]:
    """(start on monotonic, seconds or None on error, error) of every request of `clients` threads until the plan ends."""
    import httpx

    payloads = [(q, q.read_bytes()) for q in queries]
    records: list[tuple[float, float | None, str]] = []
    end = plan[-1][1]

    def client(n: int) -> None:
        with httpx.Client(timeout=120) as http:
            i = n
            while time.monotonic() < end:
                image, payload = payloads[i % len(payloads)]
                i += clients
                started = time.monotonic()
                try:
                    records.append((started, http_query(http, url, image, payload), ""))
                except Exception as exc:  # counted, the load goes on
                    records.append((started, None, f"{type(exc).__name__}: {str(exc)[:200]}"))

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return records


def per_window(records, plan) -> list[dict]:
    rows = []
    for begin, end, hostile in plan:
        ok = [seconds for started, seconds, _ in records if begin <= started < end and seconds is not None]
        rows.append({"hostile": hostile, "requests": sum(begin <= r[0] < end for r in records),
                     "p50_ms": 1000 * percentile(ok, 50) if ok else None, "p95_ms": 1000 * percentile(ok, 95) if ok else None,
                     "max_ms": 1000 * max(ok) if ok else None})
    return rows


def latency_side(records, plan, hostile: bool) -> dict:
    mine = [r for r in records if window_of(r[0], plan) is hostile]
    ok = [seconds for _, seconds, _ in mine if seconds is not None]
    errors = [error for _, seconds, error in mine if seconds is None]
    return {"requests": len(mine), "errors": len(errors), "error_samples": errors[:5],
            "p50_ms": 1000 * percentile(ok, 50) if ok else None, "p95_ms": 1000 * percentile(ok, 95) if ok else None}


# --- hostile clients (separate processes: their work must not slow the good clients' own timing) -------

def bomb_png(side: int) -> bytes:
    """A 1-bit all-black PNG side x side: a few hundred kB that decode to side^2 pixels."""
    from PIL import Image

    out = io.BytesIO()
    Image.new("1", (side, side)).save(out, format="PNG")
    return out.getvalue()


def _connect(url: str) -> socket.socket:
    host, port = url.removeprefix("http://").split(":")
    return socket.create_connection((host, int(port)), timeout=SOCKET_S)


def _status(sock: socket.socket) -> int:
    """The status code of the response on `sock` (0 when the server closed it without an answer)."""
    data = b""
    while b"\r\n" not in data:
        chunk = sock.recv(4096)
        if not chunk:
            return 0
        data += chunk
    return int(data.split(b" ", 2)[1])


def _post_head(path: str, length: int, content_type: str = "multipart/form-data; boundary=xx") -> bytes:
    return (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: {content_type}\r\n"
            f"Content-Length: {length}\r\n\r\n").encode()


def attack_bomb(http, url, state) -> list[int]:
    return [http.post(f"{url}/api/query", files={"image": ("bomb.png", state["bomb"], "image/png")}).status_code]


def attack_limit_png(http, url, state) -> list[int]:
    return [http.post(f"{url}/api/query", files={"image": ("limit.png", state["limit"], "image/png")}).status_code]


def attack_huge_body(http, url, state) -> list[int]:
    with _connect(url) as sock:
        sock.sendall(_post_head("/api/query", 2_000_000_000) + os.urandom(65536))
        return [_status(sock)]


def attack_slow_body(http, url, state) -> list[int]:
    """A body that declares 1 MB and sends 100 bytes, held open (until the window ends, or the server answers)."""
    sock = _connect(url)
    sock.sendall(_post_head("/api/query", 1_000_000) + b"--xx\r\n" + os.urandom(94))
    state["held"].append(("slow_body", sock))
    return []


def attack_slow_headers(http, url, state) -> list[int]:
    sock = _connect(url)
    sock.sendall(b"GET /api/health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
    state["held"].append(("slow_headers", sock))
    return []


def attack_garbage_multipart(http, url, state) -> list[int]:
    body = os.urandom(random.randint(10, 200_000))
    return [http.post(f"{url}/api/query", content=body, headers={"content-type": "multipart/form-data; boundary=zz"}).status_code,
            http.post(f"{url}/api/verify", content=b"--zz\r\n" + body, headers={"content-type": "multipart/form-data"}).status_code]


def attack_flood(http, url, state) -> list[int]:
    paths = ["/api/paintings/9223372036854775808", "/api/paintings/123456789/similar", "/api/health", "/api/nothing",
             "/api/paintings/-1/thumbnail"]
    return [http.get(f"{url}{paths[i % len(paths)]}").status_code for i in range(state["flood"])]


FAST = {"bomb_249mp_png": attack_bomb, "declared_2gb_body": attack_huge_body, "garbage_multipart": attack_garbage_multipart,
        "flood": attack_flood, "png_at_pixel_limit": attack_limit_png}
SLOW = {"slow_body": attack_slow_body, "slow_headers": attack_slow_headers}


def hostile_client(url: str, plan, slow_held: int, flood: int, seed: int, out) -> None:
    """Attack in the hostile windows of `plan`: a thread per FAST attack, each sending it again as soon as it is
    answered, and one thread keeping up to `slow_held` SLOW connections open (hung up when the window ends).
    Puts {attack: {status: count}} on `out`."""
    random.seed(seed)
    state = {"bomb": bomb_png(BOMB_SIDE), "limit": bomb_png(LIMIT_SIDE), "held": [], "flood": flood}
    seen: dict[str, collections.Counter] = {name: collections.Counter() for name in {**FAST, **SLOW}}
    groups = [({name: attack}, None) for name, attack in FAST.items()] + [(SLOW, slow_held)]
    threads = [threading.Thread(target=_attacker, args=(url, plan, attacks, state, seen, seed, limit)) for attacks, limit in groups]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    out.put({name: dict(counter) for name, counter in seen.items()})


def _attacker(url, plan, attacks: dict, state: dict, seen: dict, turn: int, held_limit: int | None) -> None:
    import httpx

    names = list(attacks)
    with httpx.Client(timeout=SOCKET_S) as http:
        for begin, end, hostile in plan:
            if not hostile:
                continue
            while time.monotonic() < begin:
                time.sleep(0.01)
            while time.monotonic() < end:
                name = names[turn % len(names)]
                turn += 1
                if held_limit is not None and len(state["held"]) >= held_limit:
                    time.sleep(0.05)
                    continue
                try:
                    seen[name].update(attacks[name](http, url, state))
                except Exception as exc:  # an attack that the server cut off counts as what happened to it
                    seen[name][type(exc).__name__] += 1
            if held_limit is not None:
                for held, sock in state["held"]:  # the window ends: slow clients hang up
                    seen[held]["held_to_window_end"] += 1
                    sock.close()
                state["held"].clear()


# --- the run ----------------------------------------------------------------------------------------------

def index_in_background(home: Path, added: Path) -> tuple[threading.Thread, dict]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    argv = [sys.executable, "-m", "cli", "index", str(added), "--home", str(home), "--labels", str(ARTDATA / "train_info.csv"), "--json"]
    outcome: dict = {}

    def index_run() -> None:
        start = time.perf_counter()
        proc = subprocess.run(argv, env=env, cwd=REPO, capture_output=True, text=True, timeout=INDEX_RUN_S)
        outcome.update(returncode=proc.returncode, seconds=round(time.perf_counter() - start, 2), stderr=proc.stderr[-500:])

    thread = threading.Thread(target=index_run)
    thread.start()
    return thread, outcome


def soak(server: Server, home: Path, queries: list[Path], added: Path, size: dict) -> dict:
    """`engine index` starts LEAD_IN_S before the first window: its start-up (imports, model) is over by then."""
    spawn = multiprocessing.get_context("spawn")
    out = spawn.Queue()
    with RssSampler(server) as rss:
        indexer, index_run = index_in_background(home, added)
        start = time.monotonic() + LEAD_IN_S  # the hostile processes build their PNGs, `engine index` loads its model
        plan = windows(start, size["seconds"], size["window_s"])
        attackers = [spawn.Process(target=hostile_client, args=(server.url, plan, size["slow_held"], size["flood"], n, out))
                     for n in range(size["hostile"])]
        for p in attackers:
            p.start()
        while time.monotonic() < start:
            time.sleep(0.05)
        records = good_clients(server.url, queries, plan, size["clients"])
        index_busy_to_end = indexer.is_alive()
        attacks = [out.get(timeout=120) for _ in attackers]
        indexer.join()
    for p in attackers:
        p.join(30)
    merged: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    for seen in attacks:
        for name, counts in seen.items():
            merged[name].update(counts)
    return {"calm": latency_side(records, plan, False), "hostile": latency_side(records, plan, True),
            "windows": len(plan), "per_window": per_window(records, plan), "peak_rss": rss.peak,
            "index_run": {**index_run, "ran_through_the_soak": index_busy_to_end},
            "attacks": {name: {str(k): v for k, v in sorted(c.items(), key=lambda kv: str(kv[0]))} for name, c in merged.items()}}


def run(*, scale: str = "full", results_dir: Path | None = None) -> dict:
    import httpx

    size = SIZES[scale]
    work = Path(tempfile.mkdtemp(prefix="bench-serve-soak-"))
    server = None
    try:
        home, origin, queries, added = build_home(work, {**size, "library_runs": 0})
        server = Server(home, free_port(), work / "serve.log")
        with httpx.Client(timeout=120) as http:
            startup = server.wait_ready(http)
            for image in queries[:4]:  # warm: every code path of a query has run once
                http_query(http, server.url, image, image.read_bytes())
        time.sleep(2)
        idle = server.rss()
        log(f"serve soak: idle RSS {idle / 2**20:.0f} MiB; {size['clients']} good clients, {size['hostile']} hostile, "
            f"{size['seconds']} s in {size['window_s']} s windows, `engine index` +{size['added']}")
        result = soak(server, home, queries, added, size)
        peak_hwm = server.rss("VmHWM")
        internal, reloads = server.internal_errors(), server.reloads()
    finally:
        if server is not None:
            server.stop()
        shutil.rmtree(work, ignore_errors=True)
    calm, hostile = result["calm"], result["hostile"]
    good_errors = calm["errors"] + hostile["errors"]
    p95_ratio = hostile["p95_ms"] / calm["p95_ms"]
    rows = [{"good clients in": side, "requests": r["requests"], "errors": r["errors"], "p50_ms": r["p50_ms"], "p95_ms": r["p95_ms"]}
            for side, r in (("calm windows", calm), ("hostile windows", hostile))]
    out = {
        "scale": scale, "config": {**size, "k": K, "bomb_side": BOMB_SIDE, "limit_side": LIMIT_SIDE}, "model": origin,
        "server_startup_s": round(startup, 2), "rows": rows, **result,
        "good_errors": good_errors, "p50_ratio_hostile_over_calm": hostile["p50_ms"] / calm["p50_ms"],
        "p95_ratio_hostile_over_calm": p95_ratio, "idle_rss_mib": idle / 2**20, "peak_rss_mib": result["peak_rss"] / 2**20,
        "peak_rss_over_idle_mib": (result["peak_rss"] - idle) / 2**20, "vm_hwm_mib": peak_hwm / 2**20,
        "server_internal_errors": internal, "server_reloads": reloads,
        "goals": {"good_errors_0": good_errors == 0, f"p95_ratio_le_{P95_GOAL:g}": p95_ratio <= P95_GOAL,
                  f"peak_rss_under_idle_plus_{RSS_GOAL_GIB:g}_gib": result["peak_rss"] < idle + RSS_GOAL_GIB * GIB},
    }
    out.pop("peak_rss")
    print(table(rows))
    print(f"p95 hostile / calm: {p95_ratio:.2f} (goal <= {P95_GOAL:g}); good errors {good_errors}; RSS idle {out['idle_rss_mib']:.0f} MiB, "
          f"peak {out['peak_rss_mib']:.0f} MiB (+{out['peak_rss_over_idle_mib']:.0f}); server internal errors {internal}")
    print(f"attacks: {out['attacks']}")
    save_result(NAME, out, results_dir=results_dir)
    return out


def main(argv=None) -> None:
    run_script(run, __doc__, argv)


if __name__ == "__main__":
    main()
