"""Render BENCHMARKS.md's generated part from benchmarks/results/*.json.

Only the text between the two markers is rewritten; hand-written analysis outside them is kept.
"""

from __future__ import annotations

import json
from pathlib import Path

from benchmarks.common import REPO, RESULTS_DIR, table
from benchmarks.report_sections import SECTIONS as SECTIONS_7_TO_14
from benchmarks.report_sections import goal_rows
from benchmarks.report_sections import verdict as _verdict

START = "<!-- generated: benchmarks/run.py rewrites everything between these markers -->"
END = "<!-- end of generated part -->"
ORDER = ("indexing", "decode", "search", "latency", "training", "memory",
         "serve", "cold_start", "pairs", "cpu_runtime", "catalog_writes", "ray", "ivfpq", "openset", "mutation",
         "planted_bugs", "serve_soak", "map_layout")


def load_results(results_dir: Path = RESULTS_DIR) -> dict[str, dict]:
    found = {}
    for name in ORDER:
        path = Path(results_dir) / f"{name}.json"
        if path.is_file():
            found[name] = json.loads(path.read_text(encoding="utf-8"))
    return found


def machine_section(results: dict[str, dict]) -> str:
    lines = ["### Machines", "", "| benchmark | scale | date (UTC) | CPU | cores | torch threads | load avg (1/5/15 min) |",
             "|---|---|---|---|---|---|---|"]
    versions = {}
    for name, res in results.items():
        if "machine" not in res:  # saved before the script went through benchmarks.common.save_result
            lines.append(f"| {name} | {res.get('scale', '-')} | (not recorded) | - | - | - | - |")
            continue
        m = res["machine"]
        versions = m["versions"]
        lines.append(f"| {name} | {res.get('scale')} | {m['date']} | {m['cpu']} | {m['usable_cores']} | "
                     f"{m['torch_threads']} | {' / '.join(str(x) for x in m['load_average'])} |")
    lines += ["", "Libraries: " + ", ".join(f"{k} {v}" for k, v in versions.items()) + "."]
    return "\n".join(lines) + "\n"


def indexing_section(res: dict) -> str:
    rows = [{"backbone": r["backbone"], "images": f"{r['images']} x {r.get('data', '256 px')}", "plan (chosen)": r.get("plan"),
             "compute limit of the plan (img/s)": r["compute_limit_ips"], "fastest bare forward (img/s)": r.get("best_forward_ips"),
             "index_folder (img/s)": r["index_folder_ips"], "embed_paths (img/s)": r["embed_paths_ips"],
             "naive loop (img/s)": r["naive_loop_ips"], "index steady / limit (goal >= 0.9)": r.get("steady_vs_compute"),
             "index end-to-end / limit": r["index_vs_compute"], "start-up s": r.get("startup_s"),
             "index / fastest": r.get("index_vs_best"), "embed / limit": r["embed_vs_compute"],
             "index steady / naive (goal >= 3)": r.get("steady_vs_naive"), "index end-to-end / naive": r["index_vs_naive"],
             "decode ms/img (1 core)": r.get("decode_ms_per_image"),
             "bound from sharing cores": r.get("sharing_bound"), "forward batch 1 (img/s)": r.get("forward_batch1_ips"),
             "goals": "met" if r.get("steady_vs_compute", 0) >= 0.9 and r.get("steady_vs_naive", 0) >= 3 else "NOT met"}
            for r in res["rows"]]
    candidates = [{"backbone": f"{r['backbone']} ({r.get('data', '256 px')})", **r["candidate_forward_ips"]}
                  for r in res["rows"] if r.get("candidate_forward_ips")]
    return (f"{res['data']}; {res['config']['torch_threads']} torch threads by default; naive loop on the first "
            f"{res['config']['naive']} of each set.\n\n" + table(rows)
            + ("\nBare forward images/s of each candidate plan (b = batch, s = streams, t = threads per stream):\n\n"
               + table(candidates) if candidates else ""))


