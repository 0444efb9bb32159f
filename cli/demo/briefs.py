"""One short summary per demo step (plain data; `line` is the sentence the CLI prints)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cli.demo.probes import Probes

_SCORES = (
    ("roc_auc", ("verification", "roc_auc")),
    ("accuracy", ("verification", "accuracy")),
    ("eer", ("verification", "eer")),
    ("triplet_accuracy", ("triplet_accuracy",)),
    ("attribution_top1", ("attribution", "top1")),
    ("precision_at_1", ("retrieval", "precision_at_1")),
)


def prepare_brief(report: dict) -> dict:
    splits = {name: {"artists": s["artists"], "images": s["images"]} for name, s in report.get("splits", {}).items()}
    held = splits.get("test", {})
    return {
        "path": report.get("out"), "images": report["images"], "artists": report["artists"],
        "dropped": report.get("dropped_total", 0), "splits": splits,
        "line": f"{report['images']} images of {report['artists']} artists; "
                f"{held.get('artists', 0)} artists ({held.get('images', 0)} images) held out for testing",
    }


def train_brief(summary: dict) -> dict:
    keys = ("model_path", "backbone", "mode", "epochs", "best_epoch", "val_roc_auc", "val_roc_auc_baseline",
            "threshold", "train_images", "val_images")
    brief = {k: _plain(summary.get(k)) for k in keys}
    brief["line"] = (f"{summary.get('backbone')} ({summary.get('mode')}), best epoch {summary.get('best_epoch')}/"
                     f"{summary.get('epochs')}: val ROC-AUC {_fmt(summary.get('val_roc_auc'))} "
                     f"(ImageNet baseline {_fmt(summary.get('val_roc_auc_baseline'))})")
    return brief


def evaluate_brief(result: dict) -> dict:
    trained = _scores(result)
    baseline = _scores(result["baseline"]) if result.get("baseline") else None
    line = f"held-out artists: ROC-AUC {_fmt(trained['roc_auc'])} trained"
    if baseline:
        line += f" vs {_fmt(baseline['roc_auc'])} ImageNet baseline"
    return {
        "split": result.get("split"), "artists": result.get("artists"), "images": result.get("images"),
        "trained": trained, "baseline": baseline, "report": result.get("report"), "line": line,
    }


def index_brief(result: dict) -> dict:
    brief = {k: result.get(k) for k in ("added", "updated", "removed", "total", "images_per_second")}
    brief["skipped"] = len(result.get("skipped", []))
    brief["line"] = f"{result.get('total')} paintings in the index ({result.get('added')} added)"
    return brief


def query_brief(result: dict, probes: Probes) -> dict:
    first = result["results"][0]
    matches = [{"path": m["path"], "artist": m.get("artist"), "similarity": m["similarity"]} for m in first["matches"]]
    top_artist = first["artists"][0]["artist"] if first.get("artists") else None
    return {
        "query": str(probes.query), "true_artist": probes.query_artist, "top_artist": top_artist,
        "correct": top_artist == probes.query_artist, "matches": matches,
        "line": f"a painting by {probes.query_artist} not in the index -> most likely {top_artist} "
                f"({'right' if top_artist == probes.query_artist else 'wrong'})",
    }


def verify_brief(results: list[dict], probes: Probes) -> dict:
    pairs = []
    for (a, b, truth), r in zip(probes.pairs, results):
        pairs.append({"a": str(a), "b": str(b), "truly_same": truth, **{k: r.get(k) for k in
                      ("similarity", "probability", "same_artist", "threshold")}})
    right = sum(p["same_artist"] == p["truly_same"] for p in pairs)
    return {
        "pairs": pairs,
        "line": "; ".join(
            f"{'same' if p['truly_same'] else 'different'} hands: p(same) {_fmt(p['probability'], 2)} -> "
            f"{'same' if p['same_artist'] else 'different'}" for p in pairs
        ) + f" ({right}/{len(pairs)} right)",
    }


def _scores(block: dict) -> dict:
    out = {}
    for name, path in _SCORES:
        value: Any = block
        for key in path:
            value = value.get(key) if isinstance(value, dict) else None
        out[name] = value
    return out


def _plain(value: Any) -> Any:
    return str(value) if isinstance(value, Path) else value


def _fmt(value: Any, digits: int = 3) -> str:
    return f"{value:.{digits}f}" if isinstance(value, (int, float)) else "n/a"
