"""Sections 7-16 of BENCHMARKS.md's generated part, and their lines in the goals table.

Serving, cold start, pair scoring, CPU runtimes, catalog writes, Ray, IVF-PQ and open set; each
renders the JSON its script saved (benchmarks/results/<name>.json), ratios to the same run's reference.
"""

from __future__ import annotations

from benchmarks.common import fmt, table


def verdict(ok: bool) -> str:
    return "met" if ok else "**NOT met**"


def _goal(result: str, ratio, goal: str = "-", ok: bool | None = None) -> dict:
    return {"result": result, "ratio": ratio, "goal": goal, "verdict": "-" if ok is None else verdict(ok)}


# 7. engine serve (issue 14: warm HTTP p50 <= 1.5x the library call; 0 errors under load)
SERVE_GOAL = 1.5


def _sequential(res: dict) -> dict:
    return next(r for r in res["rows"] if r["case"] == "sequential: 1 client")


def serve_section(res: dict) -> str:
    c, load, during, seen = res["config"], res["load"], res["during_index"], res["after_index"]
    columns = ["case", "requests", "errors", "p50_ms", "p95_ms", "p50_over_library_p50", "p95_over_library_p95"]
    return (f"A real `engine serve` process over an index of {c['indexed']} real paintings (model: {res['model']}), "
            f"ready {res['server_startup_s']:.1f} s after start; clients are httpx threads on 127.0.0.1, k={c['k']}. "
            f"Reference: {res['reference']}: p50 {res['library_p50_ms']:.0f} ms, p95 {res['library_p95_ms']:.0f} ms "
            f"({res['library_1_thread_p50_ms']:.0f} ms p50 on one torch thread, as each server worker runs).\n\n"
            + table(res["rows"], columns)
            + f"\nUnder load: {load['requests_per_second']} requests/s = **{res['throughput_over_sequential_library']:.2f}x** "
            f"one sequential library caller. During `engine index` (+{c['added']} paintings, "
            f"{res['index_run']['seconds']:.0f} s, exit {res['index_run']['returncode']}): {during['errors']} errors. "
            f"Then /api/health counted {seen['paintings']} of {seen['expected']} paintings and an added painting "
            f"came back first: {'yes' if seen['added_painting_found_first'] else '**no**'} (no restart). "
            f"Goal: sequential HTTP p50 <= {SERVE_GOAL}x the library call: {verdict(_sequential(res)['p50_over_library_p50'] <= SERVE_GOAL)}.\n")


def serve_goals(res: dict) -> list[dict]:
    seq, c = _sequential(res), res["config"]
    errors = res["load"]["errors"] + res["during_index"]["errors"]
    return [_goal("7. serve: sequential HTTP p50 / warm library call p50", seq["p50_over_library_p50"],
                  f"<= {SERVE_GOAL}", seq["p50_over_library_p50"] <= SERVE_GOAL),
            _goal(f"7. serve: p50 under load ({c['clients']} clients) / library p50", res["rows"][2]["p50_over_library_p50"]),
            _goal("7. serve: errors under load and during `engine index` (count)", errors, "0", errors == 0)]


# 8. cold start (issue 17: query, verify <= 1.5x `import torch`; --help, --version < 1 s without torch)
def _cold_goal(row: dict) -> tuple[str, bool | None]:
    if row["goal"] is not None:
        return f"<= {row['goal']}x", row["ratio_to_import_torch"] <= row["goal"]
    if row["command"] in ("--help", "--version"):
        return "< 1 s, no torch", row["median_s"] < 1 and "torch" not in row["imports"].split(", ")
    return "-", None


def cold_start_section(res: dict) -> str:
    rows = []
    for r in res["rows"]:
        goal, ok = _cold_goal(r)
        command = r["command"] if r["command"].startswith("import") else f"engine {r['command']}"
        rows.append({"command": command, "median s": r["median_s"], "/ import torch": r["ratio_to_import_torch"],
                     "goal": goal, "verdict": "-" if ok is None else verdict(ok), "heavy imports": r["imports"]})
    return (f"A fresh `engine` process per command, timed until it exits with its answer, interleaved with the "
            f"reference `python -c \"import torch\"` ({res['reference_s']:.2f} s); median of {res['runs']} run(s); "
            f"{res['indexed']} paintings indexed.\n\n" + table(rows))