def decode_section(res: dict) -> str:
    c = res["config"]
    return (f"{c['images']} generated {c['width']}x{c['height']} JPEGs (quality {c['jpeg_quality']}, "
            f"{c['mean_file_mib']} MiB each), decoded and resized to {c['target']} px.\n\n"
            + table(res["rows"], ["variant", "images_per_s", "ms_per_image"])
            + f"\nDraft decode: **{res['speedup_draft_vs_full']:.1f}x** the full decode; mean |pixel difference| of the "
            f"results {res['mean_abs_pixel_diff']:.2f} / 255.\n")


def search_section(res: dict) -> str:
    columns = ["n", "index", "param", "value", "build_s", "bytes_per_vector", "recall_at_10", "qps_single",
               "qps_batch100", "speedup_single", "speedup_batch"]
    measured = [r for r in res["rows"] if "qps_single" in r]
    notes = [f"- N={r['n']:,}: {r['skipped']}" for r in res["rows"] if r.get("skipped")]
    descriptions = [f"- N={r['n']:,} `{r['index']}`: {r['description']}" for r in measured]
    return (f"{res['config']['queries']} queries from the same mixture (not in the data); {res['config']['generator']}. "
            "Single-query rates are best of 3 rounds on one FAISS thread; batches of 100 use all threads. "
            "Approximate indexes are tuned to the smallest parameter with recall@10 >= 0.95 (product rows are not tuned).\n\n"
            + table(measured, columns) + "\n" + "\n".join(descriptions + notes) + "\n\n```\n" + res["goal"]["summary"] + "\n```\n")


def latency_section(res: dict) -> str:
    columns = ["case", "runs", "p50_ms", "p95_ms", "reference", "reference_p50_ms", "p50_over_reference"]
    return (f"Index of {res['config']['indexed']} real paintings; model: {res['model']}.\n\n" + table(res["rows"], columns)
            + f"\nFirst `query_images` call in a process (loads model and index): {res['first_call_in_process_ms']:.0f} ms.\n")


def training_section(res: dict) -> str:
    c = res["counts"]
    return (f"{c['train_images']} train / {c['val_images']} val paintings of {res['data']} "
            f"(full train split: {c['train_images_full']}), {res['torch_threads']} torch threads.\n\n"
            + table(res["rows"], ["what", "seconds", "images_per_s", "full_split_epoch_s"])
            + f"\nA frozen-mode epoch (as reported, validation included) processes **{res['frozen_epoch_vs_finetune_epoch']:.0f}x** "
            f"the images/s of a fine-tuning step ({res.get('bare_frozen_epoch_vs_finetune_epoch', float('nan')):.0f}x for the bare "
            "head-training pass).\n")


def memory_section(res: dict) -> str:
    columns = ["what", "peak_mib", "workers_peak_mib", "over_floor_mib", "reference_mib", "over_floor_vs_reference"]
    return (f"Peak resident set (VmHWM) of a fresh process per row; reference: {res['reference']}.\n\n"
            + table(res["rows"], columns))


SECTIONS = {
    "indexing": ("1. Indexing throughput", indexing_section),
    "decode": ("2. Decoding large scans", decode_section),
    "search": ("3. Vector search", search_section),
    "latency": ("4. Query latency", latency_section),
    "training": ("5. Training speed", training_section),
    "memory": ("6. Peak memory", memory_section),
    **SECTIONS_7_TO_14,
}


