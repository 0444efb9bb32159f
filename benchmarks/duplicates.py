"""Duplicate groups (`engine duplicates`, indexer.duplicates): precision and recall on planted copies.

A generated set: distinct paintings (engine.synthetic: `--styles` procedural artists x `--works` each;
with `--real N`, also N paintings of ../shared/artdata) among which copies of some are planted:
JPEG recompression (quality 25-60), resizing (45-80 %), re-cropping (3-12 % a side), a colour
shift (hue/brightness/saturation) and combinations of them. The set is indexed with --model and
grouped from the index at each threshold of a grid. Pair-level rates over all pairs of paintings:
    precision = |pairs grouped together that are copies of one work| / |pairs grouped together|
    recall    = |pairs grouped together that are copies of one work| / |pairs of copies of one work|
The threshold is fitted (largest F1, ties: the highest cosine) on a first generated set (seed s) and
measured on a second, independent one (seed s + 1), so the stated rates are not those it was fit on.

    python benchmarks/duplicates.py --model /tmp/h25/models/current [--real 150] [--results DIR]
"""

from __future__ import annotations

import argparse
import io
import itertools
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image, ImageEnhance

from benchmarks.common import ARTDATA, RESULTS_DIR, save_result
from engine.synthetic.paint import paint
from engine.synthetic.style import sample_style

THRESHOLDS = tuple(np.round(np.arange(0.70, 0.995, 0.01), 3))
COPY_KINDS = ("jpeg", "resize", "crop", "colour", "jpeg+resize", "crop+colour", "resize+crop+jpeg")


def copy_of(image: Image.Image, kind: str, rng: np.random.Generator) -> Image.Image:
    """One planted copy of `image`: each step of `kind` ("+"-joined) applied in turn."""
    out = image.convert("RGB")
    for step in kind.split("+"):
        if step == "jpeg":
            buffer = io.BytesIO()
            out.save(buffer, format="JPEG", quality=int(rng.integers(25, 61)))
            out = Image.open(io.BytesIO(buffer.getvalue())).convert("RGB")
        elif step == "resize":
            scale = rng.uniform(0.45, 0.80)
            out = out.resize((max(16, round(out.width * scale)), max(16, round(out.height * scale))), Image.BICUBIC)
        elif step == "crop":
            w, h = out.size
            l, t, r, b = (rng.uniform(0.03, 0.12, 4) * [w, h, w, h]).round().astype(int)
            out = out.crop((l, t, w - r, h - b))
        elif step == "colour":
            hsv = np.asarray(out.convert("HSV")).astype(np.int16)
            hsv[..., 0] = (hsv[..., 0] + int(rng.integers(-12, 13))) % 256
            out = Image.fromarray(hsv.astype(np.uint8), "HSV").convert("RGB")
            out = ImageEnhance.Brightness(out).enhance(rng.uniform(0.85, 1.15))
            out = ImageEnhance.Color(out).enhance(rng.uniform(0.8, 1.2))
        else:
            raise ValueError(f"unknown copy step {step!r}")
    return out


def generated_set(folder: Path, *, seed: int, styles: int = 12, works: int = 8, copied: int = 24, real: int = 0,
                  size: int = 256) -> list[list[str]]:
    """Write the paintings under `folder`; returns the true groups (original + its copies, resolved paths)."""
    rng = np.random.default_rng(seed)
    originals: list[tuple[Path, Image.Image]] = []
    for s in range(styles):
        style = sample_style(s, seed=seed)
        for w in range(works):
            path = folder / f"synthetic-{s:02d}-{w:02d}.jpg"
            image = paint(style, np.random.default_rng([seed, s, w]), size)
            image.save(path, quality=92)
            originals.append((path, image))
    if real:
        files = sorted((ARTDATA / "train").glob("*.jpg"))
        for n in rng.choice(len(files), size=min(real, len(files)), replace=False):
            image = Image.open(files[n]).convert("RGB")
            image.thumbnail((512, 512))
            path = folder / f"real-{files[n].stem}.jpg"
            image.save(path, quality=92)
            originals.append((path, image))
    groups = []
    for n in rng.choice(len(originals), size=min(copied, len(originals)), replace=False):
        path, image = originals[n]
        group = [str(path.resolve())]
        for c in range(int(rng.integers(1, 4))):
            kind = COPY_KINDS[int(rng.integers(len(COPY_KINDS)))]
            copy = folder / f"{path.stem}-copy{c}-{kind.replace('+', '_')}.jpg"
            copy_of(image, kind, rng).save(copy, quality=90)
            group.append(str(copy.resolve()))
        groups.append(group)
    return groups