def cold_start_goals(res: dict) -> list[dict]:
    out = []
    for r in res["rows"]:
        goal, ok = _cold_goal(r)
        if r["goal"] is not None:
            out.append(_goal(f"8. cold `engine {r['command']}` / `import torch`", r["ratio_to_import_torch"], goal, ok))
        elif ok is not None:
            heavy = "none" if r["imports"] == "-" else r["imports"]
            out.append(_goal(f"8. cold `engine {r['command']}`: seconds (heavy imports: {heavy})", r["median_s"], goal, ok))
    return out


# 9. engine verify --pairs
def pairs_section(res: dict) -> str:
    pairs = res["rows"][-1]["value"]
    return (f"`write_pair_scores` (the scoring step of `engine verify --pairs`) on {pairs:,} generated pairs, given "
            f"unit {res['dim']}-d embeddings (1% of the images unreadable: their pairs get the prior); every "
            "reference measured in the same run.\n\n" + table(res["rows"], ["measure", "value", "reference", "reference_value", "ratio"]))


def pairs_goals(res: dict) -> list[dict]:
    naive = next(r for r in res["rows"] if r["reference"].startswith("naive"))
    held = next(r for r in res["rows"] if r["reference"].startswith("all pairs"))
    return [_goal("9. verify --pairs scoring / naive csv + dot loop (pairs/s)", naive["ratio"]),
            _goal("9. verify --pairs peak memory / all pairs held in memory", held["ratio"])]


# 10. CPU runtimes (issue 17: adopt what is >= 1.3x eager fp32 with cosine >= 0.999)
SPEEDUP, COSINE = 1.3, 0.999


def _batches(res: dict) -> list[str]:
    """The measured batch sizes, largest (the indexing plan's) first."""
    row = next((r for r in res["rows"] if "skipped" not in r), {})
    return sorted((k.removeprefix("speedup_b") for k in row if k.startswith("speedup_b")), key=int, reverse=True)


def cpu_runtime_section(res: dict) -> str:
    batches = _batches(res)
    columns = ["variant", "threads", "setup_s", "min_cosine"] + [f"speedup_b{b}" for b in batches] \
        + [f"eager_ips_b{b}" for b in batches] + ["adopt_for_batches"]
    # six decimals: with 3 significant digits 0.999533 and 1.0 would both read as 1
    measured = [{**r, "min_cosine": f"{r['min_cosine']:.6f}"} for r in res["rows"] if "skipped" not in r]
    skipped = [f"- {r['variant']}: skipped ({r['skipped']})" for r in res["rows"] if "skipped" in r]
    return (f"The product's embedder, each variant interleaved round by round with eager fp32 on the same threads "
            f"({res['threads']} unless the row says 1); speedup_bN = images/s over eager's at batch N; min_cosine = the "
            f"lowest cosine to eager fp32's embedding of the same paintings. Adoption rule: {res['rule']}.\n\n"
            + table(measured, columns) + ("\n" + "\n".join(skipped) + "\n" if skipped else ""))


def _cpu_verdict(r: dict, batches: list[str]) -> str:
    adopted = [b for b in r["adopt_for_batches"].split(", ") if b in batches]
    if len(adopted) == len(batches):
        return "met"
    if adopted:
        return f"met at batch {', '.join(adopted)} only"
    return "**NOT met** (" + ("cosine" if r["min_cosine"] < COSINE else "speed") + ")"


def cpu_runtime_goals(res: dict) -> list[dict]:
    batches = _batches(res)
    out = []
    for r in (r for r in res["rows"] if "skipped" not in r):
        others = "; ".join(f"batch {b}: {fmt(r[f'speedup_b{b}'])}x" for b in batches[1:])
        threads = "" if "thread" in r["variant"] else f", {r['threads']} threads"
        out.append({"result": f"10. {r['variant']}{threads} / eager fp32, batch {batches[0]} "
                              f"({others + '; ' if others else ''}min cosine {r['min_cosine']:.4f})",
                    "ratio": r[f"speedup_b{batches[0]}"], "goal": f">= {SPEEDUP} at cosine >= {COSINE}",
                    "verdict": _cpu_verdict(r, batches)})
    return out