def goals_section(results: dict[str, dict]) -> str:
    """One line per goal or headline ratio, from whatever results exist."""
    rows = []
    for r in results.get("indexing", {}).get("rows", []):
        what = f"{r['backbone']}, {r.get('data', '256 px')}"
        steady = r.get("steady_vs_compute", r["index_vs_compute"])
        rows.append({"result": f"1. index_folder steady state / compute limit, {what}", "ratio": steady,
                     "goal": ">= 0.9", "verdict": _verdict(steady >= 0.9)})
        rows.append({"result": f"1. index_folder end to end (start-up included) / compute limit, {what}",
                     "ratio": r["index_vs_compute"], "goal": "-", "verdict": "-"})
        steady_naive = r.get("steady_vs_naive", r["index_vs_naive"])
        rows.append({"result": f"1. index_folder steady state / naive loop, {what}", "ratio": steady_naive,
                     "goal": ">= 3", "verdict": _verdict(steady_naive >= 3)})
        rows.append({"result": f"1. index_folder end to end / naive loop, {what}", "ratio": r["index_vs_naive"],
                     "goal": "-", "verdict": "-"})
    if "decode" in results:
        rows.append({"result": "2. draft decode / full decode (4000x3000 JPEG)",
                     "ratio": results["decode"]["speedup_draft_vs_full"], "goal": "-", "verdict": "-"})
    rows += _search_goals(results.get("search"))
    for r in results.get("latency", {}).get("rows", []):
        rows.append({"result": f"4. {r['case']}: p50 / {r['reference']}", "ratio": r["p50_over_reference"],
                     "goal": "-", "verdict": "-"})
    if "training" in results:
        rows.append({"result": "5. frozen epoch / fine-tuning step (images/s)",
                     "ratio": results["training"]["frozen_epoch_vs_finetune_epoch"], "goal": "-", "verdict": "-"})
    for r in results.get("memory", {}).get("rows", []):
        if r.get("over_floor_vs_reference") is not None:
            rows.append({"result": f"6. {r['what']}: memory over floor / reference (one forward's activations; raw vectors)",
                         "ratio": r["over_floor_vs_reference"], "goal": "-", "verdict": "-"})
    rows += goal_rows(results)
    return table(rows, ["result", "ratio", "goal", "verdict"]) if rows else "(no results yet)\n"


def _search_goals(res: dict | None) -> list[dict]:
    if not res:
        return []
    goal, n = res["goal"], res["goal"]["n"]
    rows = [r for r in res["rows"] if r.get("n") == n and "qps_single" in r and r["index"] != "flat"]
    out = []
    for r in rows:
        ok = r["recall_at_10"] >= 0.95 and r["speedup_single"] >= 10
        out.append({"result": f"3. N={n:,} {r['index']}: queries/s vs exact (recall@10 {r['recall_at_10']:.3f})",
                    "ratio": r["speedup_single"], "goal": ">= 10 at recall >= 0.95", "verdict": _verdict(ok)})
    if goal.get("product") and goal["product"].get("projected_build_s"):
        out.append({"result": f"3. N={n:,} product's own IVF build time, projected (s)",
                    "ratio": goal["product"]["projected_build_s"], "goal": "-", "verdict": "not built (over budget)"})
    return out


def render(results: dict[str, dict]) -> str:
    parts = [START, "", "## Results", "", "### Goals and headline ratios", "", goals_section(results)]
    for name in ORDER:
        title, section = SECTIONS[name]
        parts += [f"### {title}", ""]
        parts.append(section(results[name]) if name in results else "(not run yet: `python benchmarks/run.py --only "
                     f"{name}`)\n")
    parts += [machine_section(results), END]
    return "\n".join(parts) + "\n"


def update_markdown(path: Path = REPO / "BENCHMARKS.md", results_dir: Path = RESULTS_DIR) -> Path:
    """Rewrite the generated block of `path` (created with a short header if absent)."""
    generated = render(load_results(results_dir))
    text = path.read_text(encoding="utf-8") if path.is_file() else "# Benchmarks\n\n" + START + "\n" + END + "\n"
    if START in text and END in text:
        head, rest = text.split(START, 1)
        tail = rest.split(END, 1)[1]
        text = head + generated.rstrip("\n") + tail
    else:
        text = text.rstrip("\n") + "\n\n" + generated
    from engine.base.atomic import atomic_write_text

    atomic_write_text(path, text)
    return path