def pair_rates(predicted: list[list[str]], truth: list[list[str]]) -> dict:
    """Pair-level precision, recall and F1 of predicted groups against the true groups (module docstring)."""
    def pairs(groups):
        return {tuple(sorted(p)) for g in groups for p in itertools.combinations(g, 2)}

    got, want = pairs(predicted), pairs(truth)
    hit = len(got & want)
    precision = hit / len(got) if got else 1.0
    recall = hit / len(want) if want else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    exact = sum(1 for g in truth if sorted(g) in [sorted(p) for p in predicted])
    return {"precision": precision, "recall": recall, "f1": f1, "predicted_pairs": len(got), "true_pairs": len(want),
            "groups_found_exactly": exact, "true_groups": len(truth)}


def grouped_paths(home: Path, threshold: float) -> list[list[str]]:
    from indexer.duplicates import DuplicateConfig, find_duplicates

    result = find_duplicates(home=home, config=DuplicateConfig(threshold=float(threshold)))
    return [[p["path"] for p in g["paintings"]] for g in result["groups"]]


def indexed_set(root: Path, *, model: str, seed: int, **kwargs) -> tuple[Path, list[list[str]]]:
    """Generate, then index a set under `root`; (home, true groups)."""
    from indexer.pipeline import index_folder

    folder, home = root / f"set-{seed}", root / f"home-{seed}"
    folder.mkdir(parents=True)
    truth = generated_set(folder, seed=seed, **kwargs)
    index_folder(folder, home=home, model=model)
    return home, truth


def fit_threshold(home: Path, truth: list[list[str]], thresholds=THRESHOLDS) -> tuple[float, list[dict]]:
    """(the threshold of largest F1, ties to the highest; the rates at every threshold)."""
    rows = [{"threshold": float(t), **pair_rates(grouped_paths(home, t), truth)} for t in thresholds]
    best = max(rows, key=lambda r: (round(r["f1"], 9), r["threshold"]))
    return best["threshold"], rows


def run(model: str, *, seed: int = 0, real: int = 0, styles: int = 12, works: int = 8, copied: int = 24) -> dict:
    from indexer.duplicates import DUPLICATE_COSINE

    with tempfile.TemporaryDirectory() as tmp:
        kwargs = dict(styles=styles, works=works, copied=copied, real=real)
        fit_home, fit_truth = indexed_set(Path(tmp), model=model, seed=seed, **kwargs)
        fitted, grid = fit_threshold(fit_home, fit_truth)
        test_home, test_truth = indexed_set(Path(tmp), model=model, seed=seed + 1, **kwargs)
        held_out = {str(t): pair_rates(grouped_paths(test_home, t), test_truth) for t in sorted({fitted, DUPLICATE_COSINE})}
    return {"model": str(model), "set": {**kwargs, "seed": seed, "copy_kinds": list(COPY_KINDS)},
            "fitted_threshold": fitted, "default_threshold": DUPLICATE_COSINE, "fit_grid": grid, "held_out": held_out}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True, help="model.pt (or its folder) that embeds the sets")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--real", type=int, default=0, help="also N real artdata paintings among the originals")
    parser.add_argument("--results", type=Path, default=RESULTS_DIR, help="folder for duplicates.json")
    args = parser.parse_args(argv)
    result = run(args.model, seed=args.seed, real=args.real)
    for name, rates in result["held_out"].items():
        print(f"threshold {name}: precision {rates['precision']:.3f} recall {rates['recall']:.3f} "
              f"({rates['groups_found_exactly']}/{rates['true_groups']} groups exactly) on the held-out set")
    print(f"fitted threshold (largest F1 on the fit set): {result['fitted_threshold']}")
    print(f"saved {save_result('duplicates', result, results_dir=args.results)}")


if __name__ == "__main__":
    main()