# 11. catalog writes
def catalog_writes_section(res: dict) -> str:
    c, s = res["config"], res["summary"]
    pg = (f"PostgreSQL's store over SQLite's (rows/s, same run): **{s['postgresql_over_sqlite']:.2f}x**."
          if s["postgresql_over_sqlite"] is not None else f"PostgreSQL: {s['postgresql']}.")
    return (f"{c['rows']:,} paintings ({c['dim']}-d vectors, {c['artists']} artists) in transactions of {c['batch']} rows; "
            "`store` = CatalogStore.add_paintings (what `engine index` runs), `orm_rows` = one ORM object per row; "
            "reference (`driver`): the bare driver's bulk path into the same tables (sqlite3 executemany, psycopg COPY).\n\n"
            + table(res["rows"], ["database", "method", "rows", "seconds", "rows_per_second", "ratio_to_driver"]) + f"\n{pg}\n")


def catalog_writes_goals(res: dict) -> list[dict]:
    out = [_goal(f"11. catalog writes, {r['database']}: CatalogStore / bare driver (rows/s)", r["ratio_to_driver"])
           for r in res["rows"] if r["method"] == "store"]
    if res["summary"]["postgresql_over_sqlite"] is not None:
        out.append(_goal("11. catalog writes: PostgreSQL store / SQLite store (rows/s)", res["summary"]["postgresql_over_sqlite"]))
    return out


# 12. engine index --cluster ray
def ray_section(res: dict) -> str:
    r = res["rows"][0]
    columns = ["images", "single_ips", "ray_ips", "ray_steady_ips", "ray_startup_s", "ray_vs_single",
               "ray_steady_vs_single", "single_wall_s", "ray_wall_s", "ray_wall_vs_single"]
    before, after = r["single_ips_before_after"]
    return (f"`index_folder` with `--cluster ray` (a local Ray: {r['actors']} actors x {r['cpus_per_actor']} CPU, each "
            f"loading the model once) against `index_folder` in one process, run before and after it ({before} / {after} "
            f"images/s; the mean is the reference); {res['backbone']}, {res['data']}. Speeds, Ray over single: "
            "`ray_vs_single` = the embedding stage with Ray's start-up; `ray_wall_vs_single` = whole calls (the "
            "single path also measures its inference plan); `ray_steady_vs_single` = from the first embeddings back "
            "(over-counts by up to one block per actor). On one machine this is Ray's overhead; it exists for many.\n\n"
            + table([r], columns))


def ray_goals(res: dict) -> list[dict]:
    r = res["rows"][0]
    return [_goal(f"12. index --cluster ray / single process, {r['images']} images (images/s, Ray start-up included)", r["ray_vs_single"]),
            _goal("12. index --cluster ray / single process (whole calls)", r["ray_wall_vs_single"])]


# 13. IVF-PQ recipe for 100M
def _chosen_nprobe(res: dict) -> dict:
    """The smallest nprobe whose re-ranked recall@10 reaches 0.95 (else the best)."""
    ok = [r for r in res["rows"] if r["recall_at_10_reranked"] >= 0.95]
    return ok[0] if ok else max(res["rows"], key=lambda r: r["recall_at_10_reranked"])


def ivfpq_section(res: dict) -> str:
    columns = ["nprobe", "recall_at_10_codes", "recall_at_10_reranked", "search_ms_per_query", "speedup_vs_exact",
               "merged_on_disk_identical"]
    exact = (f"exact search: {res['exact_ms_per_query']:.3g} ms per query (the speed reference)"
             if "exact_ms_per_query" in res else
             "the exact search was not timed in this run, so there is no speed ratio yet (`python benchmarks/run.py --only ivfpq`)")
    return (f"`{res['index']}` (docs/SCALE.md's recipe, smaller nlist) on {res['n']:,} generated {res['dim']}-d vectors "
            f"(benchmarks/vectors.py), trained on {res['train_vectors']:,} ({res['train_s']:.0f} s), adds at "
            f"{res['add_us_per_vector']} µs per vector; {res['bytes_per_vector']} bytes per vector = "
            f"{res['bytes_per_vector'] / (4 * res['dim']):.3f}x the raw float32 vectors. {res['threads']} FAISS thread; "
            f"recall@10 against exact search in the same run, of the codes' top 10 and after re-ranking their top "
            f"{res['rerank']} with the exact vectors; search time = the codes' top {res['rerank']}, re-ranking not "
            f"included; {exact}. The index built from two shards merged on disk must answer identically.\n\n"
            + table(res["rows"], [c for c in columns if c in res["rows"][0]]))


def ivfpq_goals(res: dict) -> list[dict]:
    r = _chosen_nprobe(res)
    speed = f", {r['speedup_vs_exact']}x exact queries/s" if "speedup_vs_exact" in r else ""
    return [_goal(f"13. IVF-PQ at {res['n']:,}: bytes per vector / raw float32", round(res["bytes_per_vector"] / (4 * res["dim"]), 4)),
            _goal(f"13. IVF-PQ at {res['n']:,}: recall@10 after re-ranking, nprobe {r['nprobe']}{speed}", r["recall_at_10_reranked"]),
            _goal("13. IVF-PQ: two shards merged on disk answer as one index", "yes" if all(x["merged_on_disk_identical"] for x in res["rows"]) else "no")]


# 14. open-set attribution (accuracy, no speed)
OPENSET_COLUMNS = {"known_correct": "indexed painters named", "unknown_correct": "others answered unknown",
                   "auroc": "open-set AUROC", "closed_top1": "closed-set top-1", "ece": "ECE"}


def openset_section(res: dict) -> str:
    rows = [{"features": features, "rule": rule, **{label: f"{m[key][0]:.3f} ± {m[key][1]:.3f}" for key, label in OPENSET_COLUMNS.items()}}
            for features, rules in res["results"].items() for rule, m in rules.items()]
    return (f"{res['paintings']:,} paintings of {res['artists']} artists (`{res['data']}`), untrained trunk features, "
            f"{res['folds']} artist folds: each rule is fitted on one fold's artists and measured on the next's (half of "
            "them indexed, held-out paintings of all as queries); `fitted` = engine.calibrate.attribution's attribution rule, "
            "`verification calibration` = the pair Platt calibration on each artist's best match. Mean ± sd over "
            "folds; accuracy only, no speed.\n\n" + table(rows))


def mutation_section(res: dict) -> str:
    modules = sorted(res["modules"].items())
    rows = [{"module": f"`{m}`", "tests": ", ".join(f"`{t}`" for t in r["tests"]),
             "killed / total": "error" if "error" in r else f"{r['killed']} / {r['total']}",
             "of them timeouts": "-" if "error" in r else r.get("timeout", "not recorded"),
             "equivalent": "-" if "error" in r else len(r.get("equivalent", {})),
             "score = killed / (total - equivalent)": "-" if "error" in r else f"{r['score']:.1%}",
             ">= 90%": "-" if "error" in r else ("yes" if r["score"] >= 0.9 else "NO"),
             "survivors left": "-" if "error" in r else len(r["survivors"])}
            for m, r in modules]
    text = ("Each module mutated alone by mutmut and run against its own test files only (`benchmarks/mutation.py`, "
            "a copy of HEAD). A survivor is a change to the code that no test notices: either a missing test or an "
            "equivalent mutant, one that changes no observable behaviour. Equivalent mutants are listed with a reason in "
            "`benchmarks/mutation_equivalent.py` and left out of the score's denominator; every other survivor counts "
            "against it. Survivors' names and changed lines are in `benchmarks/results/mutation.json` (`mutmut show NAME` "
            "in a copy kept with `--keep DIR` prints one). A mutant that makes its tests run past mutmut's time limit "
            "counts as killed; mutmut runs with one OpenMP thread, since a child forked from a process whose OpenMP "
            "pool is running deadlocks and used to be counted as a timeout.\n\n" + table(rows))
    from benchmarks.mutation import MODULES

    missing = sorted(set(MODULES) - set(res["modules"]))
    if missing:
        text += "\nNot measured yet (no row above): " + ", ".join(f"`{m}`" for m in missing) + ".\n"
    for m, r in modules:
        listed = [f"- `{name.rsplit('.', 1)[1]}`: {_change(e['change'])}: {e['reason']}" for name, e in r.get("equivalent", {}).items()]
        left = [f"- `{s['name'].rsplit('.', 1)[1]}`: {_change(s['change'])}" for s in r.get("survivors", []) if isinstance(s, dict)]
        stale = [f"- `{name}`" for name in r.get("stale_equivalent", [])]
        for title, lines in (("equivalent mutants", listed), ("survivors without a test", left),
                             ("stale equivalent entries (killed or gone: remove them)", stale)):
            if lines:
                text += f"\n`{m}`, {title}:\n\n" + "\n".join(lines) + "\n"
    return text


def planted_bugs_section(res: dict) -> str:
    rows = [{"planted bug": r["what"], "in": f"`{r.get('file', '-')}`",
             "caught": "error: " + r["error"] if "error" in r else ("yes" if r["caught"] else "NO"),
             "failing tests": ", ".join(f"`{t.split('::', 1)[1]}`" for t in r.get("failing_tests", []))}
            for r in res["bugs"].values()]
    return ("The bugs issue 29 names, each planted alone in a copy of HEAD (`benchmarks/planted_bugs.py`: one exact "
            "source replacement each), against the test files written for that code; the unchanged copy passes them "
            "first. A bug is caught when at least one test fails.\n\n" + table(rows))


def _change(lines: list[str]) -> str:
    """A mutant's removed / added lines as inline code, `-` first."""
    return " -> ".join(f"`{line[2:]}`" for line in lines) if lines else "(no diff)"


# 16. serve under hostile clients (issue 27: good clients 0 errors; p95 hostile <= 2x calm; peak RSS < idle + 1 GiB)
def serve_soak_section(res: dict) -> str:
    c, run = res["config"], res["index_run"]
    attacks = [{"attack": name, "answers (status: count)": ", ".join(f"{k}: {v}" for k, v in counts.items()) or "-"}
               for name, counts in res["attacks"].items()]
    return (f"A real `engine serve` process (default settings) over {c['indexed']} real paintings (model: {res['model']}); "
            f"{c['clients']} good clients (httpx threads) post real paintings to `/api/query` for {c['seconds']} s while "
            f"`engine index` adds {c['added']} (exit {run.get('returncode')}, {run.get('seconds', 0):.0f} s, busy through the whole soak: "
            f"{'yes' if run.get('ran_through_the_soak') else 'no'}). The soak alternates "
            f"{c['window_s']:g}-s windows calm / hostile ({res['windows']} windows); in hostile ones {c['hostile']} hostile client processes "
            f"attack (`benchmarks/bench_serve_soak.py`), and each good request is counted in the window it started in, "
            "so both sides share the machine's load, the index run and any drift.\n\n"
            + table(res["rows"], ["good clients in", "requests", "errors", "p50_ms", "p95_ms"])
            + f"\nGood clients' errors: **{res['good_errors']}** (goal 0): {verdict(res['good_errors'] == 0)}. "
            f"p95 hostile / calm: **{res['p95_ratio_hostile_over_calm']:.2f}** (p50 {res['p50_ratio_hostile_over_calm']:.2f}; "
            f"goal <= 2): {verdict(res['p95_ratio_hostile_over_calm'] <= 2)}. Server RSS idle {res['idle_rss_mib']:.0f} MiB, "
            f"peak during the soak {res['peak_rss_mib']:.0f} MiB (**+{res['peak_rss_over_idle_mib']:.0f} MiB**, goal < +1024): "
            f"{verdict(res['peak_rss_over_idle_mib'] < 1024)}; VmHWM since start {res['vm_hwm_mib']:.0f} MiB. "
            f"Internal errors in the server's log: {res['server_internal_errors']}.\n\nWhat the attacks got "
            f"(a {c['bomb_side']}x{c['bomb_side']} PNG, one at the pixel limit {c['limit_side']}x{c['limit_side']}, "
            f"up to {c['slow_held']} slow connections per process, floods of {c['flood']} requests):\n\n" + table(attacks))


def serve_soak_goals(res: dict) -> list[dict]:
    return [_goal("16. serve soak: good clients' errors with hostile clients (count)", res["good_errors"], "0", res["good_errors"] == 0),
            _goal("16. serve soak: good clients' p95, hostile / calm windows", res["p95_ratio_hostile_over_calm"], "<= 2",
                  res["p95_ratio_hostile_over_calm"] <= 2),
            _goal("16. serve soak: peak RSS over idle (MiB)", res["peak_rss_over_idle_mib"], "< 1024", res["peak_rss_over_idle_mib"] < 1024)]


def map_layout_section(res: dict) -> str:
    rows = [{"layout": r["method"], "seconds": r["seconds"], "import + JIT s": r["jit_and_import_s"],
             **{f"trustworthiness k={k[1:]}": r[k] for k in sorted((k for k in r if k[0] == "k"), key=lambda k: int(k[1:]))}}
            for r in res["layouts"]]
    b, made = res["browser"], res["engine_map"]
    return (f"The map of the collection (`indexer.collection_map`, `engine map`) on {res['data']}, embedded by `{res['model']}`: "
            "trustworthiness (`sklearn.manifold.trustworthiness`, cosine; 1 = every 2D neighbour is a neighbour in the "
            "embedding) and the layout's compute time, beside a PCA projection and random points measured in the same run. "
            "`import + JIT s` is paid once per process (umap-learn's numba compilation). "
            f"The product uses **{res['default_method']}** (`engine map` in this run: {made['seconds']:.1f} s).\n\n"
            + table(rows)
            + f"\nThe page's map view in Debian's Chromium, layout cached (as after `engine index --map`): **first paint "
            f"{b['first_paint_ms']:.0f} ms** for {b['points']:,} points (median of {len(b['first_paint_runs_ms'])} fresh tabs: "
            f"asking /api/map to the points drawn) = {b['first_paint_vs_fetch']:.1f}x fetching and parsing /api/map alone "
            f"({b['api_map_fetch_ms']:.0f} ms) in the same page; one redraw of every point (a pan or zoom frame): "
            f"{b['redraw_ms']:.1f} ms.\n")


SECTIONS = {
    "serve": ("7. Serving over HTTP (`engine serve`)", serve_section),
    "cold_start": ("8. Cold start", cold_start_section),
    "pairs": ("9. Batch pair scoring (`engine verify --pairs`)", pairs_section),
    "cpu_runtime": ("10. CPU runtimes for the embedding forward", cpu_runtime_section),
    "catalog_writes": ("11. Catalog writes (SQLite, PostgreSQL)", catalog_writes_section),
    "ray": ("12. Embedding on Ray (`engine index --cluster ray`)", ray_section),
    "ivfpq": ("13. IVF-PQ recipe for 100M paintings", ivfpq_section),
    "openset": ("14. Open-set attribution", openset_section),
    "mutation": ("15. Mutation testing (the tests of the numbers users rely on)", mutation_section),
    "planted_bugs": ("16. Planted bugs (each must fail a named test)", planted_bugs_section),
    "serve_soak": ("17. Serving under hostile clients (`bench_serve_soak.py`)", serve_soak_section),
    "map_layout": ("18. The map of the collection (UMAP or t-SNE)", map_layout_section),
}
GOALS = {"serve": serve_goals, "cold_start": cold_start_goals, "pairs": pairs_goals, "cpu_runtime": cpu_runtime_goals,
         "catalog_writes": catalog_writes_goals, "ray": ray_goals, "ivfpq": ivfpq_goals,
         "serve_soak": serve_soak_goals}


def goal_rows(results: dict[str, dict]) -> list[dict]:
    """The goals-table lines of sections 7-13, in section order, from whatever results exist."""
    return [row for name, rows_of in GOALS.items() if name in results for row in rows_of(results[name])]
